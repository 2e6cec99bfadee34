"""Difficult cases for the monthly coordination meeting (疑难问题协调处办会) and the rapid-handling fund
(快速处置经费): budgets, allocations to cases and what was spent. Owner: services.supervision.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.enums import check_in
from shared.db.models.base import Base, created_at, jurisdiction_fk, pk


class DifficultCaseStatus(StrEnum):
    # Waiting for the meeting; decided by it; or taken off the agenda before it decided.
    pending = "pending"
    decided = "decided"
    withdrawn = "withdrawn"


class DifficultCase(Base):
    """A case put before the coordination meeting with a reason, and what the meeting decided about it."""

    __tablename__ = "difficult_cases"
    __table_args__ = (
        CheckConstraint(check_in("status", DifficultCaseStatus), name="status"),
        CheckConstraint(
            "status <> 'decided' OR (lead_department_id IS NOT NULL AND due_at IS NOT NULL"
            " AND decided_at IS NOT NULL)",
            name="decision_complete",
        ),
        # One open mark per case: marking it again waits until the meeting decided or the mark was withdrawn.
        Index("uq_difficult_cases_open_case", "case_id", unique=True, postgresql_where="status = 'pending'"),
        # The meeting's agenda: a jurisdiction's marks by meeting date.
        Index("ix_difficult_cases_meeting", "jurisdiction_id", "meeting_date", "id"),
    )

    id: Mapped[int] = pk()
    jurisdiction_id: Mapped[int] = jurisdiction_fk()
    case_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("cases.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    # Null: not yet put on a meeting's agenda.
    meeting_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(
        String(16), default=DifficultCaseStatus.pending, server_default=DifficultCaseStatus.pending.value
    )
    marked_by_key_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("api_keys.id"))
    marked_at: Mapped[datetime] = created_at()
    # The meeting's decision: who leads from now on, who helps, and the reply deadline it set.
    lead_department_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("departments.id"))
    co_department_ids: Mapped[list[int]] = mapped_column(
        ARRAY(BigInteger), default=list, server_default=text("'{}'")
    )
    due_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None]
    decided_by_key_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("api_keys.id"))
    withdrawn_at: Mapped[datetime | None]


class Fund(Base):
    """A rapid-handling budget of one jurisdiction and year. ``allocated_fen`` is what allocations took from
    it; every change is one guarded UPDATE, and the CHECK keeps it within the budget even if one is not."""

    __tablename__ = "funds"
    __table_args__ = (
        UniqueConstraint("jurisdiction_id", "year", "name"),
        CheckConstraint("budget_fen > 0", name="budget_positive"),
        CheckConstraint("allocated_fen >= 0 AND allocated_fen <= budget_fen", name="within_budget"),
        CheckConstraint("year BETWEEN 2000 AND 2200", name="year"),
    )

    id: Mapped[int] = pk()
    jurisdiction_id: Mapped[int] = jurisdiction_fk()
    year: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    # Amounts are integers in fen (分): no rounding anywhere.
    budget_fen: Mapped[int] = mapped_column(BigInteger)
    allocated_fen: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    created_by_key_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("api_keys.id"))
    created_at: Mapped[datetime] = created_at()


class FundAllocation(Base):
    """Money of a fund set aside for one case (amount, purpose, approver); spendings draw on it."""

    __tablename__ = "fund_allocations"
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint("spent_fen >= 0 AND spent_fen <= amount_fen", name="within_amount"),
    )

    id: Mapped[int] = pk()
    jurisdiction_id: Mapped[int] = jurisdiction_fk()
    fund_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("funds.id"), index=True)
    case_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("cases.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    purpose: Mapped[str] = mapped_column(Text)
    approver: Mapped[str] = mapped_column(String(50))
    spent_fen: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    created_by_key_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("api_keys.id"))
    created_at: Mapped[datetime] = created_at()


class FundSpending(Base):
    """One payment out of an allocation, with its receipt."""

    __tablename__ = "fund_spendings"
    __table_args__ = (CheckConstraint("amount_fen > 0", name="amount_positive"),)

    id: Mapped[int] = pk()
    jurisdiction_id: Mapped[int] = jurisdiction_fk()
    allocation_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("fund_allocations.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    note: Mapped[str] = mapped_column(Text)
    spent_on: Mapped[date] = mapped_column(Date)
    receipt_no: Mapped[str | None] = mapped_column(String(64))
    created_by_key_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("api_keys.id"))
    created_at: Mapped[datetime] = created_at()
