"""The wire format of internal deliveries: one signed request carries a batch of events, and the answer says
what became of each.

Request body: ``{"events": [{"id": "msg_...", "type", "timestamp", "data"}, ...]}`` in outbox order, signed
like any Standard Webhooks message (its webhook-id names the batch; each event keeps its own id, on which
the receiver deduplicates). Answer: ``{"results": [{"id", "status", "error"?}]}`` where status is one of
``applied``, ``duplicate`` (applied before), ``failed`` or ``held`` (not tried: an earlier event of the same
case failed in this batch).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from shared.webhooks import encode_body

DONE = frozenset({"applied", "duplicate"})


def batch_id() -> str:
    return f"batch_{uuid.uuid4().hex}"


def wire_event(
    message_id: str,
    event_type: str,
    occurred_at: datetime,
    data: dict[str, Any],
    request_id: str | None = None,
) -> dict[str, Any]:
    event = {
        "id": message_id,
        "type": event_type,
        "timestamp": occurred_at.astimezone(UTC).isoformat(),
        "data": data,
    }
    if request_id:
        event["request_id"] = request_id  # the request that caused the event, for the receiver's logs
    return event


def encode_batch(events: Sequence[dict[str, Any]]) -> bytes:
    return encode_body({"events": list(events)})


def read_results(body: bytes) -> dict[str, tuple[str, str | None]]:
    """Each event id's status and error from a receiver's answer; an unreadable answer gives nothing."""
    try:
        results = json.loads(body)["results"]
        return {str(r["id"]): (str(r["status"]), r.get("error")) for r in results}
    except (ValueError, KeyError, TypeError):
        return {}
