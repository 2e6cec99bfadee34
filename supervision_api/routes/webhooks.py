"""Integrators' webhook endpoints, their secrets and their delivery log."""

from __future__ import annotations

from fastapi import APIRouter, Response

from services.supervision import webhooks
from services.supervision.schemas import (
    DeliveryOut,
    WebhookCreate,
    WebhookCreated,
    WebhookOut,
    WebhookSecret,
    WebhookUpdate,
)
from shared.web.pagination import Page
from supervision_api.deps import OwnWebhook, Pagination, Session, WebhookManager

router = APIRouter(tags=["webhooks"])


@router.post("/v1/webhooks", status_code=201, summary="Subscribe a URL (the secret is shown only here)")
async def create_webhook(principal: WebhookManager, session: Session, body: WebhookCreate) -> WebhookCreated:
    endpoint, secret = await webhooks.create_webhook(session, principal, body)
    return WebhookCreated.model_validate(
        {**WebhookOut.model_validate(endpoint).model_dump(), "secret": secret}
    )


@router.get("/v1/webhooks", summary="The endpoints the caller manages")
async def list_webhooks(principal: WebhookManager, session: Session, page: Pagination) -> Page[WebhookOut]:
    rows = await webhooks.list_webhooks(session, principal, limit=page.limit, after_id=page.after_id)
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


@router.post("/v1/webhooks/{webhook_id}/rotate-secret", summary="A new secret (shown only in this answer)")
async def rotate_secret(endpoint: OwnWebhook, session: Session) -> WebhookSecret:
    return WebhookSecret(id=endpoint.id, secret=await webhooks.rotate_secret(session, endpoint))


@router.get("/v1/webhooks/{webhook_id}/deliveries", summary="Deliveries to the endpoint, newest first")
async def list_deliveries(endpoint: OwnWebhook, session: Session, page: Pagination) -> Page[DeliveryOut]:
    rows = await webhooks.list_deliveries(session, endpoint, limit=page.limit, before_id=page.after_id)
    return page.page_of(rows)
