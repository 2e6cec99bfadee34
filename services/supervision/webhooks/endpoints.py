"""Webhook endpoints: subscribing a URL, who sees and changes which, and the per-key cap.

An integrator or department key manages only the endpoints it created; an admin key manages every endpoint of
its jurisdiction (departments' included). A department's endpoint hears only case events of cases assigned to
that department (shared.events.fanout). Our own services' subscriptions (kind internal) are never shown or
editable here.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.supervision.errors import FieldInvalid, WebhookNotFound
from services.supervision.webhooks.errors import CreatorKeyRevoked, WebhookLimitReached
from services.supervision.webhooks.schemas import WebhookCreate, WebhookUpdate
from shared.db.enums import EndpointKind, Role
from shared.db.models import ApiKey, WebhookEndpoint
from shared.events.relay import SECRET_PURPOSE
from shared.security.apikeys import Principal
from shared.security.keys import new_webhook_secret
from shared.security.pii import encrypt
from shared.security.urls import UrlRefused, check_webhook_url, parse_ports
from shared.settings import get_settings

# Resolving the host can hang on a broken resolver; a request must not.
URL_CHECK_TIMEOUT_SECONDS = 10.0
# The event types a department's endpoint may hear: its cases' events, nothing else.
DEPARTMENT_EVENT_PREFIX = "case."


async def check_url(url: str) -> None:
    """Refuses URLs on other ports than 80, 443 and the configured ones, or that do not resolve to public
    addresses, unless the host is allow-listed."""
    settings = get_settings()
    ports = parse_ports(settings.webhook_allowed_ports)
    try:
        await asyncio.wait_for(
            asyncio.to_thread(check_webhook_url, url, settings.allow_hosts, ports=ports),
            timeout=URL_CHECK_TIMEOUT_SECONDS,
        )
    except UrlRefused as exc:
        raise FieldInvalid("url", str(exc)) from exc
    except ValueError as exc:  # malformed: a bad IPv6 literal, a host name IDNA cannot encode
        raise FieldInvalid("url", "回调地址格式有误") from exc
    except TimeoutError as exc:
        raise FieldInvalid("url", "解析回调地址的主机名超时") from exc


def _check_department_types(department_id: int | None, event_types: list[str]) -> None:
    if department_id is None:
        return
    other = [t for t in event_types if not t.startswith(DEPARTMENT_EVENT_PREFIX)]
    if other:
        raise FieldInvalid("event_types", f"承办单位的回调只能订阅事项（case.*）事件：{'、'.join(other)}")


def scope(principal: Principal) -> list[ColumnElement[bool]]:
    """Conditions on WebhookEndpoint: the endpoints the caller may see and manage."""
    conditions = [
        WebhookEndpoint.jurisdiction_id == principal.jurisdiction_id,
        WebhookEndpoint.kind == EndpointKind.integrator,
    ]
    if principal.role != Role.admin:
        conditions.append(WebhookEndpoint.created_by_key_id == principal.key_id)
    return conditions


def visible_to(principal: Principal) -> Select[tuple[WebhookEndpoint]]:
    return select(WebhookEndpoint).where(*scope(principal))


async def _check_room(session: AsyncSession, principal: Principal) -> None:
    """At most ``webhook_max_endpoints_per_key`` endpoints per key. The key's row is locked, so two
    concurrent creations cannot both take the last place."""
    await session.execute(select(ApiKey.id).where(ApiKey.id == principal.key_id).with_for_update())
    count = await session.scalar(
        select(func.count())
        .select_from(WebhookEndpoint)
        .where(WebhookEndpoint.created_by_key_id == principal.key_id)
    )
    limit = get_settings().webhook_max_endpoints_per_key
    if (count or 0) >= limit:
        raise WebhookLimitReached(limit)


async def create_webhook(
    session: AsyncSession, principal: Principal, data: WebhookCreate
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint of the caller's jurisdiction (a department key's: of its department); returns it with
    its secret, which is shown only now."""
    department_id = principal.department_id if principal.role == Role.department else None
    _check_department_types(department_id, data.event_types)
    await check_url(data.url)
    await _check_room(session, principal)
    secret = new_webhook_secret()
    now = datetime.now(UTC)
    endpoint = WebhookEndpoint(
        jurisdiction_id=principal.jurisdiction_id,
        kind=EndpointKind.integrator,
        url=data.url,
        description=data.description,
        event_types=list(data.event_types),
        secret_enc=encrypt(secret, SECRET_PURPOSE),
        department_id=department_id,
        enabled=data.enabled,
        disabled_at=None if data.enabled else now,
        ordered=data.ordered,
        created_by_key_id=principal.key_id,
    )
    session.add(endpoint)
    await session.flush()
    await session.refresh(endpoint)
    return endpoint, secret


async def list_webhooks(
    session: AsyncSession,
    principal: Principal,
    *,
    limit: int,
    after_id: int | None = None,
    disabled: bool | None = None,
) -> list[WebhookEndpoint]:
    """Up to ``limit + 1`` endpoints the caller may see, oldest first; ``disabled`` keeps only the disabled
    (or only the enabled) ones."""
    query = visible_to(principal)
    if disabled is not None:
        query = query.where(WebhookEndpoint.enabled.is_(not disabled))
    if after_id is not None:
        query = query.where(WebhookEndpoint.id > after_id)
    rows = await session.execute(query.order_by(WebhookEndpoint.id).limit(limit + 1))
    return list(rows.scalars().all())


async def get_webhook(session: AsyncSession, principal: Principal, endpoint_id: int) -> WebhookEndpoint:
    endpoint = await session.scalar(visible_to(principal).where(WebhookEndpoint.id == endpoint_id))
    if endpoint is None:
        raise WebhookNotFound()
    return endpoint


async def _creator_revoked(session: AsyncSession, endpoint: WebhookEndpoint) -> bool:
    if endpoint.created_by_key_id is None:
        return False
    revoked_at = await session.scalar(
        select(ApiKey.revoked_at).where(ApiKey.id == endpoint.created_by_key_id)
    )
    return revoked_at is not None


async def update_webhook(
    session: AsyncSession, endpoint: WebhookEndpoint, data: WebhookUpdate
) -> WebhookEndpoint:
    """Changes the fields given; re-enabling forgets why the endpoint was disabled, unless the key that
    created it is revoked (then it stays disabled)."""
    given = data.model_fields_set
    if data.event_types is not None:
        _check_department_types(endpoint.department_id, data.event_types)
    if data.url is not None and data.url != endpoint.url:
        await check_url(data.url)
        endpoint.url = data.url
    if data.event_types is not None:
        endpoint.event_types = list(data.event_types)
    if "description" in given:
        endpoint.description = data.description
    if data.ordered is not None:
        endpoint.ordered = data.ordered
    if data.enabled is not None and data.enabled != endpoint.enabled:
        if data.enabled:
            if await _creator_revoked(session, endpoint):
                raise CreatorKeyRevoked()
            endpoint.disabled_reason = None
            endpoint.disabled_at = None
            endpoint.failing_since = None
        else:
            endpoint.disabled_at = datetime.now(UTC)
        endpoint.enabled = data.enabled
    await session.flush()
    return endpoint


async def delete_webhook(session: AsyncSession, endpoint: WebhookEndpoint) -> None:
    """Removes the endpoint and, with it, its delivery log."""
    await session.delete(endpoint)
    await session.flush()
