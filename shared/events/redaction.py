"""Keeping our own secrets out of the delivery log.

A receiver's answer is kept as a short snippet (``last_error``) that its owner and the operators read. A
receiver may echo our request back, so before it is stored every secret of the endpoint, every signature we
sent and anything shaped like one of our API keys or webhook secrets is replaced by ``[redacted]``; the cut to
``SNIPPET_CHARS`` comes after that, so no secret is left half-visible at the cut.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

SNIPPET_CHARS = 200
REDACTED = "[redacted]"

# Our API keys (mk_<prefix>_<secret>), webhook secrets (whsec_<base64>) and Standard Webhooks signatures
# (v1,<base64>), also when a receiver escaped or percent-encoded them.
_SHAPES = re.compile(
    r"mk_[0-9a-fA-F]{6,}_[A-Za-z0-9_-]{8,}"
    r"|whsec_[A-Za-z0-9+/=\\%]+"
    r"|v1,[A-Za-z0-9+/=\\%]{16,}"
)


def _variants(value: str) -> set[str]:
    """The value as sent, and as JSON encoders that escape slashes write it."""
    return {value, value.replace("/", "\\/")}


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with each of ``secrets`` (longest first) and every secret-shaped token replaced."""
    values = {variant for secret in secrets if len(secret) >= 8 for variant in _variants(secret)}
    for value in sorted(values, key=len, reverse=True):
        text = text.replace(value, REDACTED)
    return _SHAPES.sub(REDACTED, text)


def snippet(text: str | None, secrets: Iterable[str] = ()) -> str | None:
    """What the delivery log keeps of an error or an answer: redacted, then at most ``SNIPPET_CHARS``."""
    if text is None:
        return None
    return redact(text, secrets)[:SNIPPET_CHARS]


def signature_parts(secrets: Iterable[str], signature_header: str) -> list[str]:
    """Everything of a request's signing an answer must not show: each secret (with and without its
    ``whsec_`` prefix), the signature header and each signature in it (with and without ``v1,``)."""
    parts: list[str] = []
    for secret in secrets:
        parts += [secret, secret.removeprefix("whsec_")]
    parts.append(signature_header)
    for signature in signature_header.split():
        parts += [signature, signature.partition(",")[2]]
    return [part for part in parts if part]
