"""Prometheus metrics: the services' request metrics and /metrics, the worker's exporter, its database gauges
(read through indexes), and the counters of deliveries, scheduled jobs and abuse limits."""

from __future__ import annotations

import asyncio
import socket
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import APIRouter
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text, update

from services.worker import run_job, run_metrics
from shared import ratelimit
from shared.db.models import Jurisdiction, WebhookDelivery, WebhookEndpoint
from shared.errors import NotFound
from shared.events.outbox import emit
from shared.events.relay import SECRET_PURPOSE, Relay
from shared.observability import db_gauges
from shared.observability.exporter import start_exporter
from shared.ratelimit import Limit, Rate
from shared.security.keys import new_webhook_secret
from shared.security.pii import encrypt
from shared.settings import get_settings
from shared.web.app import create_service_app
from tests.asgi import client_for, running

router = APIRouter()


@router.get("/things/{thing_id}")
async def get_thing(thing_id: str) -> dict[str, str]:
    if thing_id == "missing":
        raise NotFound("没有这个东西")
    return {"id": thing_id}


def _app(engine):
    return create_service_app(service="obs", title="t", description="t", routers=[router], engine=engine)


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def families(body: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Samples by name from a scrape."""
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(body):
        for s in family.samples:
            found.setdefault(s.name, []).append((s.labels, s.value))
    return found


# --- the services -------------------------------------------------------------------------------------------


async def test_requests_are_counted_by_route_template_never_by_path(engine) -> None:
    app = _app(engine)
    route = {"service": "obs", "method": "GET", "route": "/things/{thing_id}"}
    before_ok = sample("minyi_http_requests_total", **route, status="200")
    before_404 = sample("minyi_http_requests_total", **route, status="404")
    before_timed = sample("minyi_http_request_duration_seconds_count", **route)
    before_unmatched = sample(
        "minyi_http_requests_total", service="obs", method="GET", route="unmatched", status="404"
    )
    async with running(app), client_for(app) as client:
        for thing in ("GS20261122-0001", "GS20261122-0002", "missing"):
            await client.get(f"/things/{thing}")
        assert (await client.get("/nowhere/GS20261122-0003")).status_code == 404
        scrape = await client.get("/metrics")
        again = await client.get("/metrics")
    assert sample("minyi_http_requests_total", **route, status="200") == before_ok + 2
    assert sample("minyi_http_requests_total", **route, status="404") == before_404 + 1
    assert sample("minyi_http_request_duration_seconds_count", **route) == before_timed + 3
    unmatched = sample(
        "minyi_http_requests_total", service="obs", method="GET", route="unmatched", status="404"
    )
    assert unmatched == before_unmatched + 1
    assert scrape.status_code == again.status_code == 200
    assert scrape.headers["content-type"].startswith("text/plain")
    # No series names a path, a tracking number, or the scrapes themselves.
    assert "GS20261122" not in again.text
    routes = {labels["route"] for labels, _ in families(again.text)["minyi_http_requests_total"]}
    assert "/things/{thing_id}" in routes and "/metrics" not in routes
    assert not any(route.startswith("/nowhere") for route in routes)


async def test_metrics_is_not_in_the_openapi_schema(engine) -> None:
    app = _app(engine)
    async with running(app), client_for(app) as client:
        paths = (await client.get("/openapi.json")).json()["paths"]
    assert "/metrics" not in paths and "/things/{thing_id}" in paths


async def test_metrics_token_is_required_when_set(engine, monkeypatch) -> None:
    monkeypatch.setattr(get_settings(), "metrics_token", "scrape-secret-1234")
    app = _app(engine)
    async with running(app), client_for(app) as client:
        refused = await client.get("/metrics")
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
        allowed = await client.get("/metrics", headers={"Authorization": "Bearer scrape-secret-1234"})
    assert refused.status_code == wrong.status_code == 401
    assert refused.json() == {
        "error": {"code": "unauthorized", "message": "缺少或无效的监控访问令牌", "details": []}
    }
    assert refused.headers["www-authenticate"] == "Bearer"
    assert allowed.status_code == 200 and "minyi_http_requests_total" in allowed.text


async def test_request_ids_are_echoed_when_sane_and_replaced_otherwise(engine) -> None:
    app = _app(engine)
    async with running(app), client_for(app) as client:
        kept = await client.get("/things/1", headers={"X-Request-ID": "trace-abc.1_2"})
        odd = await client.get("/things/1", headers={"X-Request-ID": "trace with spaces"})
        long = await client.get("/things/1", headers={"X-Request-ID": "x" * 65})
        none = await client.get("/things/1")
    assert kept.headers["x-request-id"] == "trace-abc.1_2"
    for response in (odd, long, none):
        assert len(response.headers["x-request-id"]) == 16  # a fresh one
    assert odd.headers["x-request-id"] != long.headers["x-request-id"]


# --- counters in the domain's paths ---------------------------------------------------------------------------


async def test_rate_limit_checks_and_refusals_are_counted_by_limit_name(engine) -> None:
    limits = [Limit("obs-test:addr:203.0.113.7", Rate(1, 600)), Limit("obs-test:code:9", Rate(5, 600))]
    before = {
        name: (
            sample("minyi_rate_limit_checks_total", limit=name),
            sample("minyi_rate_limit_refusals_total", limit=name),
        )
        for name in ("obs-test:addr", "obs-test:code")
    }
    async with engine.connect() as connection:
        assert await ratelimit.hit(connection, limits) is None
        assert await ratelimit.hit(connection, limits) is not None  # the address's second: refused
        assert await ratelimit.exhausted(connection, limits) is not None
        await connection.rollback()
    checks, refusals = before["obs-test:addr"]
    assert sample("minyi_rate_limit_checks_total", limit="obs-test:addr") == checks + 3
    assert sample("minyi_rate_limit_refusals_total", limit="obs-test:addr") == refusals + 2
    checks, refusals = before["obs-test:code"]
    assert sample("minyi_rate_limit_checks_total", limit="obs-test:code") == checks + 3
    assert sample("minyi_rate_limit_refusals_total", limit="obs-test:code") == refusals
    assert "203.0.113.7" not in generate_latest(REGISTRY).decode()


@pytest.fixture
def relay_settings(monkeypatch):
    settings = get_settings()
    monkeypatch.setattr(settings, "webhook_allow_hosts", "hooks.test")
    monkeypatch.setattr(settings, "webhook_retry_schedule", "0")
    return settings


async def _integrator(session, jurisdiction_id: int, *, enabled: bool = True) -> WebhookEndpoint:
    endpoint = WebhookEndpoint(
        jurisdiction_id=jurisdiction_id,
        kind="integrator",
        url="http://hooks.test/minyi",
        event_types=[],
        secret_enc=encrypt(new_webhook_secret(), SECRET_PURPOSE),
        enabled=enabled,
    )
    session.add(endpoint)
    await session.flush()
    return endpoint


async def _emit(session, jurisdiction_id: int) -> None:
    await emit(
        session,
        type="case.received",
        jurisdiction_id=jurisdiction_id,
        case_id=None,
        payload={"case_id": None},
        occurred_at=datetime.now(UTC),
    )


async def test_delivery_attempts_are_counted_by_lane_and_outcome(engine, session, relay_settings) -> None:
    jurisdiction = Jurisdiction(code="GS", name="姑苏区")
    session.add(jurisdiction)
    await session.flush()
    await _integrator(session, jurisdiction.id)
    await _emit(session, jurisdiction.id)  # fails, is retried, succeeds
    await _emit(session, jurisdiction.id)  # fails twice: given up after the one retry of the schedule
    await session.commit()
    answers = iter([500, 500, 204, 500])

    def receiver(request: httpx.Request) -> httpx.Response:
        return httpx.Response(next(answers))

    outcomes = ("succeeded", "retry", "failed")
    before = {o: sample("minyi_delivery_attempts_total", lane="integrators", outcome=o) for o in outcomes}
    async with Relay(engine, relay_settings, transport=httpx.MockTransport(receiver)) as relay:
        await relay.fan_out()
        for _ in range(3):
            await relay.deliver_due()
    after = {o: sample("minyi_delivery_attempts_total", lane="integrators", outcome=o) for o in outcomes}
    assert {o: after[o] - before[o] for o in outcomes} == {"succeeded": 1, "retry": 2, "failed": 1}


async def test_scheduled_jobs_are_counted_with_their_last_success() -> None:
    async def works() -> int:
        return 7

    async def breaks() -> int:
        raise RuntimeError("boom")

    ok, failed = (sample("minyi_job_runs_total", job="obs_job", result=r) for r in ("ok", "failed"))
    started = time.time()
    assert await run_job("obs_job", works) == 7
    assert await run_job("obs_job", breaks) is None
    assert sample("minyi_job_runs_total", job="obs_job", result="ok") == ok + 1
    assert sample("minyi_job_runs_total", job="obs_job", result="failed") == failed + 1
    assert sample("minyi_job_last_success_timestamp_seconds", job="obs_job") >= started


# --- the worker's database gauges --------------------------------------------------------------------------


async def test_gauges_read_backlog_pending_and_the_oldest_due(engine, session) -> None:
    jurisdiction = Jurisdiction(code="GS", name="姑苏区")
    session.add(jurisdiction)
    await session.flush()
    live = await _integrator(session, jurisdiction.id)
    off = await _integrator(session, jurisdiction.id)
    internal = WebhookEndpoint(
        jurisdiction_id=jurisdiction.id,
        kind="internal",
        name="routing",
        url="http://routing.test",
        event_types=[],
    )
    session.add(internal)
    await session.flush()
    for _ in range(3):
        await _emit(session, jurisdiction.id)
    await session.commit()
    async with Relay(engine, get_settings()) as relay:
        assert await relay.fan_out() == 3  # 3 events, a delivery to each endpoint
    for _ in range(2):
        await _emit(session, jurisdiction.id)  # not fanned out yet
    now = datetime.now(UTC)
    deliveries = WebhookDelivery.__table__
    # Due for 40 s at the live endpoint, 600 s at the disabled one (never sent: not counted as due),
    # not due yet at the internal one, which was created long ago (stuck).
    await session.execute(
        update(deliveries)
        .where(deliveries.c.endpoint_id == live.id)
        .values(next_attempt_at=now - timedelta(seconds=40))
    )
    await session.execute(
        update(deliveries)
        .where(deliveries.c.endpoint_id == off.id)
        .values(next_attempt_at=now - timedelta(seconds=600))
    )
    await session.execute(
        update(deliveries)
        .where(deliveries.c.endpoint_id == internal.id)
        .values(next_attempt_at=now + timedelta(seconds=30), created_at=now - timedelta(hours=2))
    )
    await session.execute(update(WebhookEndpoint).where(WebhookEndpoint.id == off.id).values(enabled=False))
    await session.commit()

    figures = await db_gauges.refresh(engine, stuck_seconds=600)
    assert figures.outbox_backlog == 2
    assert figures.pending == {"internal": 3, "integrators": 6}
    assert 40 <= figures.oldest_due_seconds["integrators"] < 60
    assert figures.oldest_due_seconds["internal"] == 0
    assert figures.stuck_internal == 3
    assert sample("minyi_outbox_backlog") == 2
    assert sample("minyi_deliveries_pending", lane="integrators") == 6
    assert 40 <= sample("minyi_delivery_oldest_due_seconds", lane="integrators") < 60
    assert sample("minyi_internal_deliveries_stuck") == 3
    assert sample("minyi_db_gauges_refreshed_timestamp_seconds") >= now.timestamp() - 1


PENDING_INDEXES = ("ix_webhook_deliveries_lane_due", "ix_webhook_deliveries_pending_case")


@pytest.mark.parametrize(
    ("statement", "indexes"),
    [
        (db_gauges.OUTBOX_BACKLOG_SQL, ("ix_outbox_unfanned",)),
        (db_gauges.PENDING_SQL, PENDING_INDEXES),
        (db_gauges.OLDEST_DUE_SQL, PENDING_INDEXES),
        (db_gauges.STUCK_SQL, PENDING_INDEXES),
    ],
)
async def test_gauge_queries_read_partial_indexes_not_the_tables(engine, statement, indexes) -> None:
    """Each figure can be read from a partial index of the unfinished rows (the planner picks one of the
    pending indexes by the table's statistics), never by scanning the table."""
    async with engine.connect() as connection:
        await connection.execute(text("SET LOCAL enable_seqscan = off"))
        params = {"internal": False, "stuck": 600}
        plan = "\n".join((await connection.execute(text(f"EXPLAIN {statement.text}"), params)).scalars())
        await connection.rollback()
    assert "Seq Scan on outbox" not in plan and "Seq Scan on webhook_deliveries" not in plan, plan
    assert any(index in plan for index in indexes), plan


# --- the worker's exporter ----------------------------------------------------------------------------------


async def _get(port: int, path: str = "/metrics", **headers: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=5) as client:
        return await client.get(f"http://127.0.0.1:{port}{path}", headers=headers)


async def test_exporter_serves_metrics_and_honours_the_token(monkeypatch) -> None:
    server = await start_exporter("127.0.0.1", 0)
    assert server is not None
    port = server.sockets[0].getsockname()[1]
    async with server:
        served = await _get(port)
        assert served.status_code == 200 and "minyi_outbox_backlog" in served.text
        assert served.headers["content-type"].startswith("text/plain")
        assert (await _get(port, "/other")).status_code == 404
        monkeypatch.setattr(get_settings(), "metrics_token", "scrape-secret-1234")
        refused = await _get(port)
        assert refused.status_code == 401
        assert refused.json()["error"] == {
            "code": "unauthorized",
            "message": "缺少或无效的监控访问令牌",
            "details": [],
        }
        allowed = await _get(port, Authorization="Bearer scrape-secret-1234")
        assert allowed.status_code == 200 and "minyi_job_runs_total" in allowed.text
        # A client that never finishes its request does not hold up the others.
        _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /metrics HTTP/1.1\r\n")
        assert (await _get(port, Authorization="Bearer scrape-secret-1234")).status_code == 200
        writer.close()


async def test_a_taken_port_leaves_the_worker_without_metrics_not_down(engine, monkeypatch) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert await start_exporter("127.0.0.1", port) is None
        settings = get_settings()
        monkeypatch.setattr(settings, "host", "127.0.0.1")
        monkeypatch.setattr(settings, "worker_metrics_port", port)
        stop = asyncio.Event()
        await asyncio.wait_for(run_metrics(engine, settings, stop), timeout=5)  # returns at once, no error


async def test_the_worker_serves_fresh_gauges_until_stopped(engine, session, monkeypatch) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = get_settings()
    monkeypatch.setattr(settings, "host", "127.0.0.1")
    monkeypatch.setattr(settings, "worker_metrics_port", port)
    jurisdiction = Jurisdiction(code="GS", name="姑苏区")
    session.add(jurisdiction)
    await session.flush()
    await _emit(session, jurisdiction.id)
    await session.commit()
    stop = asyncio.Event()
    task = asyncio.create_task(run_metrics(engine, settings, stop))
    try:
        deadline = time.monotonic() + 10
        backlog = None
        while time.monotonic() < deadline:
            try:
                scraped = families((await _get(port)).text)
                backlog = scraped.get("minyi_outbox_backlog", [({}, None)])[0][1]
            except httpx.HTTPError:
                backlog = None
            if backlog == 1:
                break
            await asyncio.sleep(0.1)
        assert backlog == 1
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=10)
    with pytest.raises(httpx.ConnectError):
        await _get(port)
