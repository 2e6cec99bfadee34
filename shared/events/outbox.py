"""Writing events. An outbox row commits with the change it describes, or not at all."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db.models import OutboxEvent

NOTIFY_CHANNEL = "minyi_outbox"


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
        )
    )
    # Delivered by Postgres only when (and if) this transaction commits; repeated notifies coalesce.
    await session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": NOTIFY_CHANNEL})
    return event_id


def message_id(event_id: uuid.UUID) -> str:
    """The webhook-id of an event: the same for every endpoint and every retry."""
    return f"msg_{event_id.hex}"
