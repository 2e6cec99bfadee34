"""Writing events. An outbox row commits with the change it describes, or not at all."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db.models import OutboxEvent

NOTIFY_CHANNEL = "minyi_outbox"
_NOTIFIED_IN = "minyi.outbox_notified_in"


async def emit(
    session: AsyncSession,
    *,
    type: str,
    jurisdiction_id: int,
    case_id: int | None,
    payload: dict[str, Any],
    occurred_at: datetime,
) -> uuid.UUID:
    event_id = uuid.uuid4()
    await session.execute(
        insert(OutboxEvent).values(
            event_id=event_id,
            type=type,
            jurisdiction_id=jurisdiction_id,
            case_id=case_id,
            payload=payload,
            occurred_at=occurred_at,
            # The request (or, in a receiver, the event) being handled: logs bind it as request_id.
            request_id=structlog.contextvars.get_contextvars().get("request_id"),
        )
    )
    # Delivered by Postgres only when (and if) this transaction commits, and identical ones coalesce, so one
    # per transaction is enough: a batch of events applied together sends one. (Should the savepoint that
    # sent it roll back, the relay's polling picks the rest up.)
    transaction = session.sync_session.get_transaction()
    if session.info.get(_NOTIFIED_IN) is not transaction:
        await session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": NOTIFY_CHANNEL})
        session.info[_NOTIFIED_IN] = transaction
    return event_id


def message_id(event_id: uuid.UUID) -> str:
    """The webhook-id of an event: the same for every endpoint and every retry."""
    return f"msg_{event_id.hex}"
