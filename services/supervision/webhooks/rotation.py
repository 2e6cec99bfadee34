"""Secret rotation with a grace period: the new secret signs at once, the previous one keeps signing too (a
second signature in the same header) until the grace period ends, so a receiver can switch at its own pace."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from shared.db.models import WebhookEndpoint
from shared.events.relay import SECRET_PURPOSE
from shared.security.keys import new_webhook_secret
from shared.security.pii import encrypt
from shared.settings import get_settings


async def rotate_secret(
    session: AsyncSession, endpoint: WebhookEndpoint, *, grace_hours: float | None = None
) -> str:
    """A new secret for the next delivery attempt. The current one becomes the previous secret until now +
    ``grace_hours`` (default ``webhook_secret_grace_hours``; 0 ends it at once). Rotating again during a grace
    period ends the older secret's grace: only the newest previous secret is kept."""
    hours = get_settings().webhook_secret_grace_hours if grace_hours is None else grace_hours
    secret = new_webhook_secret()
    if hours > 0 and endpoint.secret_enc is not None:
        endpoint.previous_secret_enc = endpoint.secret_enc
        endpoint.previous_secret_expires_at = datetime.now(UTC) + timedelta(hours=hours)
    else:
        endpoint.previous_secret_enc = None
        endpoint.previous_secret_expires_at = None
    endpoint.secret_enc = encrypt(secret, SECRET_PURPOSE)
    await session.flush()
    return secret
