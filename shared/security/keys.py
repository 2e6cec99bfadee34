"""API keys, citizens' access keys and webhook secrets: generated here, stored only as hashes or ciphertext."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

API_KEY_PREFIX = "mk"


@dataclass(frozen=True)
class NewApiKey:
    prefix: str
    secret: str  # the whole key, shown to its owner once
    key_hash: str


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def new_api_key() -> NewApiKey:
    prefix = secrets.token_hex(6)
    key = f"{API_KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    return NewApiKey(prefix=prefix, secret=key, key_hash=sha256_hex(key))


def api_key_prefix(key: str) -> str | None:
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != API_KEY_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1]


def hash_matches(value: str, expected_hash: str) -> bool:
    return hmac.compare_digest(sha256_hex(value), expected_hash)


def new_access_key() -> str:
    """The citizen's key to their own case page; long enough that tracking numbers need not be secret."""
    return secrets.token_urlsafe(16)


def new_intake_token() -> str:
    return secrets.token_urlsafe(12)


def new_webhook_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def derived_webhook_secret(master_secret: str, name: str) -> str:
    """A stable whsec_ secret for an internal subscription, computable by sender and receiver alike."""
    digest = hmac.new(master_secret.encode(), f"internal-webhook:{name}".encode(), hashlib.sha256).digest()
    return "whsec_" + base64.b64encode(digest).decode()


def derived_webhook_secrets(master_secrets: Iterable[str], name: str) -> list[str]:
    """The internal subscription's secret under each master secret, in order: the sender signs with the first,
    a receiver accepts any (a rotation of MINYI_SECRET_KEY, during which both sides may be restarted apart)."""
    return [derived_webhook_secret(master_secret, name) for master_secret in master_secrets]
