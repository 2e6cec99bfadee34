"""Our own services' subscriptions: kept as webhook_endpoints rows (kind internal) so they share the one
delivery path, its retries and its log with integrators' webhooks."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db.enums import EndpointKind
from shared.db.models import WebhookEndpoint

INTERNAL_PATH = "/internal/events"


async def ensure_internal_endpoint(
    session: AsyncSession, name: str, base_url: str, event_types: Sequence[str]
) -> WebhookEndpoint:
    """Creates or updates the subscription of one of our services (by name) to the given event types."""
    url = base_url.rstrip("/") + INTERNAL_PATH
    endpoint = (
        await session.execute(select(WebhookEndpoint).where(WebhookEndpoint.name == name).with_for_update())
    ).scalar_one_or_none()
    if endpoint is None:
        endpoint = WebhookEndpoint(
            name=name,
            kind=EndpointKind.internal,
            url=url,
            event_types=list(event_types),
            enabled=True,
            ordered=True,
            description=f"internal subscription of {name}",
        )
        session.add(endpoint)
    else:
        endpoint.url = url
        endpoint.event_types = list(event_types)
        endpoint.enabled = True
        endpoint.ordered = True
    await session.flush()
    return endpoint
