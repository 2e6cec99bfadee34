"""Secret rotation with a grace period: both secrets sign until it ends, then only the new one, end to end
through the relay to a real receiver on loopback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from standardwebhooks.webhooks import WebhookVerificationError

from shared.db.models import WebhookEndpoint
from shared.settings import Settings
from shared.webhooks import verify
from tests.factories import World
from tests.supervision_api.arrange import new_case
from tests.webhook_receiver import Received, receiving, relay_once


async def _deliver_one_case(
    session: AsyncSession, engine: AsyncEngine, world: World, settings: Settings
) -> None:
    await new_case(session, world)
    await session.commit()
    await relay_once(engine, settings)


def _verifies(secret: str, request: Received) -> bool:
    try:
        verify(secret, request.body, request.headers)
    except WebhookVerificationError:
        return False
    return True


async def test_during_the_grace_both_secrets_verify_and_after_it_only_the_new_one(
    engine: AsyncEngine,
    client: httpx.AsyncClient,
    session: AsyncSession,
    world: World,
    local_hooks: Settings,
) -> None:
    integrator = world.auth("integrator")
    with receiving() as hook:
        created = (
            await client.post(
                "/v1/webhooks", json={"url": hook.url, "event_types": ["case.received"]}, headers=integrator
            )
        ).json()
        old = created["secret"]
        assert created["previous_secret_expires_at"] is None
        before = datetime.now(UTC)
        rotated = await client.post(
            f"/v1/webhooks/{created['id']}/rotate-secret", json={"grace_hours": 2}, headers=integrator
        )
        assert rotated.status_code == 200
        new = rotated.json()["secret"]
        expires = datetime.fromisoformat(rotated.json()["previous_secret_expires_at"])
        assert new != old and new.startswith("whsec_")
        assert before + timedelta(hours=2) <= expires <= datetime.now(UTC) + timedelta(hours=2)
        shown = (await client.get(f"/v1/webhooks/{created['id']}", headers=integrator)).json()
        assert datetime.fromisoformat(shown["previous_secret_expires_at"]) == expires

        await _deliver_one_case(session, engine, world, local_hooks)
        (during,) = hook.requests
        assert len(during.headers["webhook-signature"].split()) == 2
        assert _verifies(old, during) and _verifies(new, during)

        # The grace period ends: the previous secret no longer signs.
        await session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == created["id"])
            .values(previous_secret_expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
        await session.commit()
        await _deliver_one_case(session, engine, world, local_hooks)
        after = hook.requests[1]
        assert len(after.headers["webhook-signature"].split()) == 1
        assert _verifies(new, after) and not _verifies(old, after)


async def test_grace_defaults_to_the_setting_zero_ends_it_at_once_and_is_bounded(
    engine: AsyncEngine,
    client: httpx.AsyncClient,
    session: AsyncSession,
    world: World,
    local_hooks: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    integrator = world.auth("integrator")
    monkeypatch.setattr(local_hooks, "webhook_secret_grace_hours", 5)
    with receiving() as hook:
        created = (await client.post("/v1/webhooks", json={"url": hook.url}, headers=integrator)).json()
        path = f"/v1/webhooks/{created['id']}/rotate-secret"
        default = (await client.post(path, headers=integrator)).json()
        expires = datetime.fromisoformat(default["previous_secret_expires_at"])
        assert timedelta(hours=4, minutes=59) < expires - datetime.now(UTC) <= timedelta(hours=5)

        # Rotating again ends the first secret's grace: the second one is the previous secret now.
        at_once = await client.post(path, json={"grace_hours": 0}, headers=integrator)
        assert at_once.json()["previous_secret_expires_at"] is None
        await _deliver_one_case(session, engine, world, local_hooks)
        (request,) = hook.requests
        assert _verifies(at_once.json()["secret"], request)
        assert not _verifies(default["secret"], request) and not _verifies(created["secret"], request)

    for wrong in ({"grace_hours": 169}, {"grace_hours": -1}, {"grace": 1}):
        refused = await client.post(path, json=wrong, headers=integrator)
        assert refused.status_code == 422, wrong
