"""Events from the relay: our own signed subscription to case events (not part of the public API)."""

from __future__ import annotations

from services.supervision import events
from shared.web.internal import internal_events_router

CONSUMER = "supervision"

router = internal_events_router(CONSUMER, events.handle)
