"""Internal event batches as the relay sends them to a service's /internal/events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.events.batches import batch_id, encode_batch, wire_event
from shared.security.keys import derived_webhook_secret
from shared.settings import get_settings
from shared.webhooks import signed_headers


def signed_batch(
    consumer: str, events: list[tuple[str, str, datetime, dict[str, Any]]]
) -> tuple[bytes, dict[str, str]]:
    """The body and headers of one batch of (message id, type, occurred at, data) events for ``consumer``."""
    body = encode_batch([wire_event(*event) for event in events])
    secret = derived_webhook_secret(get_settings().secret_key, consumer)
    return body, signed_headers(secret, batch_id(), body)
