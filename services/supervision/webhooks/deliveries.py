"""An endpoint's delivery log, newest first."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.supervision.schemas import DeliveryOut
from shared.db.models import OutboxEvent, WebhookDelivery, WebhookEndpoint
from shared.events.outbox import message_id


async def list_deliveries(
    session: AsyncSession, endpoint: WebhookEndpoint, *, limit: int, before_id: int | None = None
) -> list[DeliveryOut]:
    """Up to ``limit + 1`` deliveries to the endpoint, newest first."""
    query = (
        select(WebhookDelivery, OutboxEvent.event_id)
        .join(OutboxEvent, OutboxEvent.id == WebhookDelivery.outbox_id)
        .where(WebhookDelivery.endpoint_id == endpoint.id)
    )
    if before_id is not None:
        query = query.where(WebhookDelivery.id < before_id)
    rows = await session.execute(query.order_by(WebhookDelivery.id.desc()).limit(limit + 1))
    return [delivery_out(delivery, event_id) for delivery, event_id in rows]


def delivery_out(delivery: WebhookDelivery, event_id: uuid.UUID) -> DeliveryOut:
    return DeliveryOut(
        id=delivery.id,
        event_type=delivery.event_type,
        webhook_id=message_id(event_id),
        case_id=delivery.case_id,
        status=delivery.status,
        attempts=delivery.attempts,
        next_attempt_at=delivery.next_attempt_at,
        last_attempt_at=delivery.last_attempt_at,
        last_status_code=delivery.last_status_code,
        last_error=delivery.last_error,
        delivered_at=delivery.delivered_at,
        created_at=delivery.created_at,
    )
