"""The case search and the staff view for congress staff, scoped to their jurisdiction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from services.supervision import deadlines
from shared.security.pii import encrypt
from tests.factories import World, build_world
from tests.supervision_api.arrange import accept, assignment_of, dispatched_case, new_case, reply


async def _search(client: httpx.AsyncClient, world: World, **params: object) -> list[dict[str, object]]:
    response = await client.get("/v1/cases", params=params, headers=world.auth("supervisor"))
    assert response.status_code == 200, response.text
    items: list[dict[str, object]] = response.json()["items"]
    return items


async def test_search_filters(client: httpx.AsyncClient, session: AsyncSession, world: World) -> None:
    received = await new_case(session, world, category="urban.sanitation", station_id=world.station.id)
    urban = await dispatched_case(session, world, deputy_id=world.deputy.id)
    env = await dispatched_case(
        session,
        world,
        category="environment.noise",
        assignments=(("environment", "lead"), ("street_office", "separate")),
    )
    await session.commit()

    everything = await _search(client, world)
    assert [c["id"] for c in everything] == [env.id, urban.id, received.id]  # newest first
    first = everything[-1]
    assert set(first) == {
        "id", "tracking_no", "status", "kind", "category_code", "urgency",
        "station_id", "deputy_id", "created_at", "department_ids",
    }  # fmt: skip
    assert (first["status"], first["category_code"], first["station_id"], first["department_ids"]) == (
        "received",
        "urban.sanitation",
        world.station.id,
        [],
    )
    env_departments = sorted([world.departments["environment"].id, world.departments["street_office"].id])
    assert everything[0]["department_ids"] == env_departments

    assert [c["id"] for c in await _search(client, world, tracking_no=urban.tracking_no)] == [urban.id]
    assert [c["id"] for c in await _search(client, world, status="received")] == [received.id]
    office = world.departments["street_office"].id
    assert [c["id"] for c in await _search(client, world, department_id=office)] == [env.id]
    # A top-level category finds its subcategories; a subcategory only itself.
    assert [c["id"] for c in await _search(client, world, category_code="urban")] == [urban.id, received.id]
    assert [c["id"] for c in await _search(client, world, category_code="urban.sanitation")] == [received.id]
    assert [c["id"] for c in await _search(client, world, station_id=world.station.id)] == [received.id]
    assert [c["id"] for c in await _search(client, world, deputy_id=world.deputy.id)] == [urban.id]
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    assert await _search(client, world, **{"from": future}) == []
    assert len(await _search(client, world, **{"from": past, "to": future})) == 3
    assert await _search(client, world, to=past) == []

    page = await client.get("/v1/cases", params={"limit": 2}, headers=world.auth("admin"))
    rest = await client.get(
        "/v1/cases", params={"limit": 2, "cursor": page.json()["next_cursor"]}, headers=world.auth("admin")
    )
    assert [c["id"] for c in page.json()["items"] + rest.json()["items"]] == [env.id, urban.id, received.id]


async def test_search_refuses_bad_filters(client: httpx.AsyncClient, world: World) -> None:
    for params, field in (
        ({"status": "lost"}, "status"),
        ({"from": "2026-09-30T10:00:00"}, "from"),
        ({"department_id": "x"}, "department_id"),
        ({"department_id": 2**64}, "department_id"),
        ({"limit": 501}, "limit"),
        ({"to": "9999-12-31T23:59:59-08:00"}, "to"),
        ({"tracking_no": "GS\x00"}, "tracking_no"),
        ({"cursor": "bm90LWEtY3Vyc29y"}, "cursor"),
    ):
        response = await client.get("/v1/cases", params=params, headers=world.auth("supervisor"))
        assert response.status_code == 422, params
        assert response.json()["error"]["details"][0]["field"] == field


async def test_overdue_filter(client: httpx.AsyncClient, session: AsyncSession, world: World) -> None:
    late = await dispatched_case(session, world)  # dispatched 2026-09-30: its deadlines lapsed long ago
    await deadlines.ensure_dispatch_deadlines(session, late)
    fresh = await dispatched_case(session, world, at=datetime.now(UTC))
    await deadlines.ensure_dispatch_deadlines(session, fresh)
    await session.commit()
    assert [c["id"] for c in await _search(client, world, overdue="true")] == [late.id]
    assert [c["id"] for c in await _search(client, world, overdue="false")] == [fresh.id]


async def test_staff_view_has_everything_and_masks_personal_data(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    case = await dispatched_case(
        session,
        world,
        submitter_name_enc=encrypt("张三"),
        submitter_phone_enc=encrypt("13812345678"),
    )
    await deadlines.ensure_dispatch_deadlines(session, case)
    lead = await assignment_of(session, case, world.departments["urban_mgmt"].id)
    await accept(session, case, lead)
    await reply(session, case, lead)
    await session.commit()

    response = await client.get(f"/v1/cases/{case.id}", headers=world.auth("admin"))
    assert response.status_code == 200
    view = response.json()
    assert view["status"] == "replied" and view["tracking_no"] == case.tracking_no
    assert view["assignments"] == [
        {"id": lead.id, "department_id": lead.department_id, "role": "lead", "status": "replied"}
    ]
    assert {d["kind"] for d in view["deadlines"]} == {"accept", "decline", "reply"}
    reply_deadline = next(d for d in view["deadlines"] if d["kind"] == "reply")
    assert reply_deadline["due_at"] == "2026-10-13T02:00:00Z"
    assert [e["type"] for e in view["events"]] == ["received", "dispatched", "accepted", "replied"]
    assert view["submitter"] == {"name": "张*", "phone": "138****5678"}
    assert "13812345678" not in response.text and "张三" not in response.text
    assert [(r["assignment_id"], r["reply_class"], r["round"]) for r in view["replies"]] == [
        (lead.id, "A", 0)
    ]
    assert view["feedback"] == []


async def test_cases_are_scoped_to_staff_of_the_jurisdiction(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    other = await build_world(session, code="XC", name="相城区")
    foreign = await new_case(session, other)
    own = await new_case(session, world)
    await session.commit()

    assert [c["id"] for c in await _search(client, world)] == [own.id]
    assert (await client.get(f"/v1/cases/{foreign.id}", headers=world.auth("supervisor"))).status_code == 404
    assert (await client.get("/v1/cases/999999", headers=world.auth("supervisor"))).status_code == 404
    assert (await client.get(f"/v1/cases/{own.id}", headers=world.auth("supervisor"))).status_code == 200
    for who in ("integrator", "dispatcher", "dept:urban_mgmt", "deputy"):
        assert (await client.get("/v1/cases", headers=world.auth(who))).status_code == 403, who
        assert (await client.get(f"/v1/cases/{own.id}", headers=world.auth(who))).status_code == 403, who
    assert (await client.get("/v1/cases")).status_code == 401
    assert (await client.get("/v1/cases", headers={"Authorization": "Bearer nonsense"})).status_code == 401
