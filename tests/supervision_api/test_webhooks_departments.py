"""A department's own endpoints: only case events of cases assigned to it (its decline included), with a
payload that names no other department; managed by its key, seen by the admin."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.workflow import Actor, record_event
from shared.db.enums import AssignmentStatus
from shared.events.outbox import emit
from shared.settings import Settings
from tests.factories import World
from tests.supervision_api.arrange import assignment_of, dispatched_case, new_case
from tests.webhook_receiver import receiving, relay_once


async def test_a_department_key_manages_its_own_endpoints_and_the_admin_sees_them(
    client: httpx.AsyncClient, world: World, local_hooks: Settings
) -> None:
    urban, env = world.auth("dept:urban_mgmt"), world.auth("dept:environment")
    created = await client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/urban"}, headers=urban)
    assert created.status_code == 201
    mine = created.json()
    assert mine["department_id"] == world.departments["urban_mgmt"].id and mine["secret"].startswith("whsec_")

    for types in (["reception.recorded"], ["case.closed", "hotspot.detected", "webhook.disabled"]):
        refused = await client.post(
            "/v1/webhooks", json={"url": "http://127.0.0.1:9/x", "event_types": types}, headers=urban
        )
        assert refused.status_code == 422
        assert refused.json()["error"]["details"][0]["field"] == "event_types"
        assert "承办单位的回调只能订阅事项（case.*）事件" in refused.json()["error"]["details"][0]["message"]
    path = f"/v1/webhooks/{mine['id']}"
    assert (
        await client.patch(path, json={"event_types": ["suggestion.submitted"]}, headers=urban)
    ).status_code == 422
    patched = await client.patch(path, json={"event_types": ["case.declined"]}, headers=urban)
    assert patched.json()["event_types"] == ["case.declined"]

    assert [w["id"] for w in (await client.get("/v1/webhooks", headers=urban)).json()["items"]] == [
        mine["id"]
    ]
    for other in (env, world.auth("integrator")):
        assert (await client.get(path, headers=other)).status_code == 404
        assert (await client.get("/v1/webhooks", headers=other)).json()["items"] == []
    listed = (await client.get("/v1/webhooks", headers=world.auth("admin"))).json()["items"]
    assert [(w["id"], w["department_id"]) for w in listed] == [
        (mine["id"], world.departments["urban_mgmt"].id)
    ]
    rotated = await client.post(f"{path}/rotate-secret", headers=urban)
    assert rotated.status_code == 200
    assert (await client.delete(path, headers=urban)).status_code == 204


async def test_only_events_of_its_cases_reach_a_department_endpoint_with_only_its_own_id(
    engine: AsyncEngine,
    client: httpx.AsyncClient,
    session: AsyncSession,
    world: World,
    local_hooks: Settings,
) -> None:
    urban_id = world.departments["urban_mgmt"].id
    env_id = world.departments["environment"].id
    with receiving() as hook:
        for who, suffix in (("dept:urban_mgmt", "/urban"), ("integrator", "/all")):
            response = await client.post(
                "/v1/webhooks", json={"url": hook.url + suffix}, headers=world.auth(who)
            )
            assert response.status_code == 201
        start = datetime.now(UTC) - timedelta(seconds=1)
        # environment leads, urban_mgmt co-handles; the second case is environment's alone.
        shared_case = await dispatched_case(
            session,
            world,
            category="environment",
            assignments=(("environment", "lead"), ("urban_mgmt", "co")),
        )
        own_case = await dispatched_case(
            session, world, category="environment", assignments=(("environment", "lead"),)
        )
        waiting = await new_case(session, world)  # not dispatched: no department has it
        await emit(
            session,
            type="hotspot.detected",
            jurisdiction_id=world.jurisdiction.id,
            case_id=None,
            payload={"hotspot_id": 1},
            occurred_at=datetime.now(UTC),
        )
        await session.commit()
        await relay_once(engine, local_hooks)

        heard = [(r.json()["type"], r.json()["data"]["case_id"]) for r in hook.at("/urban")]
        assert sorted(heard) == [("case.dispatched", shared_case.id), ("case.received", shared_case.id)]
        ids = {r.json()["type"]: r.json()["data"]["department_ids"] for r in hook.at("/urban")}
        assert ids == {"case.received": [], "case.dispatched": [urban_id]}  # received: before any dispatch
        # The integrator's endpoint heard everything, with every department.
        everything = [r.json() for r in hook.at("/all")]
        assert len(everything) == 6 and {e["data"].get("case_id") for e in everything} == {
            shared_case.id,
            own_case.id,
            waiting.id,
            None,
        }
        dispatched = next(
            e for e in everything if e["type"] == "case.dispatched" and e["data"]["case_id"] == shared_case.id
        )
        assert dispatched["data"]["department_ids"] == sorted([urban_id, env_id])

        # Its own decline still reaches it; it is no longer on the case, so it names no department.
        gone = await assignment_of(session, shared_case, urban_id)
        gone.status = AssignmentStatus.declined
        await session.flush()  # as routing does, before the event (its payload reads the assignments)
        await record_event(
            session,
            shared_case,
            "declined",
            Actor("department", urban_id),
            event_data={"assignment_id": gone.id, "department_id": urban_id},
        )
        await session.commit()
        await relay_once(engine, local_hooks)
        (declined,) = hook.at("/urban")[2:]
        assert declined.json()["type"] == "case.declined"
        assert declined.json()["data"]["department_ids"] == []

        # Recovery sends it the same events again, never another department's.
        mine = (await client.get("/v1/webhooks", headers=world.auth("dept:urban_mgmt"))).json()["items"][0]
        recovered = await client.post(
            f"/v1/webhooks/{mine['id']}/recover",
            json={"since": start.isoformat()},
            headers=world.auth("dept:urban_mgmt"),
        )
        assert recovered.json()["requeued"] == 3
