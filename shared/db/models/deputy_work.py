"""What deputies do beyond their codes: joint suggestions (联名), citizen cases linked to suggestions, the
consultations departments hold with them, and the notices on their desk.

Owners: services.intake writes co-signers and suggestion links, services.routing consultations, and
services.supervision the notices (from the events of replies).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.enums import ConsultationMode, DeputyNoticeKind, SuggestionSourceKind, check_in
from shared.db.models.base import Base, created_at, jurisdiction_fk, pk


class CaseCosigner(Base):
    """A deputy who co-signed (联名) a suggestion: they see it on their desk and are told of its replies."""

    __tablename__ = "case_cosigners"

    case_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    deputy_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("deputies.id"), primary_key=True, index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = created_at()


class SuggestionSource(Base):
    """A citizen's case a deputy suggestion carries: the one it adopted, or the cases of a hot spot
    ("N 位群众反映"). The citizen's tracking page shows the suggestion and its reply."""

    __tablename__ = "suggestion_sources"
    __table_args__ = (
        CheckConstraint(check_in("kind", SuggestionSourceKind), name="kind"),
        # A citizen's case is adopted once.
        Index(
            "uq_suggestion_sources_adopted",
            "case_id",
            unique=True,
            postgresql_where="kind = 'adopted'",
        ),
    )

    suggestion_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("cases.id"), primary_key=True)
    case_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("cases.id"), primary_key=True, index=True)
    kind: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = created_at()


class Consultation(Base):
    """How the lead department consulted the deputy about a suggestion before replying (面商/电话/书面)."""

    __tablename__ = "consultations"
    __table_args__ = (CheckConstraint(check_in("mode", ConsultationMode), name="mode"),)

    id: Mapped[int] = pk()
    jurisdiction_id: Mapped[int] = jurisdiction_fk()
    case_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("cases.id"), index=True)
    assignment_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("assignments.id"), index=True)
    department_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("departments.id"))
    # The deputy consulted: the suggestion's author unless a co-signer was met instead.
    deputy_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("deputies.id"))
    held_on: Mapped[date] = mapped_column(Date)
    mode: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at()


class DeputyNotice(Base):
    """A line on a deputy's desk: a suggestion they wrote or co-signed was replied (once per reply round)."""

    __tablename__ = "deputy_notices"
    __table_args__ = (
        CheckConstraint(check_in("kind", DeputyNoticeKind), name="kind"),
        Index("uq_deputy_notices_once", "deputy_id", "case_id", "kind", "round", unique=True),
        Index("ix_deputy_notices_deputy_id", "deputy_id", "id"),
    )

    id: Mapped[int] = pk()
    jurisdiction_id: Mapped[int] = jurisdiction_fk()
    deputy_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("deputies.id"))
    case_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("cases.id"))
    kind: Mapped[str] = mapped_column(String(16))
    round: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = created_at()
    read_at: Mapped[datetime | None]
