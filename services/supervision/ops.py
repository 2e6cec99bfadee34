"""What operators of a jurisdiction see of event delivery: the backlog, and deliveries to filter by lane,
status and whether they are stuck (an internal delivery pending longer than MINYI_INTERNAL_STUCK_SECONDS)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.supervision.schemas import OpsDeliveryOut
from services.supervision.webhooks import delivery_out
from shared.db.enums import DeliveryStatus
from shared.db.models import OutboxEvent, WebhookDelivery, WebhookEndpoint
from shared.events.monitor import Backlog, backlog
from shared.settings import get_settings


async def delivery_backlog(session: AsyncSession, jurisdiction_id: int) -> Backlog:
    return await backlog(
        session, stuck_seconds=get_settings().internal_stuck_seconds, jurisdiction_id=jurisdiction_id
    )


async def list_deliveries(
    session: AsyncSession,
    jurisdiction_id: int,
    *,
    stuck: bool = False,
    lane: str | None = None,
    status: DeliveryStatus | None = None,
    limit: int,
    before_id: int | None = None,
) -> list[OpsDeliveryOut]:
    """Up to ``limit + 1`` deliveries of the jurisdiction's events, newest first."""
    query = (
        select(WebhookDelivery, OutboxEvent.event_id, WebhookEndpoint.name)
        .join(OutboxEvent, OutboxEvent.id == WebhookDelivery.outbox_id)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(OutboxEvent.jurisdiction_id == jurisdiction_id)
    )
    if stuck:
        cutoff = datetime.now(UTC) - timedelta(seconds=get_settings().internal_stuck_seconds)
        query = query.where(
            WebhookDelivery.internal,
            WebhookDelivery.status == DeliveryStatus.pending,
            WebhookDelivery.created_at < cutoff,
        )
    if lane is not None:
        query = query.where(WebhookDelivery.internal == (lane == "internal"))
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    if before_id is not None:
        query = query.where(WebhookDelivery.id < before_id)
    rows = await session.execute(query.order_by(WebhookDelivery.id.desc()).limit(limit + 1))
    return [
        OpsDeliveryOut(
            **delivery_out(delivery, event_id).model_dump(),
            lane="internal" if delivery.internal else "integrator",
            endpoint_id=delivery.endpoint_id,
            # Our own services are named; an integrator's endpoint is shown by id only.
            endpoint_name=name if delivery.internal else None,
        )
        for delivery, event_id, name in rows
    ]
