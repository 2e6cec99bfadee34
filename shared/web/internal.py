"""The endpoint through which the relay delivers internal event batches to a service (not in the public API)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from shared.events.inbox import EventHandler, apply_batch, read_internal_batch
from shared.events.subscriptions import INTERNAL_PATH
from shared.web.db import Session


def internal_events_router(consumer: str, handle: EventHandler) -> APIRouter:
    """200 with a result per event: applied now, applied before (a redelivery changes nothing), failed, or
    held behind an earlier failure of the same case. The applied ones commit together."""
    router = APIRouter(include_in_schema=False)

    @router.post(INTERNAL_PATH)
    async def receive_events(request: Request, session: Session) -> dict[str, list[dict[str, str]]]:
        batch = read_internal_batch(consumer, await request.body(), request.headers)
        return {"results": await apply_batch(session, consumer, batch, handle)}

    return router
