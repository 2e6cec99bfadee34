"""The transactional outbox, webhook deliveries and the receivers' inbox. Owner: shared.events.

Domain code inserts outbox rows; the relay (``minyi worker``) fans them out into deliveries and sends them.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.enums import DeliveryStatus, check_in
from shared.db.models.base import Base, created_at, pk


class OutboxEvent(Base):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_unfanned", "id", postgresql_where="fanned_out_at IS NULL"),)

    id: Mapped[int] = pk()
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), unique=True, default=uuid.uuid4)
    jurisdiction_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("jurisdictions.id"))
    case_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("cases.id"), index=True)
    type: Mapped[str] = mapped_column(String(48))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    occurred_at: Mapped[datetime]
    # The id of the request that caused the event: sent along with its deliveries, so one submission can be
    # followed through every service's logs.
    request_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = created_at()
    fanned_out_at: Mapped[datetime | None]


class WebhookDelivery(Base):
    """One event to one endpoint, with its retry state and the outcome of its latest attempt."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint(check_in("status", DeliveryStatus), name="status"),
        UniqueConstraint("endpoint_id", "outbox_id"),
        # The relay's claim: a lane's due deliveries in order (internal and integrator lanes are separate).
        Index(
            "ix_webhook_deliveries_lane_due",
            "internal",
            "next_attempt_at",
            "id",
            postgresql_where="status = 'pending'",
        ),
        # Ordered endpoints: "is an earlier event of this case still pending for this endpoint?"
        Index(
            "ix_webhook_deliveries_pending_case",
            "endpoint_id",
            "case_id",
            "outbox_id",
            postgresql_where="status = 'pending'",
        ),
        # The delivery log of one endpoint, newest first.
        Index("ix_webhook_deliveries_endpoint", "endpoint_id", "id"),
        # Retention: "is a delivery of this event left?" and the foreign-key check of each outbox row pruned.
        Index("ix_webhook_deliveries_outbox", "outbox_id"),
        # Retention: the finished deliveries, oldest first.
        Index("ix_webhook_deliveries_finished", "created_at", postgresql_where="status <> 'pending'"),
    )

    id: Mapped[int] = pk()
    endpoint_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("webhook_endpoints.id", ondelete="CASCADE")
    )
    outbox_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("outbox.id"))
    case_id: Mapped[int | None] = mapped_column(BigInteger)
    event_type: Mapped[str] = mapped_column(String(48))
    # Copied from the endpoint at fan-out: internal deliveries travel in their own lane, in batches.
    internal: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.pending)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    locked_until: Mapped[datetime | None]
    # Set by each claim: an outcome is recorded only by the worker whose claim still holds the lease.
    claim_token: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    last_attempt_at: Mapped[datetime | None]
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at()


class InboxMessage(Base):
    """Message ids a receiver has already applied, so a redelivered event changes nothing."""

    __tablename__ = "inbox_messages"
    # Retention prunes the oldest processed ids.
    __table_args__ = (Index("ix_inbox_messages_processed_at", "processed_at"),)

    consumer: Mapped[str] = mapped_column(String(32), primary_key=True)
    message_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(48))
    processed_at: Mapped[datetime] = created_at()
