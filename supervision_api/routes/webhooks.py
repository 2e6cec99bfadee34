"""Integrators' and departments' webhook endpoints, their secrets, their delivery log, sending events again,
and the event catalogue."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from services.supervision import webhooks
from services.supervision.schemas import DeliveryOut
from services.supervision.webhooks.schemas import (
    EventCatalogueOut,
    EventTypeOut,
    RecoverIn,
    RecoverOut,
    RotateSecretIn,
    WebhookCreate,
    WebhookCreated,
    WebhookOut,
    WebhookSecret,
    WebhookUpdate,
)
from shared.events.catalogue import CATALOGUE, data_schema, envelope_schema
from shared.web.pagination import Page
from supervision_api.deps import AnyKey, Id, OwnWebhook, Pagination, Session, WebhookManager

router = APIRouter(tags=["webhooks"])


# Before /v1/webhooks/{webhook_id}, which would take "event-types" for an id.
@router.get("/v1/webhooks/event-types", summary="Every event type: what it means and the schema of its data")
async def event_types(principal: AnyKey) -> EventCatalogueOut:
    return EventCatalogueOut(
        envelope=envelope_schema(),
        items=[
            EventTypeOut(type=event.type, description=event.description, data_schema=data_schema(event.type))
            for event in CATALOGUE.values()
        ],
    )


@router.post("/v1/webhooks", status_code=201, summary="Subscribe a URL (the secret is shown only here)")
async def create_webhook(principal: WebhookManager, session: Session, body: WebhookCreate) -> WebhookCreated:
    endpoint, secret = await webhooks.create_webhook(session, principal, body)
    return WebhookCreated.model_validate(
        {**WebhookOut.model_validate(endpoint).model_dump(), "secret": secret}
    )


@router.get("/v1/webhooks", summary="The endpoints the caller manages")
async def list_webhooks(
    principal: WebhookManager,
    session: Session,
    page: Pagination,
    disabled: Annotated[
        bool | None,
        Query(description="true: only disabled endpoints (with why and when); false: only enabled"),
    ] = None,
) -> Page[WebhookOut]:
    rows = await webhooks.list_webhooks(
        session, principal, limit=page.limit, after_id=page.after_id, disabled=disabled
    )
    return page.page_of([WebhookOut.model_validate(row) for row in rows])


@router.get("/v1/webhooks/{webhook_id}", summary="One endpoint")
async def get_webhook(endpoint: OwnWebhook) -> WebhookOut:
    return WebhookOut.model_validate(endpoint)


@router.patch("/v1/webhooks/{webhook_id}", summary="Change URL, event types, description, enabled")
async def update_webhook(endpoint: OwnWebhook, session: Session, body: WebhookUpdate) -> WebhookOut:
    return WebhookOut.model_validate(await webhooks.update_webhook(session, endpoint, body))


@router.delete("/v1/webhooks/{webhook_id}", status_code=204, summary="Unsubscribe (drops the delivery log)")
async def delete_webhook(endpoint: OwnWebhook, session: Session) -> Response:
    await webhooks.delete_webhook(session, endpoint)
    return Response(status_code=204)


@router.post(
    "/v1/webhooks/{webhook_id}/rotate-secret",
    summary="A new secret (shown only in this answer); the previous one keeps signing during a grace period",
)
async def rotate_secret(
    endpoint: OwnWebhook, session: Session, body: RotateSecretIn | None = None
) -> WebhookSecret:
    secret = await webhooks.rotate_secret(
        session, endpoint, grace_hours=body.grace_hours if body is not None else None
    )
    return WebhookSecret(
        id=endpoint.id, secret=secret, previous_secret_expires_at=endpoint.previous_secret_expires_at
    )


@router.get("/v1/webhooks/{webhook_id}/deliveries", summary="Deliveries to the endpoint, newest first")
async def list_deliveries(endpoint: OwnWebhook, session: Session, page: Pagination) -> Page[DeliveryOut]:
    rows = await webhooks.list_deliveries(session, endpoint, limit=page.limit, before_id=page.after_id)
    return page.page_of(rows)


@router.post(
    "/v1/webhooks/{webhook_id}/recover",
    summary="Send again every event of a time window the endpoint hears (at most the retention period)",
)
async def recover(endpoint: OwnWebhook, session: Session, body: RecoverIn) -> RecoverOut:
    done = await webhooks.recover(session, endpoint, body.since, body.until)
    return RecoverOut(
        requeued=done.requeued,
        already_pending=done.already_pending,
        has_more=done.next_since is not None,
        next_since=done.next_since,
    )


@router.post(
    "/v1/deliveries/{delivery_id}/resend", summary="Send one finished delivery again (same webhook-id)"
)
async def resend(delivery_id: Id, principal: WebhookManager, session: Session) -> DeliveryOut:
    return await webhooks.resend(session, principal, delivery_id)
