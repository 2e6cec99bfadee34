"""Open311 tokens without a column: a token is the case's id and an HMAC of it under MINYI_SECRET_KEY, so
only this server can issue one and it needs nothing stored. We open cases synchronously, so the answer to a
POST already carries the service_request_id; the token is there for clients that poll tokens/{token}."""

from __future__ import annotations

import hashlib
import hmac
import re

from shared.db.ids import MAX_ID
from shared.settings import get_settings

_TOKEN = re.compile(r"^([1-9][0-9]{0,18})\.([0-9a-f]{32})$")


def _signature(secret: str, case_id: int) -> str:
    return hmac.new(secret.encode(), f"open311-token:{case_id}".encode(), hashlib.sha256).hexdigest()[:32]


def issue(case_id: int) -> str:
    return f"{case_id}.{_signature(get_settings().secret_key, case_id)}"


def case_id_of(token: str) -> int | None:
    """The case a token names, or None when it is not a token this server issued."""
    match = _TOKEN.match(token)
    if match is None:
        return None
    case_id = int(match.group(1))
    if case_id > MAX_ID:
        return None
    # Signed with the first of MINYI_SECRET_KEY's keys; during a rotation every listed key verifies.
    secrets = get_settings().secret_keys
    if any(hmac.compare_digest(_signature(secret, case_id), match.group(2)) for secret in secrets):
        return case_id
    return None
