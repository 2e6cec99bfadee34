"""Duty points (履职积分): per-jurisdiction rules and the append-only ledger of each deputy's points, the
base of the deputy's file (一人一档). Owner: services.supervision."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.enums import DutyAction, check_in
from shared.db.models.base import Base, created_at, jurisdiction_fk, pk


class DutyPointRule(Base):
    """The points one action earns in a jurisdiction; an action without a row earns the default."""

    __tablename__ = "duty_point_rules"
    __table_args__ = (
        CheckConstraint(check_in("action", DutyAction), name="action"),
        CheckConstraint("points BETWEEN 0 AND 100", name="points"),
    )

    jurisdiction_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("jurisdictions.id"), primary_key=True, autoincrement=False
    )
    action: Mapped[str] = mapped_column(String(32), primary_key=True)
    points: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = created_at()


class DutyPointEntry(Base):
    """One line of a deputy's ledger, never edited: written once per (deputy, action, source) so a replayed
    event counts once; an admin's correction is a new line of action ``adjustment`` with its reason."""

    __tablename__ = "duty_point_entries"
    __table_args__ = (
        CheckConstraint(check_in("action", DutyAction), name="action"),
        Index("uq_duty_point_entries_source", "deputy_id", "action", "source", unique=True),
        Index("ix_duty_point_entries_jurisdiction_occurred", "jurisdiction_id", "occurred_at"),
        Index("ix_duty_point_entries_deputy_occurred", "deputy_id", "occurred_at"),
    )

    id: Mapped[int] = pk()
    jurisdiction_id: Mapped[int] = jurisdiction_fk()
    deputy_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("deputies.id"))
    action: Mapped[str] = mapped_column(String(32))
    points: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    # What earned it: "case:<id>", "reception:<id>", "feedback:<id>", "follow_up:<id>" or "adjustment:<uuid>".
    source: Mapped[str] = mapped_column(String(80))
    case_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("cases.id"))
    reception_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("receptions.id"))
    occurred_at: Mapped[datetime]
    created_by_type: Mapped[str] = mapped_column(String(16))
    created_by_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = created_at()
