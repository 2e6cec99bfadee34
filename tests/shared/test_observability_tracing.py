"""One request followed across services: a receiver applies each internal event under the request id it
carries, so the events it emits in turn carry the original id; and the classification counters at arrival."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select

from routing_api.app import create_app
from shared.db.models import Case, OutboxEvent
from shared.events.batches import batch_id, encode_batch, wire_event
from shared.events.inbox import read_internal_batch
from shared.security.keys import derived_webhook_secret
from shared.settings import get_settings
from shared.webhooks import signed_headers
from tests.asgi import client_for, running
from tests.internal_events import signed_batch
from tests.services.routing.cases import new_case

AT = datetime(2026, 11, 22, 8, tzinfo=UTC)


@pytest.fixture
async def client(engine):
    app = create_app(engine)
    async with running(app), client_for(app) as client:
        yield client


def _event(case_id: int, request_id: str | None = None, event_type: str = "case.received") -> tuple:
    return (f"msg_{uuid.uuid4().hex}", event_type, AT, {"case_id": case_id}, request_id)


async def _dispatched_ids(session, *cases: Case) -> dict[int, str | None]:
    rows = await session.execute(
        select(OutboxEvent.case_id, OutboxEvent.request_id).where(
            OutboxEvent.type == "case.dispatched", OutboxEvent.case_id.in_([c.id for c in cases])
        )
    )
    return {row.case_id: row.request_id for row in rows}


async def test_each_event_is_applied_under_its_own_request_id(session, client, world) -> None:
    first = await new_case(session, world, category="urban", grid="G1")
    second = await new_case(session, world, category="urban", grid="G1")
    await session.commit()
    body, headers = signed_batch(
        "routing", [_event(first.id, "trace-first-1"), _event(second.id, "trace-second-2")]
    )
    response = await client.post("/internal/events", content=body, headers=headers)
    assert response.status_code == 200
    assert [r["status"] for r in response.json()["results"]] == ["applied", "applied"]
    # The dispatch each event caused carries that event's request id, not the batch request's own.
    assert await _dispatched_ids(session, first, second) == {
        first.id: "trace-first-1",
        second.id: "trace-second-2",
    }
    assert response.headers["x-request-id"] not in ("trace-first-1", "trace-second-2")


@pytest.mark.parametrize("carried", [None, "has spaces", "x" * 65, 12345])
async def test_an_event_without_a_usable_id_keeps_the_batch_requests(session, client, world, carried) -> None:
    case = await new_case(session, world, category="urban", grid="G1")
    await session.commit()
    event = wire_event(f"msg_{uuid.uuid4().hex}", "case.received", AT, {"case_id": case.id})
    if carried is not None:  # as a sender other than ours might put it
        event["request_id"] = carried
    body = encode_batch([event])
    headers = signed_headers(derived_webhook_secret(get_settings().secret_key, "routing"), batch_id(), body)
    assert read_internal_batch("routing", body, headers)[0].request_id is None
    response = await client.post(
        "/internal/events", content=body, headers={**headers, "X-Request-ID": "batch-7"}
    )
    assert response.json()["results"][0]["status"] == "applied"
    assert await _dispatched_ids(session, case) == {case.id: "batch-7"}


def _classifications(source: str, outcome: str) -> float:
    return (
        REGISTRY.get_sample_value("minyi_classifications_total", {"source": source, "outcome": outcome})
        or 0.0
    )


async def test_arrivals_are_counted_by_who_chose_the_category(session, client, world) -> None:
    named = await new_case(session, world, category="urban", grid="G1")
    unnamed = await new_case(session, world, category=None, description="路灯坏了，晚上很黑")
    await session.commit()
    before = {
        key: _classifications(*key)
        for key in (("citizen", "named"), ("classifier", "confident"), ("classifier", "queued"))
    }
    body, headers = signed_batch("routing", [_event(named.id), _event(unnamed.id)])
    assert (await client.post("/internal/events", content=body, headers=headers)).status_code == 200
    await session.refresh(unnamed)
    decided = unnamed.queue_reason is None  # queued as low_confidence otherwise
    after = {key: _classifications(*key) for key in before}
    assert {key: after[key] - before[key] for key in before} == {
        ("citizen", "named"): 1,
        ("classifier", "confident"): 1 if decided else 0,
        ("classifier", "queued"): 0 if decided else 1,
    }
    # A redelivery changes nothing and counts nothing.
    assert (await client.post("/internal/events", content=body, headers=headers)).status_code == 200
    assert {key: _classifications(*key) for key in before} == after
