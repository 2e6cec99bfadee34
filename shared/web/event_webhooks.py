"""The events a service's integrators may subscribe to, in its OpenAPI document (OpenAPI 3.1 ``webhooks``):
one entry per event type, its request body the envelope with that type's ``data`` (shared.events.catalogue)."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable

from fastapi import FastAPI
from pydantic import BaseModel

from shared.events.catalogue import CATALOGUE, envelope_model

SIGNATURE_NOTE = (
    "Signed as Standard Webhooks: headers webhook-id (the same for every retry), webhook-timestamp and "
    "webhook-signature (`v1,<base64 HMAC-SHA256>`; during a secret rotation's grace period two signatures, "
    "space-separated). Answer 2xx within the timeout; 410 disables the endpoint."
)


def _receiver(model: type[BaseModel]) -> Callable[..., Awaitable[None]]:
    """A stand-in for the integrator's receiver: only its signature (the body's model) matters."""

    async def receive(body: BaseModel) -> None:  # pragma: no cover (never called)
        return None

    parameter = inspect.Parameter("body", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=model)
    receive.__signature__ = inspect.Signature([parameter], return_annotation=None)  # type: ignore[attr-defined]
    return receive


def add_event_webhooks(app: FastAPI) -> None:
    """Documents every event type as a webhook of ``app``."""
    for event in CATALOGUE.values():
        app.webhooks.add_api_route(
            event.type,
            _receiver(envelope_model(event.type)),
            methods=["POST"],
            summary=event.description,
            description=SIGNATURE_NOTE,
            operation_id=f"webhook_{event.type.replace('.', '_')}",
            status_code=204,
        )
