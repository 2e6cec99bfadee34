"""supervision levels: the escalation ladder (催办, 督办, 重点督办) on each case, and its history

cases.supervision_level and cases.lead_supervisor hold the level in force; supervision_changes keeps every
change with its source (auto: an overdue deadline; manual: a supervisor). Decline windows are settled from
now on when the department accepts (or declines), so the ones already accepted are settled here too: without
that, the first alarm scan would call every accepted unit's long-past decline window overdue.

Revision ID: supervision_levels
Revises: supervision_alarms
Create Date: 2026-11-30 13:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "supervision_levels"
down_revision: str | None = "supervision_alarms"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LEVELS = "('reminder', 'formal', 'key')"

SETTLE_DECLINE_WINDOWS = """
UPDATE deadlines d SET met_at = a.accepted_at
FROM assignments a
WHERE a.id = d.assignment_id AND d.kind = 'decline' AND a.accepted_at IS NOT NULL
  AND d.met_at IS NULL AND d.superseded_at IS NULL
"""


def upgrade() -> None:
    op.add_column("cases", sa.Column("supervision_level", sa.String(length=16), nullable=True))
    op.add_column("cases", sa.Column("lead_supervisor", sa.String(length=50), nullable=True))
    op.create_check_constraint(op.f("ck_cases_supervision_level"), "cases", f"supervision_level IN {LEVELS}")
    op.create_index(
        "ix_cases_supervised",
        "cases",
        ["jurisdiction_id", "supervision_level", "id"],
        unique=False,
        postgresql_where="supervision_level IS NOT NULL",
    )
    op.create_table(
        "supervision_changes",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("jurisdiction_id", sa.BigInteger(), nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("previous_level", sa.String(length=16), nullable=True),
        sa.Column("lead_supervisor", sa.String(length=50), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("actor_type", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(f"level IN {LEVELS}", name=op.f("ck_supervision_changes_level")),
        sa.CheckConstraint(f"previous_level IN {LEVELS}", name=op.f("ck_supervision_changes_previous_level")),
        sa.CheckConstraint("source IN ('auto', 'manual')", name=op.f("ck_supervision_changes_source")),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_supervision_changes_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["jurisdiction_id"],
            ["jurisdictions.id"],
            name=op.f("fk_supervision_changes_jurisdiction_id_jurisdictions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supervision_changes")),
    )
    op.create_index("ix_supervision_changes_case", "supervision_changes", ["case_id", "id"], unique=False)
    op.create_index(
        op.f("ix_supervision_changes_jurisdiction_id"),
        "supervision_changes",
        ["jurisdiction_id"],
        unique=False,
    )
    op.execute(SETTLE_DECLINE_WINDOWS)


def downgrade() -> None:
    # Settled decline windows stay settled: they were over once the unit accepted.
    op.drop_index(op.f("ix_supervision_changes_jurisdiction_id"), table_name="supervision_changes")
    op.drop_index("ix_supervision_changes_case", table_name="supervision_changes")
    op.drop_table("supervision_changes")
    op.drop_index("ix_cases_supervised", table_name="cases", postgresql_where="supervision_level IS NOT NULL")
    op.drop_constraint(op.f("ck_cases_supervision_level"), "cases", type_="check")
    op.drop_column("cases", "lead_supervisor")
    op.drop_column("cases", "supervision_level")
