"""/internal/events: signed delivery, exactly-once dispatch, order safety, rework, and the relay end to end."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import func, select, update

from routing_api.app import create_app
from services.routing.events import SUBSCRIBED_EVENTS
from services.workflow import SYSTEM, rate
from shared.db.enums import Rating
from shared.db.models import Assignment, InboxMessage, Jurisdiction, OutboxEvent, Reply
from shared.events.relay import Relay
from shared.events.subscriptions import ensure_internal_endpoint
from shared.settings import get_settings
from tests.asgi import HostRouter
from tests.internal_events import signed_batch
from tests.routing_api.conftest import dispatched_case, send_event, signed
from tests.services.routing.cases import new_case


async def _count(session, model, *where) -> int:
    return (await session.execute(select(func.count()).select_from(model).where(*where))).scalar_one()


async def test_received_event_dispatches_once_even_when_redelivered(session, client, world):
    case = await new_case(session, world, category="environment", grid="G2")
    await session.commit()
    body, headers = signed("case.received", {"case_id": case.id})
    first = await client.post("/internal/events", content=body, headers=headers)
    again = await client.post("/internal/events", content=body, headers=headers)
    assert first.status_code == again.status_code == 200
    msg_id = json.loads(body)["events"][0]["id"]
    assert first.json() == {"results": [{"id": msg_id, "status": "applied"}]}
    assert again.json() == {"results": [{"id": msg_id, "status": "duplicate"}]}
    # Even a second message about the same case (a replayed outbox row) does not dispatch again.
    third = await send_event(client, "case.received", {"case_id": case.id})
    assert third.status_code == 200
    await session.refresh(case)
    assert case.status == "dispatched"
    assert await _count(session, Assignment, Assignment.case_id == case.id) == 2
    dispatched = (
        (await session.execute(select(OutboxEvent).where(OutboxEvent.type == "case.dispatched")))
        .scalars()
        .all()
    )
    assert len(dispatched) == 1
    assert dispatched[0].payload["department_ids"] == sorted(
        [world.departments["environment"].id, world.departments["street_office"].id]
    )
    assert await _count(session, InboxMessage, InboxMessage.consumer == "routing") == 2


async def test_bad_signature_is_refused_and_changes_nothing(session, client, world):
    case = await new_case(session, world)
    await session.commit()
    body, headers = signed("case.received", {"case_id": case.id})
    forged = body.replace(b'"case.received"', b'"case.rework"')
    assert forged != body
    response = await client.post("/internal/events", content=forged, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    missing = await client.post(
        "/internal/events", content=body, headers={"content-type": "application/json"}
    )
    assert missing.status_code == 401
    await session.refresh(case)
    assert case.status == "received"
    assert await _count(session, InboxMessage) == 0


async def test_a_declined_back_case_is_not_dispatched_again(session, client, world):
    case, assignments = await dispatched_case(session, client, world, category="urban")
    lead = assignments["urban_mgmt"]
    decline = {"reason": "不属于本单位职责"}
    auth = world.auth("dept:urban_mgmt")
    assert (
        await client.post(f"/v1/assignments/{lead.id}/decline", json=decline, headers=auth)
    ).status_code == 200
    await session.refresh(case)
    assert case.status == "received"
    # It waits for a dispatcher: a late or replayed case.received must not send it to the same place again.
    assert (await send_event(client, "case.received", {"case_id": case.id})).status_code == 200
    await session.refresh(case)
    assert case.status == "received"
    assert await _count(session, Assignment, Assignment.case_id == case.id) == 1


async def test_without_a_rule_or_fallback_the_case_stays_received(session, client, world):
    await session.execute(
        update(Jurisdiction)
        .where(Jurisdiction.id == world.jurisdiction.id)
        .values(fallback_department_id=None)
    )
    case = await new_case(session, world, category=None)
    await session.commit()
    assert (await send_event(client, "case.received", {"case_id": case.id})).status_code == 200
    await session.refresh(case)
    assert case.status == "received"
    assert await _count(session, Assignment) == 0


def _statuses(response) -> list[str]:
    assert response.status_code == 200
    return [r["status"] for r in response.json()["results"]]


async def test_events_about_unknown_or_malformed_cases(session, client, world):
    assert _statuses(await send_event(client, "case.received", {"case_id": 999_999})) == ["applied"]
    # A malformed event fails alone (the relay retries it and raises the alarm); it is not recorded as seen.
    malformed = await send_event(client, "case.received", {"case_id": "1; drop table"})
    assert _statuses(malformed) == ["failed"]
    assert "case_id" in malformed.json()["results"][0]["error"]
    assert _statuses(await send_event(client, "case.received", {"case_id": 2**70})) == ["failed"]
    assert _statuses(await send_event(client, "case.closed", {"case_id": 1})) == ["applied"]
    assert await _count(session, InboxMessage) == 2


async def test_a_failed_event_holds_back_its_case_but_not_the_others(session, client, world):
    case = await new_case(session, world, category="environment", grid="G1")
    await session.commit()
    at = datetime(2026, 11, 22, 8, tzinfo=UTC)
    body, headers = signed_batch(
        "routing",
        [
            ("msg_bad", "case.received", at, {"case_id": "x"}),
            ("msg_after_bad", "case.rework", at, {"case_id": "x"}),
            ("msg_ok", "case.received", at, {"case_id": case.id}),
        ],
    )
    response = await client.post("/internal/events", content=body, headers=headers)
    assert [r["status"] for r in response.json()["results"]] == ["failed", "held", "applied"]
    await session.refresh(case)
    assert case.status == "dispatched"
    seen = (await session.execute(select(InboxMessage.message_id))).scalars().all()
    assert seen == ["msg_ok"]


async def test_rework_reopens_the_lead_assignment(session, client, world):
    case, assignments = await dispatched_case(session, client, world, category="urban")
    lead = assignments["urban_mgmt"]
    auth = world.auth("dept:urban_mgmt")
    assert (await client.post(f"/v1/assignments/{lead.id}/accept", headers=auth)).status_code == 200
    reply = {"reply_class": "A", "text": "路灯已更换"}
    assert (
        await client.post(f"/v1/assignments/{lead.id}/reply", json=reply, headers=auth)
    ).status_code == 200
    # Before the case is in rework, a rework event (ahead of its time) changes nothing.
    assert (await send_event(client, "case.rework", {"case_id": case.id})).status_code == 200
    await session.refresh(lead)
    assert lead.status == "replied"

    await session.refresh(case)
    await rate(session, case, source="citizen", rating=Rating.dissatisfied, comment="还是不亮", actor=SYSTEM)
    await session.commit()
    assert case.status == "rework" and case.rework_round == 1
    assert (await send_event(client, "case.rework", {"case_id": case.id})).status_code == 200
    await session.refresh(lead)
    assert lead.status == "accepted" and lead.replied_at is None

    again = {"reply_class": "A", "text": "已彻底更换线路"}
    response = await client.post(f"/v1/assignments/{lead.id}/reply", json=again, headers=auth)
    assert response.status_code == 200
    await session.refresh(case)
    assert case.status == "replied"
    rounds = (await session.execute(select(Reply.round).order_by(Reply.id))).scalars().all()
    assert rounds == [0, 1]


async def test_relay_delivers_received_events_to_the_routing_service(engine, session, app, world):
    settings = get_settings()
    await ensure_internal_endpoint(session, "routing", "http://routing.test", SUBSCRIBED_EVENTS)
    case = await new_case(session, world, category="environment", grid="G1")
    await session.commit()
    async with Relay(engine, settings, transport=HostRouter({"routing.test": app})) as relay:
        assert await relay.fan_out() == 1
        assert await relay.deliver_due() == 1
    await session.refresh(case)
    assert case.status == "dispatched"
    assert await _count(session, Assignment, Assignment.case_id == case.id) == 2


async def test_the_internal_endpoint_is_not_in_the_public_contract():
    paths = create_app().openapi()["paths"]
    assert "/internal/events" not in paths
    assert {"/v1/assignments/{assignment_id}/reply", "/v1/routing-rules", "/v1/fallback-department"} <= set(
        paths
    )
