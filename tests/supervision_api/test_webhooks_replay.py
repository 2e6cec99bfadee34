"""Sending events again: one delivery (resend) and every event of a window (recover), with the same webhook-id,
in outbox order, within the caller's scope."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.supervision.webhooks import replay
from shared.db.models import WebhookDelivery
from shared.events.outbox import emit
from shared.events.relay import Relay
from shared.settings import Settings
from tests.factories import World, add_key, build_world
from tests.supervision_api.arrange import new_case
from tests.webhook_receiver import receiving


@pytest.fixture
def local_hooks(local_hooks: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    # One request at a time per endpoint: the order of arrival is the order of sending.
    monkeypatch.setattr(local_hooks, "relay_endpoint_concurrency", 1)
    return local_hooks


async def _relay_until_idle(engine: AsyncEngine, settings: Settings) -> None:
    async with Relay(engine, settings) as relay:
        await relay.fan_out()
        for _ in range(50):
            if not await relay.deliver_due():
                return


async def _deliveries(session: AsyncSession, endpoint_id: int) -> list[WebhookDelivery]:
    rows = await session.execute(
        select(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint_id)
        .order_by(WebhookDelivery.id)
        .execution_options(populate_existing=True)
    )
    return list(rows.scalars())


async def test_resend_sends_a_finished_delivery_again_with_the_same_webhook_id(
    engine: AsyncEngine,
    client: httpx.AsyncClient,
    session: AsyncSession,
    world: World,
    local_hooks: Settings,
) -> None:
    integrator = world.auth("integrator")
    with receiving() as hook:
        created = (await client.post("/v1/webhooks", json={"url": hook.url}, headers=integrator)).json()
        await new_case(session, world)
        await session.commit()
        await _relay_until_idle(engine, local_hooks)
        (delivery,) = await _deliveries(session, created["id"])
        assert delivery.status == "succeeded"

        # Outside the caller's scope: another integrator key, another jurisdiction, a role without webhooks.
        other_key = await add_key(session, world.jurisdiction.id, "integrator")
        other = await build_world(session, code="XC", name="相城区")
        await session.commit()
        path = f"/v1/deliveries/{delivery.id}/resend"
        for headers in ({"Authorization": f"Bearer {other_key}"}, other.auth("admin")):
            assert (await client.post(path, headers=headers)).status_code == 404
        assert (await client.post(path, headers=world.auth("supervisor"))).status_code == 403
        assert (await client.post("/v1/deliveries/999999/resend", headers=integrator)).status_code == 404

        resent = await client.post(path, headers=integrator)
        assert resent.status_code == 200
        body = resent.json()
        assert (body["id"], body["status"], body["attempts"], body["delivered_at"]) == (
            delivery.id,
            "pending",
            0,
            None,
        )
        again = await client.post(path, headers=world.auth("admin"))
        assert again.status_code == 409 and again.json()["error"]["code"] == "delivery_pending"

        await _relay_until_idle(engine, local_hooks)
        first, second = hook.requests
        assert first.headers["webhook-id"] == second.headers["webhook-id"] == body["webhook_id"]
        (delivery,) = await _deliveries(session, created["id"])
        assert (delivery.status, delivery.attempts) == ("succeeded", 1)

        # A disabled endpoint sends nothing: enable it first.
        await client.patch(f"/v1/webhooks/{created['id']}", json={"enabled": False}, headers=integrator)
        disabled = await client.post(path, headers=integrator)
        assert disabled.status_code == 409 and disabled.json()["error"]["code"] == "webhook_disabled"


async def test_recover_queues_every_event_of_the_window_the_endpoint_hears_in_outbox_order(
    engine: AsyncEngine,
    client: httpx.AsyncClient,
    session: AsyncSession,
    world: World,
    local_hooks: Settings,
) -> None:
    integrator = world.auth("integrator")
    other = await build_world(session, code="XC", name="相城区")
    await session.commit()
    start = datetime.now(UTC) - timedelta(seconds=1)
    with receiving() as hook:
        created = (
            await client.post(
                "/v1/webhooks",
                json={"url": hook.url, "event_types": ["case.received", "reception.recorded"]},
                headers=integrator,
            )
        ).json()
        path = f"/v1/webhooks/{created['id']}"
        first = await new_case(session, world)
        await session.commit()
        await _relay_until_idle(engine, local_hooks)
        assert len(hook.requests) == 1
        middle = datetime.now(UTC)

        # While the endpoint is disabled no delivery is made at all.
        await client.patch(path, json={"enabled": False}, headers=integrator)
        second = await new_case(session, world)
        await emit(
            session,
            type="reception.recorded",
            jurisdiction_id=world.jurisdiction.id,
            case_id=None,
            payload={"reception_id": 1},
            occurred_at=datetime.now(UTC),
        )
        third = await new_case(session, world)
        await new_case(session, other)  # another jurisdiction's
        await session.commit()
        expected = [first.id, second.id, None, third.id]
        await _relay_until_idle(engine, local_hooks)
        assert len(hook.requests) == 1 and len(await _deliveries(session, created["id"])) == 1

        refused = await client.post(f"{path}/recover", json={"since": start.isoformat()}, headers=integrator)
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "webhook_disabled"
        await client.patch(path, json={"enabled": True}, headers=integrator)
        answer = await client.post(f"{path}/recover", json={"since": start.isoformat()}, headers=integrator)
        assert answer.status_code == 200
        assert answer.json() == {"requeued": 4, "already_pending": 0, "has_more": False, "next_since": None}
        # Asked again before the relay ran: nothing more to queue.
        twice = await client.post(f"{path}/recover", json={"since": start.isoformat()}, headers=integrator)
        assert (twice.json()["requeued"], twice.json()["already_pending"]) == (0, 4)

        await _relay_until_idle(engine, local_hooks)
        recovered = hook.requests[1:]
        assert [r.json()["data"].get("case_id") for r in recovered] == expected
        assert recovered[0].headers["webhook-id"] == hook.requests[0].headers["webhook-id"]
        assert {d.status for d in await _deliveries(session, created["id"])} == {"succeeded"}

        # A window that ends before the later events holds only the first; until defaults to now.
        narrow = await client.post(
            f"{path}/recover",
            json={"since": start.isoformat(), "until": middle.isoformat()},
            headers=world.auth("admin"),
        )
        assert narrow.json()["requeued"] == 1


async def test_recover_goes_on_in_calls_of_bounded_size_and_checks_its_window(
    engine: AsyncEngine,
    client: httpx.AsyncClient,
    session: AsyncSession,
    world: World,
    local_hooks: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    integrator = world.auth("integrator")
    created = (
        await client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/x"}, headers=integrator)
    ).json()
    path = f"/v1/webhooks/{created['id']}/recover"
    start = datetime.now(UTC) - timedelta(seconds=1)
    for _ in range(3):
        await new_case(session, world)
        await session.commit()
    monkeypatch.setattr(replay, "RECOVER_LIMIT", 2)
    part = (await client.post(path, json={"since": start.isoformat()}, headers=integrator)).json()
    assert part["requeued"] == 2 and part["has_more"] is True
    rest = (await client.post(path, json={"since": part["next_since"]}, headers=integrator)).json()
    assert (rest["requeued"], rest["has_more"], rest["next_since"]) == (1, False, None)

    now = datetime.now(UTC)
    days = local_hooks.retention_event_days
    for body, message in (
        ({"since": (now + timedelta(hours=1)).isoformat()}, "起始时间须早于结束时间（结束时间默认为现在）"),
        (
            {"since": now.isoformat(), "until": (now - timedelta(hours=1)).isoformat()},
            "起始时间须早于结束时间（结束时间默认为现在）",
        ),
        (
            {"since": (now - timedelta(days=days, hours=1)).isoformat()},
            f"补发的时间窗口最长 {days} 天（事件的保留期限），请分段补发",
        ),
    ):
        refused = await client.post(path, json=body, headers=integrator)
        assert refused.status_code == 422, body
        assert refused.json()["error"]["details"] == [{"field": "since", "message": message}]
    naive = await client.post(path, json={"since": "2026-11-01T00:00:00"}, headers=integrator)
    assert naive.status_code == 422
