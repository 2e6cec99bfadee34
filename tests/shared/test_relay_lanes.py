"""The relay against receivers that misbehave: a total deadline, a capped answer, separate lanes, leases that
are checked before an outcome is written, and per-case order with three relays at once."""

from __future__ import annotations

import asyncio
import json
import random
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select, update

from shared.db.models import Case, Jurisdiction, WebhookDelivery, WebhookEndpoint
from shared.events.outbox import emit
from shared.events.outcomes import record
from shared.events.relay import SECRET_PURPOSE, Relay
from shared.events.transport import Outcome, lane_client, post
from shared.security.keys import new_webhook_secret
from shared.security.pii import encrypt
from shared.security.urls import PinnedTarget
from shared.settings import get_settings
from tests.misbehaving import HUGE_BYTES, receiver


@pytest.fixture
def settings():
    settings = get_settings()
    names = (
        "webhook_allow_hosts",
        "webhook_retry_schedule",
        "webhook_timeout_seconds",
        "worker_poll_seconds",
    )
    saved = {name: getattr(settings, name) for name in names}
    settings.webhook_allow_hosts = "127.0.0.1,hooks.test"
    settings.webhook_retry_schedule = ",".join(["0"] * 30)
    settings.worker_poll_seconds = 0.1
    yield settings
    for name, value in saved.items():
        setattr(settings, name, value)


async def test_an_answer_trickled_byte_by_byte_is_cut_at_the_total_deadline():
    with receiver("trickle", interval=0.5) as slow:
        async with lane_client(connections=2, timeout=5) as client:
            started = time.monotonic()
            outcome = await post(client, PinnedTarget(slow.url), b"{}", {}, deadline=1.5, max_body=1024)
            elapsed = time.monotonic() - started
    # Every byte came well within the 5 s read timeout; only the total deadline ends the attempt.
    assert not outcome.ok and outcome.error is not None and outcome.error.startswith("timeout")
    assert elapsed < 3


async def test_a_receiver_that_never_answers_is_cut_at_the_total_deadline():
    with receiver("silent") as silent:
        async with lane_client(connections=2, timeout=60) as client:
            started = time.monotonic()
            outcome = await post(client, PinnedTarget(silent.url), b"{}", {}, deadline=1, max_body=1024)
            elapsed = time.monotonic() - started
    assert (outcome.ok, outcome.status_code) == (False, None) and elapsed < 2.5


async def test_a_50_mb_answer_is_read_only_up_to_the_cap():
    with receiver("huge") as huge:
        async with lane_client(connections=2, timeout=10) as client:
            outcome = await post(client, PinnedTarget(huge.url), b"{}", {}, deadline=10, max_body=4096)
        await asyncio.sleep(0.2)
        sent = huge.bytes_sent
    assert outcome.ok and len(outcome.body) == 4096
    # The relay dropped the connection: the server could push no more than its socket buffers held.
    assert sent < HUGE_BYTES / 2


async def _endpoint(session, jurisdiction, url: str, *, ordered: bool = False) -> WebhookEndpoint:
    endpoint = WebhookEndpoint(
        jurisdiction_id=jurisdiction.id,
        kind="integrator",
        url=url,
        event_types=[],
        secret_enc=encrypt(new_webhook_secret(), SECRET_PURPOSE),
        enabled=True,
        ordered=ordered,
    )
    session.add(endpoint)
    await session.flush()
    return endpoint


async def _jurisdiction(session) -> Jurisdiction:
    jurisdiction = Jurisdiction(code="GS", name="姑苏区")
    session.add(jurisdiction)
    await session.flush()
    return jurisdiction


async def _emit(session, jurisdiction, case_id: int | None, seq: int) -> None:
    await emit(
        session,
        type="case.progress",
        jurisdiction_id=jurisdiction.id,
        case_id=case_id,
        payload={"case_id": case_id, "seq": seq},
        occurred_at=datetime.now(UTC),
    )


async def _until(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await predicate():
            return True
        await asyncio.sleep(0.1)
    return False


async def test_a_hung_integrator_does_not_delay_another(engine, session, settings):
    settings.webhook_timeout_seconds = 60  # the silent endpoint's requests stay open for the whole test
    with receiver("silent") as silent, receiver("ok") as healthy:
        jurisdiction = await _jurisdiction(session)
        await _endpoint(session, jurisdiction, silent.url)
        await _endpoint(session, jurisdiction, healthy.url)
        for seq in range(40):
            await _emit(session, jurisdiction, None, seq)
        await session.commit()
        stop = asyncio.Event()
        async with Relay(engine, settings) as relay:
            running = asyncio.create_task(relay.run(stop))

            async def healthy_has_all() -> bool:
                return len(healthy.bodies) == 40

            delivered = await _until(healthy_has_all, 15)
            stop.set()
            for task in list(relay.integrators.tasks):  # else stopping waits out the silent one's deadline
                task.cancel()
            await running
    assert delivered, f"healthy endpoint got {len(healthy.bodies)} of 40"
    # The hung endpoint holds no more than its share of the lane.
    assert silent.requests <= settings.relay_endpoint_concurrency


async def test_an_outcome_is_not_written_over_a_lease_lost_to_another_relay(engine, session, settings):
    jurisdiction = await _jurisdiction(session)
    await _endpoint(session, jurisdiction, "http://hooks.test/minyi")
    await _emit(session, jurisdiction, None, 1)
    await session.commit()
    async with Relay(engine, settings) as slow, Relay(engine, settings) as other:
        await slow.fan_out()
        (mine,) = await slow.claim()
        # The slow relay's lease runs out; another relay takes the delivery over.
        await session.execute(
            update(WebhookDelivery).values(locked_until=datetime.now(UTC) - timedelta(seconds=1))
        )
        await session.commit()
        (theirs,) = await other.claim()
        assert theirs.delivery_id == mine.delivery_id and theirs.token != mine.token
        now = datetime.now(UTC)
        assert await record(engine, settings, [(mine, Outcome(True, 204, None))], now) == 0
        delivery = (await session.execute(select(WebhookDelivery))).scalar_one()
        await session.refresh(delivery)
        assert (delivery.status, delivery.attempts, delivery.claim_token) == ("pending", 0, theirs.token)
        assert await record(engine, settings, [(theirs, Outcome(False, 503, "busy"))], now) == 1
        await session.refresh(delivery)
        assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, 503)


async def test_three_relays_keep_each_cases_order(engine, session, settings):
    jurisdiction = await _jurisdiction(session)
    await _endpoint(session, jurisdiction, "http://hooks.test/minyi", ordered=True)
    cases = []
    for n in range(8):
        case = Case(
            jurisdiction_id=jurisdiction.id, tracking_no=f"GS-{n}", access_key_hash="x", description="abcdef"
        )
        session.add(case)
        cases.append(case)
    await session.flush()
    for seq in range(6):  # interleaved: every case's seq-th event, then the next round
        for case in cases:
            await _emit(session, jurisdiction, case.id, seq)
    await session.commit()
    seen: dict[int, list[int]] = {}
    rng = random.Random(5)

    async def flaky(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(rng.uniform(0, 0.02))
        if rng.random() < 0.25:
            return httpx.Response(503)
        data = json.loads(request.content)["data"]
        seen.setdefault(data["case_id"], []).append(data["seq"])
        return httpx.Response(204)

    stop = asyncio.Event()
    relays = [Relay(engine, settings, transport=httpx.MockTransport(flaky)) for _ in range(3)]
    runs = [asyncio.create_task(relay.run(stop)) for relay in relays]

    async def all_delivered() -> bool:
        pending = await session.scalar(
            select(func.count()).select_from(WebhookDelivery).where(WebhookDelivery.status != "succeeded")
        )
        total = await session.scalar(select(func.count()).select_from(WebhookDelivery))
        await session.commit()
        return pending == 0 and total == 48

    finished = await _until(all_delivered, 60)
    stop.set()
    await asyncio.gather(*runs)
    for relay in relays:
        await relay.aclose()
    assert finished
    assert seen == {case.id: list(range(6)) for case in cases}
