"""Encryption at rest (submitter name, phone and e-mail; integrators' webhook secrets) and masking of personal
data.

Each purpose has its own Fernet key, derived from a master secret. MINYI_SECRET_KEY may list several master
secrets during a rotation: the first encrypts, every one decrypts (MultiFernet), and `minyi secrets
reencrypt` moves stored values to the first (shared.security.reencrypt)."""

from __future__ import annotations

import base64
import hashlib
from enum import Enum
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from shared.settings import get_settings


@lru_cache
def _fernet(master_secret: str, purpose: str) -> Fernet:
    key = hashlib.sha256(f"{purpose}:{master_secret}".encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


@lru_cache
def _multi(master_secrets: tuple[str, ...], purpose: str) -> MultiFernet:
    return MultiFernet([_fernet(secret, purpose) for secret in master_secrets])


def _cipher(purpose: str) -> MultiFernet:
    return _multi(get_settings().secret_keys, purpose)


def encrypt(value: str | None, purpose: str = "pii") -> bytes | None:
    if value is None or value == "":
        return None
    return _cipher(purpose).encrypt(value.encode())


def decrypt(token: bytes | None, purpose: str = "pii") -> str | None:
    """The plain text, or None when the token is None or no configured key opens it."""
    if token is None:
        return None
    try:
        return _cipher(purpose).decrypt(bytes(token)).decode()
    except InvalidToken:
        return None


class KeyState(Enum):
    current = "current"  # encrypted with the first key
    older = "older"  # readable, but with a later key of the list
    unreadable = "unreadable"  # no configured key opens it


class Rotation:
    """Re-encryption under the configured keys of one purpose, read once (a run over millions of values)."""

    def __init__(self, purpose: str) -> None:
        self._fernets = [_fernet(secret, purpose) for secret in get_settings().secret_keys]

    def state(self, token: bytes) -> tuple[KeyState, bytes | None]:
        """Which key the token is under, and its plain text when an older key opened it."""
        for position, fernet in enumerate(self._fernets):
            try:
                plain = fernet.decrypt(token)
            except InvalidToken:
                continue
            return (KeyState.current, None) if position == 0 else (KeyState.older, plain)
        return KeyState.unreadable, None

    def encrypt(self, plain: bytes) -> bytes:
        return self._fernets[0].encrypt(plain)


def key_state(token: bytes, purpose: str) -> KeyState:
    """Which of the configured keys a stored token was encrypted with (as far as re-encryption cares)."""
    return Rotation(purpose).state(bytes(token))[0]


def rotate(token: bytes, purpose: str) -> bytes:
    """The same plain text encrypted with the first key (MultiFernet.rotate); raises InvalidToken when no
    configured key opens it."""
    return _cipher(purpose).rotate(bytes(token))


def mask_phone(phone: str | None) -> str | None:
    """138****5678; short numbers keep only their last two digits."""
    if not phone:
        return None
    digits = phone.strip()
    # Three plus four visible digits hide only four of a mobile's eleven; a 7- or 8-digit local number
    # shown that way would be all but given away.
    if len(digits) >= 11:
        return digits[:3] + "*" * 4 + digits[-4:]
    return "*" * max(len(digits) - 2, 1) + digits[-2:]


def mask_name(name: str | None) -> str | None:
    """张** / 欧阳** : the family name's first character and stars."""
    if not name:
        return None
    stripped = name.strip()
    return stripped[0] + "*" * max(len(stripped) - 1, 1)
