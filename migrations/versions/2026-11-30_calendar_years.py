"""calendar years: which official schedules a jurisdiction has loaded, and official versus hand-made overrides

A loaded year's holidays and make-up working days are calendar_overrides rows with source 'official', replaced
when the year is loaded again; the jurisdiction's own edits are 'local' and survive. Existing overrides were all
made by hand, so they become 'local'.

Revision ID: calendar_years
Revises: supervision_funds
Create Date: 2026-11-30 13:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "calendar_years"
down_revision: str | None = "supervision_funds"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "calendar_years",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("jurisdiction_id", sa.BigInteger(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=True),
        sa.Column("loaded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("loaded_by", sa.String(length=64), nullable=True),
        sa.CheckConstraint("year BETWEEN 1970 AND 2200", name=op.f("ck_calendar_years_year")),
        sa.ForeignKeyConstraint(
            ["jurisdiction_id"],
            ["jurisdictions.id"],
            name=op.f("fk_calendar_years_jurisdiction_id_jurisdictions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_years")),
        sa.UniqueConstraint("jurisdiction_id", "year", name=op.f("uq_calendar_years_jurisdiction_id_year")),
    )
    op.create_index(
        op.f("ix_calendar_years_jurisdiction_id"), "calendar_years", ["jurisdiction_id"], unique=False
    )
    op.add_column(
        "calendar_overrides",
        sa.Column("source", sa.String(length=16), server_default="local", nullable=False),
    )
    op.create_check_constraint(
        op.f("ck_calendar_overrides_source"), "calendar_overrides", "source IN ('official', 'local')"
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_calendar_overrides_source"), "calendar_overrides", type_="check")
    op.drop_column("calendar_overrides", "source")
    op.drop_index(op.f("ix_calendar_years_jurisdiction_id"), table_name="calendar_years")
    op.drop_table("calendar_years")
