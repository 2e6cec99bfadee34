"""Events from the other services, delivered by the relay in signed batches."""

from __future__ import annotations

from services.routing import events
from shared.web.internal import internal_events_router

CONSUMER = "routing"

router = internal_events_router(CONSUMER, events.handle)
