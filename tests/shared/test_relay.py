"""The relay: fan-out per subscription, signed delivery, retries with a stable webhook-id, leases, ordering."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select, update

from shared.db.models import Case, Jurisdiction, WebhookDelivery, WebhookEndpoint
from shared.events.outbox import emit
from shared.events.relay import SECRET_PURPOSE, Relay
from shared.security.keys import new_webhook_secret
from shared.security.pii import encrypt
from shared.settings import get_settings
from shared.webhooks import verify


class Recorder:
    """A webhook receiver that fails the first ``fail_first`` requests."""

    def __init__(self, fail_first: int = 0, status: int = 500) -> None:
        self.requests: list[httpx.Request] = []
        self.fail_first = fail_first
        self.status = status

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if len(self.requests) <= self.fail_first:
            return httpx.Response(self.status)
        return httpx.Response(204)


@pytest.fixture
def settings():
    settings = get_settings()
    saved = (settings.webhook_allow_hosts, settings.webhook_retry_schedule)
    settings.webhook_allow_hosts = "hooks.test"
    settings.webhook_retry_schedule = "0,0,0"
    yield settings
    settings.webhook_allow_hosts, settings.webhook_retry_schedule = saved


async def _setup(session, *, ordered: bool = False, event_types: list[str] | None = None):
    jurisdiction = Jurisdiction(code="GS", name="姑苏区")
    other = Jurisdiction(code="XC", name="相城区")
    session.add_all([jurisdiction, other])
    await session.flush()
    secret = new_webhook_secret()
    endpoint = WebhookEndpoint(
        jurisdiction_id=jurisdiction.id,
        kind="integrator",
        url="http://hooks.test/minyi",
        event_types=event_types or [],
        secret_enc=encrypt(secret, SECRET_PURPOSE),
        enabled=True,
        ordered=ordered,
    )
    session.add(endpoint)
    await session.flush()
    return jurisdiction, other, endpoint, secret


async def _emit(session, jurisdiction_id: int, type_: str = "case.received", case_id: int | None = None):
    await emit(
        session,
        type=type_,
        jurisdiction_id=jurisdiction_id,
        case_id=case_id,
        payload={"case_id": case_id, "tracking_no": "GS20261122-0001"},
        occurred_at=datetime.now(UTC),
    )


async def test_delivers_signed_and_retries_with_the_same_id(engine, session, settings):
    jurisdiction, other, _endpoint, secret = await _setup(session)
    await _emit(session, jurisdiction.id)
    await _emit(session, other.id)  # another tenant's event must not reach this endpoint
    await session.commit()
    receiver = Recorder(fail_first=1)
    async with Relay(engine, settings, transport=httpx.MockTransport(receiver)) as relay:
        assert await relay.fan_out() == 2
        assert await relay.deliver_due() == 1
        assert await relay.deliver_due() == 1  # the retry (schedule 0 s)
        assert await relay.deliver_due() == 0
    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    body = verify(secret, second.content, dict(second.headers))
    assert body["type"] == "case.received" and body["data"]["tracking_no"] == "GS20261122-0001"
    delivery = (await session.execute(select(WebhookDelivery))).scalars().one()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("succeeded", 2, 204)


async def test_gives_up_after_the_schedule_and_410_disables(engine, session, settings):
    jurisdiction, _, endpoint, _ = await _setup(session)
    endpoint_id, jurisdiction_id = endpoint.id, jurisdiction.id
    await _emit(session, jurisdiction_id)
    await session.commit()
    async with Relay(engine, settings, transport=httpx.MockTransport(Recorder(fail_first=99))) as relay:
        await relay.fan_out()
        for _ in range(6):
            await relay.deliver_due()
    delivery = (await session.execute(select(WebhookDelivery))).scalars().one()
    assert (delivery.status, delivery.attempts) == ("failed", 4)  # first try + three retries

    await _emit(session, jurisdiction_id)
    await session.commit()
    async with Relay(
        engine, settings, transport=httpx.MockTransport(Recorder(fail_first=99, status=410))
    ) as relay:
        await relay.fan_out()
        await relay.deliver_due()
    session.expire_all()
    refreshed = await session.get(WebhookEndpoint, endpoint_id)
    assert refreshed is not None and refreshed.enabled is False


async def test_expired_lease_is_claimed_again(engine, session, settings):
    jurisdiction, _, _, _ = await _setup(session)
    await _emit(session, jurisdiction.id)
    await session.commit()
    receiver = Recorder()
    async with Relay(engine, settings, transport=httpx.MockTransport(receiver)) as relay:
        await relay.fan_out()
        claimed = await relay.claim()  # a worker claims the delivery, then dies before sending
        assert len(claimed) == 1
        assert await relay.claim() == []  # the lease protects it meanwhile
        await session.execute(
            update(WebhookDelivery).values(locked_until=datetime.now(UTC) - timedelta(seconds=1))
        )
        await session.commit()
        assert await relay.deliver_due() == 1
    assert len(receiver.requests) == 1


async def test_ordered_endpoint_holds_later_events_of_a_case(engine, session, settings):
    jurisdiction, _, _, _ = await _setup(session, ordered=True)
    await _emit(session, jurisdiction.id, "case.received", case_id=None)  # no case: never held back
    case = Case(
        jurisdiction_id=jurisdiction.id, tracking_no="GS-1", access_key_hash="x", description="abcdef"
    )
    session.add(case)
    await session.flush()
    await _emit(session, jurisdiction.id, "case.received", case_id=case.id)
    await _emit(session, jurisdiction.id, "case.dispatched", case_id=case.id)
    await session.commit()
    receiver = Recorder(fail_first=2)
    async with Relay(engine, settings, transport=httpx.MockTransport(receiver)) as relay:
        await relay.fan_out()
        await relay.deliver_due()  # the case-less event and case.received go (and fail); dispatched waits
        assert len(receiver.requests) == 2
        await relay.deliver_due()  # case.received is retried and succeeds; dispatched still waited
        await relay.deliver_due()
    sent_types = [json.loads(r.content)["type"] for r in receiver.requests]
    last_received = max(i for i, t in enumerate(sent_types) if t == "case.received")
    assert sent_types.index("case.dispatched") > last_received


async def test_internal_subscriptions_never_give_up(engine, session, settings):
    jurisdiction, _, _, _ = await _setup(session)
    internal = WebhookEndpoint(
        name="routing",
        kind="internal",
        url="http://routing.internal/internal/events",
        event_types=[],
        enabled=True,
    )
    session.add(internal)
    await session.flush()
    internal_id = internal.id
    await _emit(session, jurisdiction.id)
    await session.commit()
    integrator, routing = Recorder(fail_first=99), Recorder(fail_first=6)

    def route(request: httpx.Request) -> httpx.Response:
        if request.url.host != "routing.internal":
            return integrator(request)
        answer = routing(request)
        if answer.status_code != 204:
            return answer
        events = json.loads(request.content)["events"]
        return httpx.Response(200, json={"results": [{"id": e["id"], "status": "applied"} for e in events]})

    async with Relay(engine, settings, transport=httpx.MockTransport(route)) as relay:
        await relay.fan_out()
        for _ in range(10):
            await relay.deliver_due()
    # The integrator gave up after 1 + 3 tries; the internal subscription kept going until it succeeded.
    assert (len(integrator.requests), len(routing.requests)) == (4, 7)
    rows = (
        (await session.execute(select(WebhookDelivery).order_by(WebhookDelivery.endpoint_id))).scalars().all()
    )
    by_endpoint = {d.endpoint_id: d for d in rows}
    assert (by_endpoint[internal_id].status, by_endpoint[internal_id].attempts) == ("succeeded", 7)
    assert [d.status for d in rows if d.endpoint_id != internal_id] == ["failed"]


def test_retry_delays_follow_the_schedule_and_cap_internal_ones(settings):
    from shared.events.relay import retry_delay

    schedule = [5, 300, 1800, 7200]
    assert [retry_delay(schedule, n, False, settings) for n in (1, 2, 3, 4)] == [5, 300, 1800, 7200]
    cap = settings.internal_retry_max_seconds
    assert [retry_delay(schedule, n, True, settings) for n in (1, 2, 9, 100)] == [5, cap, cap, cap]


async def test_a_rebound_name_is_not_followed(engine, session, settings, monkeypatch):
    """The relay sends to the address it checked; when the name later points at a private address, nothing
    is sent there."""
    from shared.security import urls

    jurisdiction, _, endpoint, _ = await _setup(session)
    endpoint.url = "http://hooks.example/minyi"  # not on the allow-list
    await _emit(session, jurisdiction.id)
    await session.commit()
    answers = iter([["93.184.216.34"], ["127.0.0.1"]])
    monkeypatch.setattr(urls, "_resolve", lambda host: next(answers))
    receiver = Recorder(fail_first=1)
    async with Relay(engine, settings, transport=httpx.MockTransport(receiver)) as relay:
        await relay.fan_out()
        await relay.deliver_due()  # resolves to a public address: sent there, answered 500
        await relay.deliver_due()  # the retry: the name now resolves to loopback, so it is refused
    (sent,) = receiver.requests
    assert sent.url.host == "93.184.216.34" and sent.headers["host"] == "hooks.example"
    delivery = (await session.execute(select(WebhookDelivery))).scalars().one()
    assert delivery.attempts == 2 and delivery.last_error.startswith("refused")
