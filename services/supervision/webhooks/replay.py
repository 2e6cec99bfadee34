"""Sending events again: one delivery (resend), or every event an endpoint should have heard in a window of
time (recover), e.g. after its receiver was down past the retry schedule or while it was disabled.

Both keep the event's webhook-id, so a receiver that already has an event recognises it. Recovery takes the
events the endpoint hears now (its types, jurisdiction and department, shared.events.fanout.HEARS) in outbox
order; an ordered endpoint still gets a case's events one at a time, in order (the claim holds a later
event while an earlier one of the case is pending). Events older than the retention period
(MINYI_RETENTION_EVENT_DAYS) may be pruned already and cannot be recovered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.supervision.errors import FieldInvalid
from services.supervision.schemas import DeliveryOut
from services.supervision.webhooks.deliveries import delivery_out
from services.supervision.webhooks.endpoints import scope
from services.supervision.webhooks.errors import DeliveryNotFound, DeliveryPending, WebhookDisabled
from shared.db.enums import DeliveryStatus
from shared.db.models import OutboxEvent, WebhookDelivery, WebhookEndpoint
from shared.events.fanout import HEARS
from shared.events.outbox import NOTIFY_CHANNEL
from shared.security.apikeys import Principal
from shared.settings import get_settings

# Events one recovery call queues at most; a larger window answers has_more and where to go on.
RECOVER_LIMIT = 50_000

_WINDOW = text(
    f"""
    SELECT o.id, o.occurred_at FROM outbox o JOIN webhook_endpoints e ON e.id = :endpoint_id
    WHERE o.jurisdiction_id = e.jurisdiction_id AND o.occurred_at >= :since AND o.occurred_at < :until
      AND {HEARS}
    ORDER BY o.occurred_at, o.id
    LIMIT :limit
    FOR KEY SHARE OF o
    """  # noqa: S608 (constant SQL; values are bound parameters)
)
# Due now, a microsecond apart in outbox order, so the relay sends them in that order. A finished delivery
# goes back to pending; one still pending is left as it is.
_REQUEUE = text(
    """
    INSERT INTO webhook_deliveries AS d (endpoint_id, outbox_id, case_id, event_type, internal, status,
                                         attempts, next_attempt_at)
    SELECT :endpoint_id, o.id, o.case_id, o.type, false, 'pending', 0,
           now() + (row_number() OVER (ORDER BY o.id) - 1) * interval '1 microsecond'
    FROM outbox o WHERE o.id = ANY(CAST(:ids AS bigint[]))
    ORDER BY o.id
    ON CONFLICT (endpoint_id, outbox_id) DO UPDATE
    SET status = 'pending', attempts = 0, next_attempt_at = EXCLUDED.next_attempt_at, locked_until = NULL,
        claim_token = NULL, delivered_at = NULL
    WHERE d.status <> 'pending'
    RETURNING d.id
    """
)


@dataclass(frozen=True)
class Recovered:
    requeued: int
    already_pending: int
    next_since: datetime | None  # set when the window held more than one call takes


async def _wake_relays(session: AsyncSession) -> None:
    """Relays listen for this; it is delivered when (and if) the transaction commits."""
    await session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": NOTIFY_CHANNEL})


async def resend(session: AsyncSession, principal: Principal, delivery_id: int) -> DeliveryOut:
    """Queues one finished delivery (succeeded or given up) again: due now, its attempts counted afresh,
    the same webhook-id. 404 for a delivery to an endpoint the caller does not manage."""
    row = (
        await session.execute(
            select(WebhookDelivery, WebhookEndpoint.enabled, OutboxEvent.event_id)
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            .join(OutboxEvent, OutboxEvent.id == WebhookDelivery.outbox_id)
            .where(WebhookDelivery.id == delivery_id, *scope(principal))
            .with_for_update(of=WebhookDelivery)
        )
    ).one_or_none()
    if row is None:
        raise DeliveryNotFound()
    delivery, enabled, event_id = row
    if delivery.status == DeliveryStatus.pending:
        raise DeliveryPending()
    if not enabled:
        raise WebhookDisabled()
    delivery.status = DeliveryStatus.pending
    delivery.attempts = 0
    delivery.next_attempt_at = datetime.now(UTC)
    delivery.locked_until = None
    delivery.claim_token = None
    delivery.delivered_at = None
    await session.flush()
    await _wake_relays(session)
    return delivery_out(delivery, event_id)


def recovery_window(since: datetime, until: datetime | None, now: datetime) -> tuple[datetime, datetime]:
    """The window checked: ``until`` defaults to (and never passes) now; at most the retention period long."""
    end = min(until or now, now)
    if since >= end:
        raise FieldInvalid("since", "起始时间须早于结束时间（结束时间默认为现在）")
    days = get_settings().retention_event_days
    if end - since > timedelta(days=days):
        raise FieldInvalid("since", f"补发的时间窗口最长 {days} 天（事件的保留期限），请分段补发")
    return since, end


async def recover(
    session: AsyncSession, endpoint: WebhookEndpoint, since: datetime, until: datetime | None = None
) -> Recovered:
    """Queues again every event of [since, until) the endpoint hears, delivered before or not (none is made
    while an endpoint is disabled); up to RECOVER_LIMIT of them, the earliest first."""
    if not endpoint.enabled:
        raise WebhookDisabled()
    start, end = recovery_window(since, until, datetime.now(UTC))
    rows = (
        await session.execute(
            _WINDOW, {"endpoint_id": endpoint.id, "since": start, "until": end, "limit": RECOVER_LIMIT + 1}
        )
    ).all()
    next_since = rows[RECOVER_LIMIT].occurred_at if len(rows) > RECOVER_LIMIT else None
    ids = [row.id for row in rows[:RECOVER_LIMIT]]
    if not ids:
        return Recovered(0, 0, None)
    requeued = len((await session.execute(_REQUEUE, {"endpoint_id": endpoint.id, "ids": ids})).all())
    await _wake_relays(session)
    return Recovered(requeued, len(ids) - requeued, next_since)
