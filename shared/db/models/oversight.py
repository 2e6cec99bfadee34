"""The history of a case's supervision level (催办, 督办, 重点督办). Owner: services.supervision.

The level in force lives on the case (cases.supervision_level, cases.lead_supervisor) so lists and the
departments' views read it without a join; every change is also kept here, with who made it and why.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.enums import SupervisionLevel, SupervisionSource, check_in
from shared.db.models.base import Base, created_at, jurisdiction_fk, pk


class SupervisionChange(Base):
    """One step of a case on the escalation ladder: the level it went to, from which, and on whose word."""

    __tablename__ = "supervision_changes"
    __table_args__ = (
        CheckConstraint(check_in("level", SupervisionLevel), name="level"),
        CheckConstraint(check_in("previous_level", SupervisionLevel), name="previous_level"),
        CheckConstraint(check_in("source", SupervisionSource), name="source"),
        # A case's history, oldest first; its last row also tells since when the level holds.
        Index("ix_supervision_changes_case", "case_id", "id"),
    )

    id: Mapped[int] = pk()
    jurisdiction_id: Mapped[int] = jurisdiction_fk()
    case_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("cases.id"))
    level: Mapped[str] = mapped_column(String(16))
    previous_level: Mapped[str | None] = mapped_column(String(16))
    lead_supervisor: Mapped[str | None] = mapped_column(String(50))
    note: Mapped[str | None] = mapped_column(Text)
    # auto: the alarm scan escalated an overdue deadline; manual: a supervisor (or a key-item decision).
    source: Mapped[str] = mapped_column(String(8))
    actor_type: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = created_at()
