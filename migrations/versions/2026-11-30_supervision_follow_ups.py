"""supervision follow-ups (回头看) and extension decisions

- follow_ups: one revisit per closing of a case (case, round), with its result; categories.follow_up flags
  the categories whose cases get one.
- deadlines: the unique key (case, assignment, kind, round) holds only for the deadline in force
  (superseded_at IS NULL). An approved extension supersedes the reply deadline it moves and inserts the new
  one with the same key, so the original stays for the on-time figures.

Revision ID: supervision_follow_ups
Revises: supervision_levels
Create Date: 2026-11-30 13:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "supervision_follow_ups"
down_revision: str | None = "supervision_levels"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEADLINE_KEY = ["case_id", "assignment_id", "kind", "round"]

# The old key cannot hold superseded history: keep, of each key, the row in force (or the latest one).
DROP_SUPERSEDED_DUPLICATES = """
DELETE FROM deadlines d
 WHERE d.superseded_at IS NOT NULL
   AND EXISTS (
       SELECT 1 FROM deadlines o
        WHERE o.case_id = d.case_id
          AND o.assignment_id IS NOT DISTINCT FROM d.assignment_id
          AND o.kind = d.kind
          AND o.round = d.round
          AND o.id <> d.id
          AND (o.superseded_at IS NULL OR o.id > d.id))
"""


def upgrade() -> None:
    op.drop_constraint("uq_deadlines_case_id_assignment_id_kind_round", "deadlines", type_="unique")
    op.create_index(
        "uq_deadlines_in_force",
        "deadlines",
        DEADLINE_KEY,
        unique=True,
        postgresql_where="superseded_at IS NULL",
        postgresql_nulls_not_distinct=True,
    )
    op.add_column("categories", sa.Column("follow_up", sa.Boolean(), server_default="false", nullable=False))
    op.create_table(
        "follow_ups",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("jurisdiction_id", sa.BigInteger(), nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("still_solved", sa.Boolean(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("visited_by", sa.String(length=100), nullable=True),
        sa.Column("recorded_by_type", sa.String(length=16), nullable=True),
        sa.Column("recorded_by_id", sa.BigInteger(), nullable=True),
        sa.Column("deputy_id", sa.BigInteger(), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("reason IN ('category', 'key')", name=op.f("ck_follow_ups_reason")),
        sa.CheckConstraint("status IN ('pending', 'done', 'cancelled')", name=op.f("ck_follow_ups_status")),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_follow_ups_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["deputy_id"], ["deputies.id"], name=op.f("fk_follow_ups_deputy_id_deputies")
        ),
        sa.ForeignKeyConstraint(
            ["jurisdiction_id"],
            ["jurisdictions.id"],
            name=op.f("fk_follow_ups_jurisdiction_id_jurisdictions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_ups")),
    )
    op.create_index("uq_follow_ups_case_round", "follow_ups", ["case_id", "round"], unique=True)
    op.create_index("ix_follow_ups_jurisdiction_status_id", "follow_ups", ["jurisdiction_id", "status", "id"])
    op.create_index(op.f("ix_follow_ups_deputy_id"), "follow_ups", ["deputy_id"])
    op.create_index(op.f("ix_follow_ups_jurisdiction_id"), "follow_ups", ["jurisdiction_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_follow_ups_jurisdiction_id"), table_name="follow_ups")
    op.drop_index(op.f("ix_follow_ups_deputy_id"), table_name="follow_ups")
    op.drop_index("ix_follow_ups_jurisdiction_status_id", table_name="follow_ups")
    op.drop_index("uq_follow_ups_case_round", table_name="follow_ups")
    op.drop_table("follow_ups")
    op.drop_column("categories", "follow_up")
    op.execute(DROP_SUPERSEDED_DUPLICATES)
    op.drop_index("uq_deadlines_in_force", table_name="deadlines")
    op.create_unique_constraint(
        "uq_deadlines_case_id_assignment_id_kind_round",
        "deadlines",
        DEADLINE_KEY,
        postgresql_nulls_not_distinct=True,
    )
