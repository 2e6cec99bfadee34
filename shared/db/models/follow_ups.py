"""Follow-ups (回头看): a revisit some weeks after a case closed, asking whether it is still solved.
Owner: services.supervision.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.enums import FollowUpReason, FollowUpStatus, check_in
from shared.db.models.base import Base, created_at, jurisdiction_fk, pk


class FollowUp(Base):
    """One revisit of one closing of a case: ``round`` is the case's rework round when it closed, so a case
    reopened and closed again may be revisited again, and a redelivered case.closed makes no second row."""

    __tablename__ = "follow_ups"
    __table_args__ = (
        CheckConstraint(check_in("status", FollowUpStatus), name="status"),
        CheckConstraint(check_in("reason", FollowUpReason), name="reason"),
        Index("uq_follow_ups_case_round", "case_id", "round", unique=True),
        # The staff's list: a jurisdiction's follow-ups of one status, in the order they were created.
        Index("ix_follow_ups_jurisdiction_status_id", "jurisdiction_id", "status", "id"),
    )

    id: Mapped[int] = pk()
    jurisdiction_id: Mapped[int] = jurisdiction_fk()
    case_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("cases.id"))
    round: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(16))
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default=FollowUpStatus.pending)
    still_solved: Mapped[bool | None] = mapped_column(Boolean)
    note: Mapped[str | None] = mapped_column(Text)
    # Who went to look (a staff member's or deputy's name as written on the visit record).
    visited_by: Mapped[str | None] = mapped_column(String(100))
    # Who recorded the result: the actor of the follow_up_recorded event.
    recorded_by_type: Mapped[str | None] = mapped_column(String(16))
    recorded_by_id: Mapped[int | None] = mapped_column(BigInteger)
    # Set when a deputy recorded it, for the deputy's duty points.
    deputy_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("deputies.id"), index=True)
    done_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at()
