"""The escalation ladder set by a supervisor: the change, its history and event, who may do it, the list of
watched cases, and the department seeing the level on its assignment through routing_api."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from routing_api.app import create_app as create_routing_app
from shared.db.models import Case, OutboxEvent
from tests.asgi import client_for, running
from tests.factories import World, build_world
from tests.supervision_api.arrange import accept, assignment_of, decline, deliver, dispatched_case


@pytest.fixture
async def routing(engine: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    app = create_routing_app(engine)
    async with running(app), client_for(app) as client:
        yield client


def _url(case: Case | int) -> str:
    return f"/v1/cases/{case if isinstance(case, int) else case.id}/supervision"


async def _set(
    client: httpx.AsyncClient, world: World, case: Case | int, who: str = "supervisor", **body: Any
) -> httpx.Response:
    return await client.post(_url(case), json=body, headers=world.auth(who))


async def test_a_supervisor_sets_the_level_and_it_is_kept_as_history(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    case = await dispatched_case(session, world)
    assert (await deliver(client, session, case, "case.dispatched")).status_code == 200

    formal = await _set(client, world, case, level="formal", note="群众多次反映，请加快办理")
    assert formal.status_code == 201, formal.text
    assert {
        k: formal.json()[k] for k in ("case_id", "level", "previous_level", "lead_supervisor", "source")
    } == {
        "case_id": case.id,
        "level": "formal",
        "previous_level": None,
        "lead_supervisor": None,
        "source": "manual",
    }
    key = await _set(client, world, case, level="key", lead_supervisor=" 张主任 ", note="列为重点督办")
    assert key.status_code == 201, key.text

    history = (await client.get(_url(case), headers=world.auth("admin"))).json()["items"]
    assert [(h["previous_level"], h["level"], h["lead_supervisor"], h["note"]) for h in history] == [
        (None, "formal", None, "群众多次反映，请加快办理"),
        ("formal", "key", "张主任", "列为重点督办"),
    ]
    assert history[1]["actor"]["type"] == "supervisor" and history[1]["actor"]["id"] is not None

    view = (await client.get(f"/v1/cases/{case.id}", headers=world.auth("supervisor"))).json()
    assert view["supervision"]["level"] == "key"
    assert view["supervision"]["lead_supervisor"] == "张主任"
    assert view["supervision"]["since"] == history[1]["created_at"]
    changed = [e for e in view["events"] if e["type"] == "supervision_changed"]
    assert [(e["public"], e["data"]["level"], e["data"]["note"]) for e in changed] == [
        (False, "formal", "群众多次反映，请加快办理"),
        (False, "key", "列为重点督办"),
    ]

    events = (
        await session.execute(
            select(OutboxEvent.payload)
            .where(OutboxEvent.case_id == case.id, OutboxEvent.type == "case.supervision_changed")
            .order_by(OutboxEvent.id)
        )
    ).scalars()
    payloads = list(events)
    assert [(p["level"], p["previous_level"], p["lead_supervisor"], p["source"]) for p in payloads] == [
        ("formal", None, None, "manual"),
        ("key", "formal", "张主任", "manual"),
    ]
    assert all("note" not in p for p in payloads)  # free text stays out of webhooks

    # A new note at the same level is history too, but the level has held since it was set.
    again = await _set(client, world, case, level="key", lead_supervisor="张主任", note="年中督查")
    assert again.status_code == 201
    view = (await client.get(f"/v1/cases/{case.id}", headers=world.auth("supervisor"))).json()
    assert view["supervision"]["since"] == history[1]["created_at"]


async def test_key_needs_a_lead_supervisor_and_bad_input_is_422(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    case = await dispatched_case(session, world)
    await session.commit()
    for body in ({"level": "key"}, {"level": "key", "lead_supervisor": "   "}, {"level": "key", "note": "x"}):
        response = await _set(client, world, case, **body)
        assert response.status_code == 422, body
        assert response.json()["error"]["details"][0]["field"] == "lead_supervisor"
        assert "领衔督办" in response.json()["error"]["message"]
    for body in (
        {"level": "urgent"},
        {},
        {"level": "formal", "lead_supervisor": "张" * 51},
        {"level": "formal", "extra": 1},
    ):
        assert (await _set(client, world, case, **body)).status_code == 422, body
    assert (await client.get(_url(case), headers=world.auth("supervisor"))).json()["items"] == []


async def test_who_may_set_and_read_the_level(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    case = await dispatched_case(session, world)
    other = await build_world(session, code="PJ", name="平江区")
    await session.commit()
    body = {"level": "reminder"}

    assert (await client.post(_url(case), json=body)).status_code == 401
    assert (
        await client.post(_url(case), json=body, headers={"Authorization": "Bearer mk_nope"})
    ).status_code == 401
    for who in ("admin", "dispatcher", "integrator", "deputy", "dept:urban_mgmt"):
        assert (await _set(client, world, case, who, **body)).status_code == 403, who
        if who != "admin":
            assert (await client.get(_url(case), headers=world.auth(who))).status_code == 403, who
            assert (await client.get("/v1/supervision", headers=world.auth(who))).status_code == 403, who
    # Another jurisdiction's supervisor cannot see the case at all; nor can anyone see a case that is not there.
    assert (await _set(client, other, case, **body)).status_code == 404
    assert (await client.get(_url(case), headers=other.auth("supervisor"))).status_code == 404
    assert (await _set(client, world, 999_999, **body)).status_code == 404
    assert (await client.get("/v1/supervision", headers=other.auth("supervisor"))).json()["items"] == []
    assert (await _set(client, world, case, **body)).status_code == 201


async def test_a_merged_case_cannot_be_supervised(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    case = await dispatched_case(session, world)
    case.status = "merged"
    await session.commit()
    response = await _set(client, world, case, level="formal")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "case_not_supervisable"


async def test_the_watched_cases_list(client: httpx.AsyncClient, session: AsyncSession, world: World) -> None:
    unwatched = await dispatched_case(session, world)
    formal = await dispatched_case(session, world)
    key = await dispatched_case(
        session, world, category="environment", assignments=(("environment", "lead"), ("urban_mgmt", "co"))
    )
    for case in (unwatched, formal, key):
        assert (await deliver(client, session, case, "case.dispatched")).status_code == 200
    assert (await _set(client, world, formal, level="formal")).status_code == 201
    assert (await _set(client, world, key, level="key", lead_supervisor="张主任")).status_code == 201
    assert (await _set(client, world, key.id + 1000, level="formal")).status_code == 404

    async def listed(**params: Any) -> dict[str, Any]:
        response = await client.get("/v1/supervision", params=params, headers=world.auth("supervisor"))
        assert response.status_code == 200, response.text
        page: dict[str, Any] = response.json()
        return page

    everything = await listed()
    assert [c["id"] for c in everything["items"]] == [key.id, formal.id]  # newest first, unwatched left out
    assert everything["next_cursor"] is None
    first = everything["items"][0]
    assert (first["tracking_no"], first["status"], first["level"], first["lead_supervisor"]) == (
        key.tracking_no,
        "dispatched",
        "key",
        "张主任",
    )
    assert first["since"] is not None
    assert {(d["department_id"], d["role"]) for d in first["departments"]} == {
        (world.departments["environment"].id, "lead"),
        (world.departments["urban_mgmt"].id, "co"),
    }
    kinds = [d["kind"] for d in first["deadlines"]]
    assert sorted(kinds) == sorted(["accept", "accept", "decline", "decline", "reply", "co_opinion"])
    due = [d["due_at"] for d in first["deadlines"]]
    assert due == sorted(due)  # soonest first
    assert all(d["overdue"] for d in first["deadlines"])  # dispatched on 2026-09-30

    assert [c["id"] for c in (await listed(level="formal"))["items"]] == [formal.id]
    assert [c["id"] for c in (await listed(lead_supervisor="张主任"))["items"]] == [key.id]
    assert (await listed(lead_supervisor="李主任"))["items"] == []
    one = await listed(limit=1)
    assert [c["id"] for c in one["items"]] == [key.id] and one["next_cursor"]
    rest = await listed(limit=1, cursor=one["next_cursor"])
    assert [c["id"] for c in rest["items"]] == [formal.id] and rest["next_cursor"] is None
    assert (
        await client.get("/v1/supervision", params={"level": "urgent"}, headers=world.auth("supervisor"))
    ).status_code == 422
    assert (await client.get("/v1/supervision", headers=world.auth("admin"))).status_code == 200


async def test_the_departments_see_the_level_on_their_assignments(
    client: httpx.AsyncClient, routing: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    case = await dispatched_case(
        session, world, assignments=(("urban_mgmt", "lead"), ("street_office", "separate"))
    )
    assert (await deliver(client, session, case, "case.dispatched")).status_code == 200
    lead = await assignment_of(session, case, world.departments["urban_mgmt"].id)
    separate = await assignment_of(session, case, world.departments["street_office"].id)
    await accept(session, case, lead)
    await decline(session, case, separate)
    await session.commit()

    async def seen(who: str, assignment_id: int) -> tuple[Any, Any]:
        listed = await routing.get("/v1/assignments", headers=world.auth(who))
        assert listed.status_code == 200, listed.text
        (item,) = [a for a in listed.json()["items"] if a["id"] == assignment_id]
        detail = await routing.get(f"/v1/assignments/{assignment_id}", headers=world.auth(who))
        assert detail.status_code == 200, detail.text
        return item["supervision"], detail.json()["supervision"]

    assert await seen("dept:urban_mgmt", lead.id) == (None, None)
    assert (
        await _set(client, world, case, level="key", lead_supervisor="张主任", note="重点")
    ).status_code == 201

    in_list, in_detail = await seen("dept:urban_mgmt", lead.id)
    assert in_list == in_detail
    assert (in_list["level"], in_list["lead_supervisor"]) == ("key", "张主任")
    assert in_list["since"] is not None
    # The unit that declined no longer handles the case, and is not told.
    assert await seen("dept:street_office", separate.id) == (None, None)

    # The department's sync feed hands the assignment out again, now with the level. A transaction running
    # elsewhere on the same server holds the feed back until it ends, so it is read until the change comes.
    synced: list[Any] = []
    cursor: str | None = None
    for _ in range(600):
        params = {"cursor": cursor} if cursor else {}
        feed = await routing.get("/v1/assignments/sync", params=params, headers=world.auth("dept:urban_mgmt"))
        assert feed.status_code == 200, feed.text
        synced += [a["supervision"] for a in feed.json()["items"] if a["id"] == lead.id]
        cursor = feed.json()["next_cursor"]
        if synced and synced[-1] is not None:
            break
        await asyncio.sleep(0.05)
    assert synced[-1] == in_list
