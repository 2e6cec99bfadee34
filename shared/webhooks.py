"""Standard Webhooks signing and verification (https://www.standardwebhooks.com)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

__all__ = ["WebhookVerificationError", "encode_body", "sign", "signed_headers", "verify"]


def encode_body(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def _secret_bytes(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix("whsec_"))


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    to_sign = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_secret_bytes(secret), to_sign, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(
    secrets: str | Sequence[str], msg_id: str, body: bytes, now: datetime | None = None
) -> dict[str, str]:
    """The Standard Webhooks headers. Given several secrets (a rotation's grace period), the signature header
    carries one signature per secret, space-separated; a receiver accepts the message if any one matches."""
    timestamp = int((now or datetime.now(UTC)).timestamp())
    keys = [secrets] if isinstance(secrets, str) else list(secrets)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(sign(key, msg_id, timestamp, body) for key in keys),
        "content-type": "application/json",
    }


def verify(secret: str, body: bytes, headers: Mapping[str, str]) -> Any:
    """Checks signature and timestamp tolerance with the reference implementation; returns the parsed body."""
    return Webhook(secret).verify(body, dict(headers))
