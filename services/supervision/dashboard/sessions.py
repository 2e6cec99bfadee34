"""The dashboard's sign-in sessions and the CSRF tokens of its forms.

A browser signs in once with an API key and from then on holds only a random session token (32 bytes) in a
cookie; the database keeps the token's SHA-256, never the token or the key. A session ends 12 hours after
sign-in, at sign-out, or as soon as its key is revoked (checked on every request); a session is no HMAC, so
rotating MINYI_SECRET_KEY leaves it alone. Every form carries a CSRF token: an HMAC of the session token (or,
before sign-in, of a random nonce in a cookie of its own) under the first of MINYI_SECRET_KEY's keys (any of
them is accepted), compared in constant time; a page of another site can read neither cookie, so it cannot
make the token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.supervision.dashboard.errors import KeyRejected, RoleNotAllowed
from shared.db.enums import Role
from shared.db.models import ApiKey, DashboardSession
from shared.security.apikeys import Principal, authenticate
from shared.security.keys import sha256_hex
from shared.settings import get_settings

SESSION_LIFETIME = timedelta(hours=12)
# last_seen_at is written at most this often: a page view is a read, not a write, most of the time.
TOUCH_EVERY = timedelta(minutes=1)
# Supervisors and admins see the jurisdiction, a department key its own dashboard; nobody else signs in.
DASHBOARD_ROLES = frozenset({Role.supervisor, Role.admin, Role.department})
TOKEN_BYTES = 32
# A cookie longer than any token we issue is not looked up at all.
MAX_TOKEN_CHARS = 128
MAX_KEY_CHARS = 200


@dataclass(frozen=True)
class SignedIn:
    token: str  # for the cookie only; never stored, logged or put in a URL
    principal: Principal
    expires_at: datetime


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def principal_of(key: ApiKey) -> Principal:
    return Principal(
        key_id=key.id,
        role=key.role,
        jurisdiction_id=key.jurisdiction_id,
        department_id=key.department_id,
        deputy_id=key.deputy_id,
    )


async def sign_in(session: AsyncSession, api_key: str, now: datetime) -> SignedIn:
    """A new session for a valid key of a dashboard role: 401 (KeyRejected) for an unknown or revoked key, 403
    (RoleNotAllowed) for a deputy's, a dispatcher's or an integrator's."""
    key = api_key.strip()
    # Our keys are short printable ASCII; anything else is no key (and never reaches the database).
    principal = None
    if 0 < len(key) <= MAX_KEY_CHARS and key.isascii() and key.isprintable():
        principal = await authenticate(session, key)
    if principal is None:
        raise KeyRejected()
    if principal.role not in DASHBOARD_ROLES:
        raise RoleNotAllowed()
    # Ended sessions nobody came back with go now: the table holds a few staff browsers, sign-ins are rare.
    await session.execute(delete(DashboardSession).where(DashboardSession.expires_at <= now))
    token = new_token()
    expires_at = now + SESSION_LIFETIME
    session.add(
        DashboardSession(
            token_hash=sha256_hex(token),
            api_key_id=principal.key_id,
            created_at=now,
            last_seen_at=now,
            expires_at=expires_at,
        )
    )
    await session.flush()
    return SignedIn(token=token, principal=principal, expires_at=expires_at)


async def current(session: AsyncSession, token: str | None, now: datetime) -> Principal | None:
    """The caller behind a session cookie, or None: no such session, ended, or its key revoked (an ended or
    revoked session's row is deleted on the way)."""
    if not token or len(token) > MAX_TOKEN_CHARS:
        return None
    found = (
        await session.execute(
            select(DashboardSession, ApiKey)
            .join(ApiKey, ApiKey.id == DashboardSession.api_key_id)
            .where(DashboardSession.token_hash == sha256_hex(token))
        )
    ).first()
    if found is None:
        return None
    row, key = found
    if key.revoked_at is not None or row.expires_at <= now or key.role not in DASHBOARD_ROLES:
        await session.delete(row)
        await session.flush()
        return None
    if row.last_seen_at <= now - TOUCH_EVERY:
        row.last_seen_at = now
        await session.flush()
    return principal_of(key)


async def sign_out(session: AsyncSession, token: str | None) -> None:
    if token and len(token) <= MAX_TOKEN_CHARS:
        await session.execute(
            delete(DashboardSession).where(DashboardSession.token_hash == sha256_hex(token))
        )


def _csrf(binding: str, secret: str | None = None) -> str:
    key = (secret if secret is not None else get_settings().secret_key).encode()
    return hmac.new(key, f"dashboard-csrf:{binding}".encode(), hashlib.sha256).hexdigest()


def csrf_for_session(token: str) -> str:
    """The CSRF token of a signed-in browser's forms (sign-out)."""
    return _csrf(f"session:{token}")


def csrf_for_nonce(nonce: str) -> str:
    """The CSRF token of the sign-in form, bound to the pre-sign-in cookie's nonce."""
    return _csrf(f"nonce:{nonce}")


def csrf_matches(expected: str, given: str | None) -> bool:
    """Constant-time comparison; any text (even non-ASCII) is compared as bytes, never raises."""
    if not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def _csrf_accepted(binding: str, given: str | None) -> bool:
    # Made with the first of MINYI_SECRET_KEY's keys; a form rendered before a rotation (made with what is now
    # an older key) is accepted too.
    return any(csrf_matches(_csrf(binding, secret), given) for secret in get_settings().secret_keys)


def session_csrf_accepted(token: str, given: str | None) -> bool:
    """Whether a signed-in browser's form carries its session's CSRF token (under any configured key)."""
    return _csrf_accepted(f"session:{token}", given)


def nonce_csrf_accepted(nonce: str, given: str | None) -> bool:
    """Whether the sign-in form carries its nonce's CSRF token (under any configured key)."""
    return _csrf_accepted(f"nonce:{nonce}", given)
