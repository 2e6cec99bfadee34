"""Events from the relay: our own signed subscription to case events (not part of the public API)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from services.supervision import events
from shared.events.inbox import claim, read_internal_event
from supervision_api.deps import Session

CONSUMER = "supervision"

router = APIRouter(include_in_schema=False)


@router.post("/internal/events")
async def receive_event(request: Request, session: Session) -> dict[str, str]:
    event = read_internal_event(CONSUMER, await request.body(), request.headers)
    if await claim(session, CONSUMER, event):
        await events.handle(session, event)
    return {"status": "ok"}
