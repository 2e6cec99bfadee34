"""Submission keys of the HTML form: issued (signed) with each rendering, they make a double tap create one case.

A form-made case's access key is derived from its issued submission key, so a repeated POST of the same
form can lead again to the same receipt page. Only keys this server issued count: a key is a random nonce
and its HMAC, and nobody but the person holding the rendered form knows it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from shared.settings import get_settings


def _mac(message: str) -> bytes:
    return hmac.new(get_settings().secret_key.encode(), message.encode(), hashlib.sha256).digest()


def issue_submission_key() -> str:
    nonce = secrets.token_urlsafe(12)
    return f"{nonce}.{_mac(f'intake-form:{nonce}').hex()[:24]}"


def is_issued(key: str | None) -> bool:
    if not key or len(key) > 64 or not key.isascii() or key.count(".") != 1:
        return False
    nonce, signature = key.split(".")
    return hmac.compare_digest(_mac(f"intake-form:{nonce}").hex()[:24], signature)


def derived_access_key(intake_code_id: int, submission_key: str) -> str:
    digest = _mac(f"intake-access:{intake_code_id}:{submission_key}")
    return base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")
