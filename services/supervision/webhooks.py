"""Integrators' webhook endpoints: subscription, secrets, and the log of what was delivered to them.

An integrator key manages only the endpoints it created; an admin key manages every integrator endpoint of
its jurisdiction. Our own services' subscriptions (kind internal) are never shown or editable here.
"""

from __future__ import annotations

import asyncio
import uuid
from urllib.parse import urlsplit

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.supervision.errors import FieldInvalid, WebhookNotFound
from services.supervision.schemas import DeliveryOut, WebhookCreate, WebhookUpdate
from shared.db.enums import EndpointKind, Role
from shared.db.models import OutboxEvent, WebhookDelivery, WebhookEndpoint
from shared.events.outbox import message_id
from shared.events.relay import SECRET_PURPOSE
from shared.security.apikeys import Principal
from shared.security.keys import new_webhook_secret
from shared.security.pii import encrypt
from shared.security.urls import UrlRefused, check_webhook_url
from shared.settings import get_settings

# Resolving the host can hang on a broken resolver; a request must not.
URL_CHECK_TIMEOUT_SECONDS = 10.0


async def check_url(url: str) -> None:
    """Refuses URLs that do not resolve to public addresses, unless the host is allow-listed."""
    try:
        urlsplit(url).port  # noqa: B018 (raises for a port out of range)
        await asyncio.wait_for(
            asyncio.to_thread(check_webhook_url, url, get_settings().allow_hosts),
            timeout=URL_CHECK_TIMEOUT_SECONDS,
        )
    except UrlRefused as exc:
        raise FieldInvalid("url", str(exc)) from exc
    except ValueError as exc:  # malformed: a bad port or IPv6 literal, a host name IDNA cannot encode
        raise FieldInvalid("url", "回调地址格式有误") from exc
    except TimeoutError as exc:
        raise FieldInvalid("url", "解析回调地址的主机名超时") from exc


def _visible_to(principal: Principal) -> Select[tuple[WebhookEndpoint]]:
    query = select(WebhookEndpoint).where(
        WebhookEndpoint.jurisdiction_id == principal.jurisdiction_id,
        WebhookEndpoint.kind == EndpointKind.integrator,
    )
    if principal.role != Role.admin:
        query = query.where(WebhookEndpoint.created_by_key_id == principal.key_id)
    return query


async def create_webhook(
    session: AsyncSession, principal: Principal, data: WebhookCreate
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint of the caller's jurisdiction; returns it with its secret, which is shown only now."""
    await check_url(data.url)
    secret = new_webhook_secret()
    endpoint = WebhookEndpoint(
        jurisdiction_id=principal.jurisdiction_id,
        kind=EndpointKind.integrator,
        url=data.url,
        description=data.description,
        event_types=list(data.event_types),
        secret_enc=encrypt(secret, SECRET_PURPOSE),
        enabled=data.enabled,
        ordered=data.ordered,
        created_by_key_id=principal.key_id,
    )
    session.add(endpoint)
    await session.flush()
    await session.refresh(endpoint)
    return endpoint, secret


async def list_webhooks(
    session: AsyncSession, principal: Principal, *, limit: int, after_id: int | None = None
) -> list[WebhookEndpoint]:
    """Up to ``limit + 1`` endpoints the caller may see, oldest first."""
    query = _visible_to(principal)
    if after_id is not None:
        query = query.where(WebhookEndpoint.id > after_id)
    rows = await session.execute(query.order_by(WebhookEndpoint.id).limit(limit + 1))
    return list(rows.scalars().all())


async def get_webhook(session: AsyncSession, principal: Principal, endpoint_id: int) -> WebhookEndpoint:
    endpoint = await session.scalar(_visible_to(principal).where(WebhookEndpoint.id == endpoint_id))
    if endpoint is None:
        raise WebhookNotFound()
    return endpoint


async def update_webhook(
    session: AsyncSession, endpoint: WebhookEndpoint, data: WebhookUpdate
) -> WebhookEndpoint:
    """Changes the fields given; re-enabling forgets why the relay disabled the endpoint."""
    given = data.model_fields_set
    if data.url is not None and data.url != endpoint.url:
        await check_url(data.url)
        endpoint.url = data.url
    if data.event_types is not None:
        endpoint.event_types = list(data.event_types)
    if "description" in given:
        endpoint.description = data.description
    if data.ordered is not None:
        endpoint.ordered = data.ordered
    if data.enabled is not None:
        if data.enabled and not endpoint.enabled:
            endpoint.disabled_reason = None
            endpoint.failing_since = None
        endpoint.enabled = data.enabled
    await session.flush()
    return endpoint


async def delete_webhook(session: AsyncSession, endpoint: WebhookEndpoint) -> None:
    """Removes the endpoint and, with it, its delivery log."""
    await session.delete(endpoint)
    await session.flush()


async def rotate_secret(session: AsyncSession, endpoint: WebhookEndpoint) -> str:
    """A new secret takes effect for the next delivery attempt; the old one stops working at once."""
    secret = new_webhook_secret()
    endpoint.secret_enc = encrypt(secret, SECRET_PURPOSE)
    await session.flush()
    return secret


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
