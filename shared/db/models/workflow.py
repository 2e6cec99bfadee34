"""Cases, their append-only event log and satisfaction feedback. Owner: services.workflow.

Intake creates cases and routing/supervision change them, but every write goes through services.workflow,
which checks the transition and writes the case_event and outbox rows in the same transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.enums import (
    CaseKind,
    CaseStatus,
    CategorySource,
    FeedbackSource,
    QueueReason,
    Rating,
    RequestType,
    SupervisionLevel,
    Urgency,
    check_in,
)
from shared.db.models.base import Base, created_at, jurisdiction_fk, pk


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        CheckConstraint(check_in("status", CaseStatus), name="status"),
        CheckConstraint(check_in("kind", CaseKind), name="kind"),
        CheckConstraint(check_in("request_type", RequestType), name="request_type"),
        CheckConstraint(check_in("urgency", Urgency), name="urgency"),
        CheckConstraint(check_in("category_source", CategorySource), name="category_source"),
        CheckConstraint(check_in("queue_reason", QueueReason), name="queue_reason"),
        # A double-tapped form or a retried API call carries the same key and finds the case it made.
        UniqueConstraint("intake_code_id", "submission_key"),
        # With id last, a status filter's newest-first page (GET /v1/cases?status=) reads its 50 rows in
        # order instead of sorting every case of that status.
        Index("ix_cases_jurisdiction_status_id", "jurisdiction_id", "status", "id"),
        Index("ix_cases_jurisdiction_created", "jurisdiction_id", "created_at"),
        # The dispatch queue: the few cases waiting for a person, out of millions.
        Index(
            "ix_cases_dispatch_queue",
            "jurisdiction_id",
            "queued_at",
            postgresql_where="queue_reason IS NOT NULL",
        ),
        # "N 位群众反映": the cases merged into a main case.
        Index("ix_cases_duplicate_of", "duplicate_of_id", postgresql_where="duplicate_of_id IS NOT NULL"),
        # The watched cases (GET /v1/supervision): only cases under supervision, by level, newest first.
        Index(
            "ix_cases_supervised",
            "jurisdiction_id",
            "supervision_level",
            "id",
            postgresql_where="supervision_level IS NOT NULL",
        ),
        CheckConstraint(check_in("supervision_level", SupervisionLevel), name="supervision_level"),
    )

    id: Mapped[int] = pk()
    jurisdiction_id: Mapped[int] = jurisdiction_fk()
    tracking_no: Mapped[str] = mapped_column(String(32), unique=True)
    access_key_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=CaseStatus.received)
    kind: Mapped[str] = mapped_column(String(24), default=CaseKind.citizen)
    category_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("categories.id"))
    # Who chose the category, and the classifier's confidence when it was the classifier.
    category_source: Mapped[str | None] = mapped_column(String(16))
    classification_score: Mapped[float | None] = mapped_column(Float)
    request_type: Mapped[str] = mapped_column(String(16), default=RequestType.suggestion)
    urgency: Mapped[str] = mapped_column(String(16), default=Urgency.normal)
    title: Mapped[str | None] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text)
    location_text: Mapped[str | None] = mapped_column(String(200))
    lat: Mapped[float | None] = mapped_column(Float)
    long: Mapped[float | None] = mapped_column(Float)
    # Personal data: encrypted at rest (shared.security.pii); erased by retention after closing.
    submitter_name_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    submitter_phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    submitter_email_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    confidential: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(16), default="api")
    intake_code_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("intake_codes.id"))
    submission_key: Mapped[str | None] = mapped_column(String(64))
    # SHA-256 of the canonical body the key first came with: the same key with another body is refused.
    submission_body_hash: Mapped[str | None] = mapped_column(String(64))
    station_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("stations.id"), index=True)
    deputy_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("deputies.id"), index=True)
    grid_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("grids.id"))
    tier: Mapped[str | None] = mapped_column(String(32))
    rework_round: Mapped[int] = mapped_column(Integer, default=0)
    # The main case a merged case follows; merged_at starts the day in which it can be unmerged.
    duplicate_of_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("cases.id"))
    merged_at: Mapped[datetime | None]
    # Set while the case waits in the dispatch queue for a person, with why and since when.
    queue_reason: Mapped[str | None] = mapped_column(String(16))
    queued_at: Mapped[datetime | None]
    close_reason: Mapped[str | None] = mapped_column(String(16))
    # The supervision level in force (催办, 督办, 重点督办) and the congress leader who owns it (领衔督办);
    # services.supervision.levels writes them with a row of supervision_changes each time.
    supervision_level: Mapped[str | None] = mapped_column(String(16))
    lead_supervisor: Mapped[str | None] = mapped_column(String(50))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())
    dispatched_at: Mapped[datetime | None]
    replied_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]


class CaseEvent(Base):
    """Append-only history of a case; the citizen's public timeline is the rows with public = true."""

    __tablename__ = "case_events"
    __table_args__ = (
        Index("ix_case_events_case", "case_id", "id"),
        # Open311's updates extension: a jurisdiction's public events of a time window, in order.
        Index("ix_case_events_public_at", "jurisdiction_id", "at", "id", postgresql_where="public"),
    )

    id: Mapped[int] = pk()
    jurisdiction_id: Mapped[int] = jurisdiction_fk()
    case_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("cases.id"))
    type: Mapped[str] = mapped_column(String(48))
    at: Mapped[datetime] = created_at()
    actor_type: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)


class Feedback(Base):
    """A satisfaction rating (满意度) of one reply round, from the citizen or the deputy."""

    __tablename__ = "feedback"
    __table_args__ = (
        CheckConstraint(check_in("rating", Rating), name="rating"),
        CheckConstraint(check_in("source", FeedbackSource), name="source"),
        UniqueConstraint("case_id", "source", "round"),
    )

    id: Mapped[int] = pk()
    jurisdiction_id: Mapped[int] = jurisdiction_fk()
    case_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("cases.id"), index=True)
    source: Mapped[str] = mapped_column(String(16))
    rating: Mapped[str] = mapped_column(String(24))
    comment: Mapped[str | None] = mapped_column(Text)
    round: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = created_at()
