"""/internal/events: signed delivery, exactly-once dispatch, order safety, rework, and the relay end to end."""

from __future__ import annotations

import httpx
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
    assert first.json() == again.json() == {"status": "ok"}
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


async def test_events_about_unknown_or_malformed_cases(session, client, world):
    unknown = await send_event(client, "case.received", {"case_id": 999_999})
    assert unknown.status_code == 200
    malformed = await send_event(client, "case.received", {"case_id": "1; drop table"})
    assert malformed.status_code == 422
    huge = await send_event(client, "case.received", {"case_id": 2**70})
    assert huge.status_code == 422
    not_ours = await send_event(client, "case.closed", {"case_id": 1})
    assert not_ours.status_code == 200


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
    async with httpx.AsyncClient(transport=HostRouter({"routing.test": app})) as http:
        relay = Relay(engine, settings, http)
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
