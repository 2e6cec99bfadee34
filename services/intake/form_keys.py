"""Submission keys of the HTML form: issued (signed) with each rendering, they make a double tap create one case.

A form-made case's access key is derived from its issued submission key, so a repeated POST of the same
form can lead again to the same receipt page. Only keys this server issued count: a key is a random nonce
and its HMAC, and nobody but the person holding the rendered form knows it.

Keys are signed with the first of MINYI_SECRET_KEY's keys and accepted under any of them; the access key is
derived under the key that signed the form, so a form rendered before a rotation and posted (twice) after it
still leads to one receipt.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from shared.settings import get_settings


def _mac(secret: str, message: str) -> bytes:
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()


def _signature(secret: str, nonce: str) -> str:
    return _mac(secret, f"intake-form:{nonce}").hex()[:24]


def issue_submission_key() -> str:
    nonce = secrets.token_urlsafe(12)
    return f"{nonce}.{_signature(get_settings().secret_key, nonce)}"


def _issuer(key: str | None) -> str | None:
    """The configured master secret that signed this submission key, or None (not one of ours)."""
    if not key or len(key) > 64 or not key.isascii() or key.count(".") != 1:
        return None
    nonce, signature = key.split(".")
    for secret in get_settings().secret_keys:
        if hmac.compare_digest(_signature(secret, nonce), signature):
            return secret
    return None


def is_issued(key: str | None) -> bool:
    return _issuer(key) is not None


def derived_access_key(intake_code_id: int, submission_key: str) -> str:
    secret = _issuer(submission_key) or get_settings().secret_key
    digest = _mac(secret, f"intake-access:{intake_code_id}:{submission_key}")
    return base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")
