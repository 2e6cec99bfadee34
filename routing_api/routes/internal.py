"""Events from the other services, delivered by the relay as signed Standard Webhooks requests."""

from __future__ import annotations

from fastapi import APIRouter, Request

from services.routing import events
from shared.events.inbox import claim, read_internal_event
from shared.events.subscriptions import INTERNAL_PATH
from shared.web.db import Session

router = APIRouter(include_in_schema=False)

CONSUMER = "routing"


@router.post(INTERNAL_PATH)
async def receive_event(request: Request, session: Session) -> dict[str, str]:
    """200 for an event applied now and for one applied before (a redelivery changes nothing)."""
    event = read_internal_event(CONSUMER, await request.body(), request.headers)
    if await claim(session, CONSUMER, event):
        await events.handle(session, event)
    return {"status": "ok"}
