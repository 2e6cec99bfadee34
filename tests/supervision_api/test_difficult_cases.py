"""Difficult cases for the coordination meeting (疑难问题协调处办会): marking, the agenda by meeting date, and
the meeting's decision redispatching the case through the workflow, seen by supervision and by routing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from routing_api.app import create_app as create_routing_app
from shared.db.models import Assignment, Case, CaseEvent, Deadline, OutboxEvent
from tests.asgi import client_for, running
from tests.factories import World, build_world
from tests.supervision_api.arrange import accept, assignment_of, deliver, dispatched_case, new_case


@pytest.fixture
async def routing(engine: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    app = create_routing_app(engine)
    async with running(app), client_for(app) as client:
        yield client


def _due() -> datetime:
    return (datetime.now(UTC) + timedelta(days=10)).replace(microsecond=0)


async def _mark(
    client: httpx.AsyncClient, world: World, case: Case, meeting_date: str | None = "2026-12-10"
) -> dict[str, Any]:
    body: dict[str, Any] = {"reason": "涉及多个部门职责交叉，久拖未决"}
    if meeting_date:
        body["meeting_date"] = meeting_date
    response = await client.post(
        f"/v1/cases/{case.id}/difficult", json=body, headers=world.auth("supervisor")
    )
    assert response.status_code == 201, response.text
    marked: dict[str, Any] = response.json()
    return marked


async def _decide(
    client: httpx.AsyncClient, world: World, mark_id: int, lead: str, co: tuple[str, ...] = (), **extra: Any
) -> httpx.Response:
    body = {
        "lead_department_id": world.departments[lead].id,
        "co_department_ids": [world.departments[c].id for c in co],
        "due_at": _due().isoformat(),
        "note": "由区生态环境局牵头，双塔街道配合",
        **extra,
    }
    return await client.post(
        f"/v1/difficult-cases/{mark_id}/decision", json=body, headers=world.auth("supervisor")
    )


async def _assignments(session: AsyncSession, case: Case) -> list[Assignment]:
    rows = await session.scalars(
        select(Assignment)
        .where(Assignment.case_id == case.id)
        .order_by(Assignment.id)
        .execution_options(populate_existing=True)
    )
    return list(rows)


async def _deadlines(session: AsyncSession, assignment: Assignment) -> dict[str, Deadline]:
    rows = await session.scalars(
        select(Deadline)
        .where(Deadline.assignment_id == assignment.id, Deadline.superseded_at.is_(None))
        .execution_options(populate_existing=True)
    )
    return {d.kind: d for d in rows}


async def test_mark_and_list_by_meeting_date(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    december = await dispatched_case(session, world)
    january = await dispatched_case(
        session, world, assignments=(("environment", "lead"), ("urban_mgmt", "co")), category="environment"
    )
    assert (await deliver(client, session, december, "case.dispatched")).status_code == 200

    marked = await _mark(client, world, december)
    await _mark(client, world, january, meeting_date="2027-01-14")

    assert (marked["status"], marked["meeting_date"], marked["decision"]) == ("pending", "2026-12-10", None)
    agenda = await client.get(
        "/v1/difficult-cases", params={"meeting_date": "2026-12-10"}, headers=world.auth("admin")
    )
    assert agenda.status_code == 200
    [item] = agenda.json()["items"]
    assert (item["case_id"], item["tracking_no"], item["case_status"]) == (
        december.id,
        december.tracking_no,
        "dispatched",
    )
    assert (item["category_code"], item["category_name"]) == ("urban", "城市管理")
    assert item["reason"] == "涉及多个部门职责交叉，久拖未决"
    assert [(d["name"], d["role"], d["status"]) for d in item["departments"]] == [
        ("区城管局", "lead", "pending")
    ]
    assert {d["kind"] for d in item["open_deadlines"]} == {"accept", "reply"}
    both = await client.get(
        "/v1/difficult-cases", params={"status": "pending"}, headers=world.auth("supervisor")
    )
    assert [i["case_id"] for i in both.json()["items"]] == [december.id, january.id]
    jan_item = both.json()["items"][1]
    assert [(d["name"], d["role"]) for d in jan_item["departments"]] == [
        ("区生态环境局", "lead"),
        ("区城管局", "co"),
    ]
    assert (
        await client.get(
            "/v1/difficult-cases", params={"status": "decided"}, headers=world.auth("supervisor")
        )
    ).json()["items"] == []
    # The mark is in the case's own log, not on its public timeline.
    marked_events = await session.scalars(
        select(CaseEvent).where(CaseEvent.case_id == december.id, CaseEvent.type == "marked_difficult")
    )
    assert [e.public for e in marked_events] == [False]


async def test_marking_rules(client: httpx.AsyncClient, session: AsyncSession, world: World) -> None:
    received = await new_case(session, world)
    case = await dispatched_case(session, world)
    await session.commit()

    not_handled = await client.post(
        f"/v1/cases/{received.id}/difficult", json={"reason": "久拖未决"}, headers=world.auth("supervisor")
    )
    assert (not_handled.status_code, not_handled.json()["error"]["code"]) == (409, "case_not_markable")
    by_admin = await client.post(
        f"/v1/cases/{case.id}/difficult", json={"reason": "久拖未决"}, headers=world.auth("admin")
    )
    assert by_admin.status_code == 403
    blank = await client.post(
        f"/v1/cases/{case.id}/difficult", json={"reason": "   "}, headers=world.auth("supervisor")
    )
    assert blank.status_code == 422
    marked = await _mark(client, world, case, meeting_date=None)
    assert marked["meeting_date"] is None
    again = await client.post(
        f"/v1/cases/{case.id}/difficult", json={"reason": "再次提交"}, headers=world.auth("supervisor")
    )
    assert (again.status_code, again.json()["error"]["code"]) == (409, "already_marked_difficult")

    moved = await client.patch(
        f"/v1/difficult-cases/{marked['id']}",
        json={"meeting_date": "2026-12-10"},
        headers=world.auth("supervisor"),
    )
    assert moved.status_code == 200 and moved.json()["meeting_date"] == "2026-12-10"
    withdrawn = await client.post(
        f"/v1/difficult-cases/{marked['id']}/withdraw", headers=world.auth("supervisor")
    )
    assert (withdrawn.status_code, withdrawn.json()["status"]) == (200, "withdrawn")
    too_late = await _decide(client, world, marked["id"], "environment")
    assert (too_late.status_code, too_late.json()["error"]["code"]) == (409, "difficult_case_not_pending")
    # Withdrawn, the case can go to a later meeting.
    await _mark(client, world, case, meeting_date="2027-01-14")


async def test_decision_replaces_the_lead_with_the_decided_deadline(
    client: httpx.AsyncClient, routing: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    case = await dispatched_case(session, world)
    assert (await deliver(client, session, case, "case.dispatched")).status_code == 200
    old_lead = await assignment_of(session, case, world.departments["urban_mgmt"].id)
    marked = await _mark(client, world, case)

    due = _due()
    response = await _decide(
        client, world, marked["id"], "environment", ("street_office",), due_at=due.isoformat()
    )

    assert response.status_code == 200, response.text
    decided = response.json()
    assert decided["status"] == "decided"
    environment, office = world.departments["environment"].id, world.departments["street_office"].id
    assert decided["decision"]["lead_department_id"] == environment
    assert decided["decision"]["co_department_ids"] == [office]
    assert datetime.fromisoformat(decided["decision"]["due_at"]) == due
    assert [(d["department_id"], d["role"], d["status"]) for d in decided["departments"]] == [
        (environment, "lead", "pending"),
        (office, "co", "pending"),
    ]
    old, lead, co = await _assignments(session, case)
    assert (old.id, old.status, old.withdrawn_at is not None) == (old_lead.id, "withdrawn", True)
    assert (lead.department_id, lead.role, lead.status) == (environment, "lead", "pending")
    assert (co.department_id, co.role, co.status) == (office, "co", "pending")
    assert datetime.now(UTC) - lead.dispatched_at < timedelta(minutes=1)
    await session.refresh(case)
    assert case.status == "dispatched"

    lead_deadlines = await _deadlines(session, lead)
    assert (lead_deadlines["reply"].tier, lead_deadlines["reply"].due_at) == ("meeting", due)
    assert {"accept", "decline", "reply"} <= set(lead_deadlines)
    assert "co_opinion" in await _deadlines(session, co)
    assert await _deadlines(session, old) == {}  # the withdrawn unit's deadlines were superseded

    event = (
        await session.scalars(
            select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id.desc()).limit(1)
        )
    ).one()
    assert (event.type, event.public, event.actor_type) == ("dispatched", True, "supervisor")
    assert event.data["decision"] is True
    assert event.data["department_names"] == ["区生态环境局", "双塔街道办事处"]
    assert event.data["note"] == "由区生态环境局牵头，双塔街道配合"
    outbox = (
        await session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.case_id == case.id, OutboxEvent.type == "case.dispatched")
            .order_by(OutboxEvent.id.desc())
            .limit(1)
        )
    ).one()
    assert outbox.payload["decided_by_meeting"] is True
    assert outbox.payload["assignment_ids"] == [lead.id, co.id]
    assert outbox.payload["department_ids"] == sorted([environment, office])
    assert "note" not in outbox.payload

    # The event comes back to supervision: the windows are in place, the meeting's deadline is kept.
    handled = await deliver(client, session, case, "case.dispatched")
    assert [r["status"] for r in handled.json()["results"]] == ["applied"]
    after = await _deadlines(session, lead)
    assert (after["reply"].tier, after["reply"].due_at) == ("meeting", due)
    assert after["accept"].id == lead_deadlines["accept"].id

    # The new lead finds it through routing_api, with the decided reply deadline; the old one sees it withdrawn.
    mine = await routing.get("/v1/assignments", headers=world.auth("dept:environment"))
    [item] = mine.json()["items"]
    assert (item["id"], item["status"], item["role"]) == (lead.id, "pending", "lead")
    assert datetime.fromisoformat(item["reply_due_at"]) == due
    theirs = await routing.get("/v1/assignments", headers=world.auth("dept:urban_mgmt"))
    assert [(i["id"], i["status"]) for i in theirs.json()["items"]] == [(old.id, "withdrawn")]
    accepted = await routing.post(f"/v1/assignments/{lead.id}/accept", headers=world.auth("dept:environment"))
    assert accepted.status_code == 200, accepted.text
    await session.refresh(case)
    assert case.status == "in_progress"

    twice = await _decide(client, world, marked["id"], "urban_mgmt")
    assert (twice.status_code, twice.json()["error"]["code"]) == (409, "difficult_case_not_pending")


async def test_a_case_in_progress_keeps_its_state_and_a_kept_lead_gets_the_new_deadline(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    kept_case = await dispatched_case(session, world)
    replaced_case = await dispatched_case(session, world)
    for case in (kept_case, replaced_case):
        assert (await deliver(client, session, case, "case.dispatched")).status_code == 200
        await accept(session, case, await assignment_of(session, case, world.departments["urban_mgmt"].id))
        assert (await deliver(client, session, case, "case.accepted")).status_code == 200
    kept_mark = await _mark(client, world, kept_case)
    replaced_mark = await _mark(client, world, replaced_case)
    due = _due()

    kept = await _decide(
        client, world, kept_mark["id"], "urban_mgmt", ("environment",), due_at=due.isoformat()
    )
    replaced = await _decide(client, world, replaced_mark["id"], "environment", due_at=due.isoformat())

    assert (kept.status_code, replaced.status_code) == (200, 200)
    lead, co = await _assignments(session, kept_case)
    assert (lead.department_id, lead.status, lead.accepted_at is not None) == (
        world.departments["urban_mgmt"].id,
        "accepted",
        True,
    )
    assert (co.role, co.status) == ("co", "pending")
    reply = (await _deadlines(session, lead))["reply"]
    assert (reply.tier, reply.due_at, reply.met_at) == ("meeting", due, None)
    assert datetime.now(UTC) - reply.starts_at < timedelta(minutes=1)
    # The deadline it replaced stays as history, superseded by the decision.
    replaced_rows = await session.scalars(
        select(Deadline).where(
            Deadline.assignment_id == lead.id, Deadline.kind == "reply", Deadline.superseded_at.is_not(None)
        )
    )
    assert [d.tier for d in replaced_rows] == ["week"]
    assert (await _deadlines(session, co))["co_opinion"].due_at < due

    old, new = await _assignments(session, replaced_case)
    assert (old.status, new.status, new.role) == ("withdrawn", "pending", "lead")
    for case in (kept_case, replaced_case):
        await session.refresh(case)
        # The workflow has no way from in_progress back to dispatched: the case stays in progress.
        assert case.status == "in_progress"


async def test_decision_input_is_checked(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    case = await dispatched_case(session, world)
    await session.commit()
    marked = await _mark(client, world, case)

    lead_as_co = await _decide(client, world, marked["id"], "street_office", ("street_office",))
    assert (lead_as_co.status_code, lead_as_co.json()["error"]["details"][0]["field"]) == (
        422,
        "co_department_ids",
    )
    twice_co = await _decide(client, world, marked["id"], "street_office", ("environment", "environment"))
    assert twice_co.status_code == 422
    past = await _decide(
        client,
        world,
        marked["id"],
        "environment",
        due_at=(datetime.now(UTC) - timedelta(hours=1)).isoformat(),
    )
    assert (past.status_code, past.json()["error"]["details"][0]["field"]) == (422, "due_at")
    naive = await _decide(client, world, marked["id"], "environment", due_at="2027-01-01T10:00:00")
    assert naive.status_code == 422

    other = await build_world(session, code="WJ", name="吴江区")
    await session.commit()
    foreign = await _decide(
        client, world, marked["id"], "environment", lead_department_id=other.departments["environment"].id
    )
    assert (foreign.status_code, foreign.json()["error"]["details"][0]["field"]) == (
        422,
        "lead_department_id",
    )
    hidden = await client.get(f"/v1/difficult-cases/{marked['id']}", headers=other.auth("supervisor"))
    assert (hidden.status_code, hidden.json()["error"]["code"]) == (404, "difficult_case_not_found")
    assert (await client.get("/v1/difficult-cases", headers=other.auth("supervisor"))).json()["items"] == []
    assert (await _decide(client, other, marked["id"], "environment")).status_code == 404
    assert (
        await client.get(f"/v1/difficult-cases/{marked['id']}", headers=world.auth("dispatcher"))
    ).status_code == 403
    # Nothing changed.
    [only] = await _assignments(session, case)
    assert only.status == "pending"
