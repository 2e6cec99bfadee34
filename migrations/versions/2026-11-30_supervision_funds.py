"""supervision funds: difficult cases for the coordination meeting and the rapid-handling fund

difficult_cases holds the cases put before the monthly coordination meeting (疑难问题协调处办会) and the
meeting's decision; funds, fund_allocations and fund_spendings hold the rapid-handling fund (快速处置经费) in
integer fen. CHECK constraints keep allocations within the budget and spendings within their allocation even
if a writer forgot its guarded UPDATE.

Revision ID: supervision_funds
Revises: supervision_follow_ups
Create Date: 2026-11-30 13:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "supervision_funds"
down_revision: str | None = "supervision_follow_ups"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _fk(column: str, table: str, source: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{table}.id"], name=op.f(f"fk_{source}_{column}_{table}"))


def upgrade() -> None:
    op.create_table(
        "difficult_cases",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("jurisdiction_id", sa.BigInteger(), nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("meeting_date", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("marked_by_key_id", sa.BigInteger(), nullable=True),
        sa.Column("marked_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("lead_department_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "co_department_ids",
            postgresql.ARRAY(sa.BigInteger()),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by_key_id", sa.BigInteger(), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'decided', 'withdrawn')", name=op.f("ck_difficult_cases_status")
        ),
        sa.CheckConstraint(
            "status <> 'decided' OR (lead_department_id IS NOT NULL AND due_at IS NOT NULL"
            " AND decided_at IS NOT NULL)",
            name=op.f("ck_difficult_cases_decision_complete"),
        ),
        _fk("case_id", "cases", "difficult_cases"),
        _fk("decided_by_key_id", "api_keys", "difficult_cases"),
        _fk("jurisdiction_id", "jurisdictions", "difficult_cases"),
        _fk("lead_department_id", "departments", "difficult_cases"),
        _fk("marked_by_key_id", "api_keys", "difficult_cases"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_difficult_cases")),
    )
    op.create_index(op.f("ix_difficult_cases_case_id"), "difficult_cases", ["case_id"], unique=False)
    op.create_index(
        op.f("ix_difficult_cases_jurisdiction_id"), "difficult_cases", ["jurisdiction_id"], unique=False
    )
    op.create_index(
        "ix_difficult_cases_meeting",
        "difficult_cases",
        ["jurisdiction_id", "meeting_date", "id"],
        unique=False,
    )
    op.create_index(
        "uq_difficult_cases_open_case",
        "difficult_cases",
        ["case_id"],
        unique=True,
        postgresql_where="status = 'pending'",
    )

    op.create_table(
        "funds",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("jurisdiction_id", sa.BigInteger(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("budget_fen", sa.BigInteger(), nullable=False),
        sa.Column("allocated_fen", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("created_by_key_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("budget_fen > 0", name=op.f("ck_funds_budget_positive")),
        sa.CheckConstraint(
            "allocated_fen >= 0 AND allocated_fen <= budget_fen", name=op.f("ck_funds_within_budget")
        ),
        sa.CheckConstraint("year BETWEEN 2000 AND 2200", name=op.f("ck_funds_year")),
        _fk("created_by_key_id", "api_keys", "funds"),
        _fk("jurisdiction_id", "jurisdictions", "funds"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_funds")),
        sa.UniqueConstraint(
            "jurisdiction_id", "year", "name", name=op.f("uq_funds_jurisdiction_id_year_name")
        ),
    )
    op.create_index(op.f("ix_funds_jurisdiction_id"), "funds", ["jurisdiction_id"], unique=False)

    op.create_table(
        "fund_allocations",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("jurisdiction_id", sa.BigInteger(), nullable=False),
        sa.Column("fund_id", sa.BigInteger(), nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("approver", sa.String(length=50), nullable=False),
        sa.Column("spent_fen", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("created_by_key_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("amount_fen > 0", name=op.f("ck_fund_allocations_amount_positive")),
        sa.CheckConstraint(
            "spent_fen >= 0 AND spent_fen <= amount_fen", name=op.f("ck_fund_allocations_within_amount")
        ),
        _fk("case_id", "cases", "fund_allocations"),
        _fk("created_by_key_id", "api_keys", "fund_allocations"),
        _fk("fund_id", "funds", "fund_allocations"),
        _fk("jurisdiction_id", "jurisdictions", "fund_allocations"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fund_allocations")),
    )
    op.create_index(op.f("ix_fund_allocations_case_id"), "fund_allocations", ["case_id"], unique=False)
    op.create_index(op.f("ix_fund_allocations_fund_id"), "fund_allocations", ["fund_id"], unique=False)
    op.create_index(
        op.f("ix_fund_allocations_jurisdiction_id"), "fund_allocations", ["jurisdiction_id"], unique=False
    )

    op.create_table(
        "fund_spendings",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("jurisdiction_id", sa.BigInteger(), nullable=False),
        sa.Column("allocation_id", sa.BigInteger(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("spent_on", sa.Date(), nullable=False),
        sa.Column("receipt_no", sa.String(length=64), nullable=True),
        sa.Column("created_by_key_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("amount_fen > 0", name=op.f("ck_fund_spendings_amount_positive")),
        _fk("allocation_id", "fund_allocations", "fund_spendings"),
        _fk("created_by_key_id", "api_keys", "fund_spendings"),
        _fk("jurisdiction_id", "jurisdictions", "fund_spendings"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fund_spendings")),
    )
    op.create_index(
        op.f("ix_fund_spendings_allocation_id"), "fund_spendings", ["allocation_id"], unique=False
    )
    op.create_index(
        op.f("ix_fund_spendings_jurisdiction_id"), "fund_spendings", ["jurisdiction_id"], unique=False
    )


def downgrade() -> None:
    op.drop_table("fund_spendings")
    op.drop_table("fund_allocations")
    op.drop_table("funds")
    op.drop_table("difficult_cases")
