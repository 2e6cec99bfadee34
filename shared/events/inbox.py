"""Receiving events exactly once: verify the signature, then record the message id in the same transaction
as its effects."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db.models import InboxMessage
from shared.errors import Unauthorized, Unprocessable
from shared.security.keys import derived_webhook_secret
from shared.settings import get_settings
from shared.webhooks import WebhookVerificationError, verify

__all__ = ["ReceivedEvent", "claim", "read_internal_event"]


@dataclass(frozen=True)
class ReceivedEvent:
    message_id: str
    type: str
    timestamp: datetime
    data: dict[str, Any]


def read_internal_event(consumer: str, body: bytes, headers: Mapping[str, str]) -> ReceivedEvent:
    """Verifies an event sent to one of our own services' /internal/events endpoints."""
    secret = derived_webhook_secret(get_settings().secret_key, consumer)
    try:
        parsed = verify(secret, body, headers)
    except WebhookVerificationError as exc:
        raise Unauthorized("事件签名无效") from exc
    try:
        return ReceivedEvent(
            message_id=headers["webhook-id"],
            type=str(parsed["type"]),
            timestamp=datetime.fromisoformat(parsed["timestamp"]),
            data=dict(parsed["data"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise Unprocessable("事件格式有误") from exc


async def claim(session: AsyncSession, consumer: str, message: ReceivedEvent) -> bool:
    """True the first time a consumer sees a message id; False for a redelivery (do nothing then)."""
    result = await session.execute(
        pg_insert(InboxMessage)
        .values(consumer=consumer, message_id=message.message_id, event_type=message.type)
        .on_conflict_do_nothing()
        .returning(InboxMessage.message_id)
    )
    return result.scalar_one_or_none() is not None
