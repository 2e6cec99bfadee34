"""Encryption at rest and masking of personal data (submitter name and phone)."""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken

from shared.settings import get_settings


@lru_cache
def _fernet(master_secret: str, purpose: str) -> Fernet:
    key = hashlib.sha256(f"{purpose}:{master_secret}".encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def _cipher(purpose: str) -> Fernet:
    return _fernet(get_settings().secret_key, purpose)


def encrypt(value: str | None, purpose: str = "pii") -> bytes | None:
    if value is None or value == "":
        return None
    return _cipher(purpose).encrypt(value.encode())


def decrypt(token: bytes | None, purpose: str = "pii") -> str | None:
    if token is None:
        return None
    try:
        return _cipher(purpose).decrypt(bytes(token)).decode()
    except InvalidToken:
        return None


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
