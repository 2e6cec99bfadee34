"""Receiving internal events exactly once: verify the batch's signature, then apply its events in order, each
recording its message id in the inbox in the same transaction as its effects.

Each event may carry the id of the request that caused it (``request_id``); it is bound to the logs while the
event is applied, so the receiver's lines, and the outbox rows of the events it emits in turn, carry the
original request's id (intake's submission -> routing's dispatch -> supervision's deadlines)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db.models import InboxMessage
from shared.errors import Unauthorized, Unprocessable
from shared.logs import sane_request_id
from shared.security.keys import derived_webhook_secrets
from shared.settings import get_settings
from shared.webhooks import WebhookVerificationError, verify

__all__ = ["EventHandler", "ReceivedEvent", "apply_batch", "claim", "read_internal_batch"]

log = structlog.get_logger("minyi.inbox")


@dataclass(frozen=True)
class ReceivedEvent:
    message_id: str
    type: str
    timestamp: datetime
    data: dict[str, Any]
    request_id: str | None = None  # the request that caused it; one not fit for logs is dropped


EventHandler = Callable[[AsyncSession, ReceivedEvent], Awaitable[None]]


def read_internal_batch(consumer: str, body: bytes, headers: Mapping[str, str]) -> list[ReceivedEvent]:
    """Verifies a batch sent to one of our own services' /internal/events endpoints."""
    # Signed with the first of MINYI_SECRET_KEY's keys; during a rotation a sender not yet restarted signs
    # with what is now an older one, and that is accepted too.
    for secret in derived_webhook_secrets(get_settings().secret_keys, consumer):
        try:
            parsed = verify(secret, body, headers)
        except WebhookVerificationError:
            continue
        break
    else:
        raise Unauthorized("事件签名无效")
    try:
        return [
            ReceivedEvent(
                message_id=str(item["id"]),
                type=str(item["type"]),
                timestamp=datetime.fromisoformat(item["timestamp"]),
                data=dict(item["data"]),
                request_id=sane_request_id(item.get("request_id")),
            )
            for item in parsed["events"]
        ]
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


async def apply_batch(
    session: AsyncSession, consumer: str, events: list[ReceivedEvent], handle: EventHandler
) -> list[dict[str, str]]:
    """Applies the events in order, each in a savepoint: one that fails is rolled back alone and reported,
    and the case's later events in the batch are held back (they are sent again after it)."""
    results: list[dict[str, str]] = []
    failed_cases: set[Any] = set()
    for event in events:
        case_key = event.data.get("case_id")
        if case_key is not None and case_key in failed_cases:
            results.append({"id": event.message_id, "status": "held"})
            continue
        # Without its own id, an event keeps the batch request's (an event no request caused: a scheduled scan).
        traced = {"request_id": event.request_id} if event.request_id else {}
        with structlog.contextvars.bound_contextvars(**traced):
            try:
                async with session.begin_nested():
                    fresh = await claim(session, consumer, event)
                    if fresh:
                        await handle(session, event)
            except Exception as exc:
                if isinstance(exc, DBAPIError) and exc.connection_invalidated:
                    raise  # the database is gone: the whole batch fails and is sent again
                failed_cases.add(case_key)
                results.append(_failed(consumer, event, exc))
            else:
                if fresh:
                    log.info("event_applied", consumer=consumer, type=event.type, message_id=event.message_id)
                results.append({"id": event.message_id, "status": "applied" if fresh else "duplicate"})
    return results


def _failed(consumer: str, event: ReceivedEvent, exc: Exception) -> dict[str, str]:
    log.exception("event_failed", consumer=consumer, type=event.type, message_id=event.message_id)
    return {"id": event.message_id, "status": "failed", "error": f"{type(exc).__name__}: {exc}"[:300]}
