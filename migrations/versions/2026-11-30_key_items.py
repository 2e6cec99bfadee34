"""key items: the cases chosen each year for key supervision (重点督办) and their three checks (一年三督)

Revision ID: key_items
Revises: calendar_years
Create Date: 2026-11-30 13:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "key_items"
down_revision: str | None = "calendar_years"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "key_items",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("jurisdiction_id", sa.BigInteger(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=False),
        sa.Column("lead_supervisor", sa.String(length=50), nullable=False),
        sa.Column("goal", sa.Text(), nullable=False),
        sa.Column("committee_id", sa.BigInteger(), nullable=True),
        sa.Column("created_by_key_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("year BETWEEN 2000 AND 2200", name=op.f("ck_key_items_year")),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_key_items_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["committee_id"], ["committees.id"], name=op.f("fk_key_items_committee_id_committees")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_key_id"], ["api_keys.id"], name=op.f("fk_key_items_created_by_key_id_api_keys")
        ),
        sa.ForeignKeyConstraint(
            ["jurisdiction_id"], ["jurisdictions.id"], name=op.f("fk_key_items_jurisdiction_id_jurisdictions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_key_items")),
        sa.UniqueConstraint("case_id", "year", name=op.f("uq_key_items_case_id_year")),
    )
    op.create_index(
        "ix_key_items_jurisdiction_year", "key_items", ["jurisdiction_id", "year", "id"], unique=False
    )
    op.create_table(
        "key_item_checks",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("jurisdiction_id", sa.BigInteger(), nullable=False),
        sa.Column("key_item_id", sa.BigInteger(), nullable=False),
        sa.Column("stage", sa.String(length=8), nullable=False),
        sa.Column("checked_on", sa.Date(), nullable=False),
        sa.Column("findings", sa.Text(), nullable=False),
        sa.Column("rating", sa.String(length=16), nullable=True),
        sa.Column("recorded_by_key_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "rating IN ('good', 'fair', 'average', 'poor')", name=op.f("ck_key_item_checks_rating")
        ),
        sa.CheckConstraint(
            "stage = 'start' OR rating IS NOT NULL", name=op.f("ck_key_item_checks_rating_required")
        ),
        sa.CheckConstraint("stage IN ('start', 'mid', 'end')", name=op.f("ck_key_item_checks_stage")),
        sa.ForeignKeyConstraint(
            ["jurisdiction_id"],
            ["jurisdictions.id"],
            name=op.f("fk_key_item_checks_jurisdiction_id_jurisdictions"),
        ),
        sa.ForeignKeyConstraint(
            ["key_item_id"],
            ["key_items.id"],
            name=op.f("fk_key_item_checks_key_item_id_key_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_key_id"],
            ["api_keys.id"],
            name=op.f("fk_key_item_checks_recorded_by_key_id_api_keys"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_key_item_checks")),
        sa.UniqueConstraint("key_item_id", "stage", name=op.f("uq_key_item_checks_key_item_id_stage")),
    )
    op.create_index(
        op.f("ix_key_item_checks_jurisdiction_id"), "key_item_checks", ["jurisdiction_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_key_item_checks_jurisdiction_id"), table_name="key_item_checks")
    op.drop_table("key_item_checks")
    op.drop_index("ix_key_items_jurisdiction_year", table_name="key_items")
    op.drop_table("key_items")
