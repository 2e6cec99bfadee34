"""Follow-ups (回头看): made when a case of a flagged category (or under key supervision) closes, once per
closing; GET /v1/follow-ups lists them; POST /v1/follow-ups/{id}/result records the revisit, and a problem
found back sends the case to rework with a new reply deadline and its lead department's assignment reopened.
Deputies record them for the cases raised through their own codes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from routing_api.app import create_app as create_routing_app
from services.workflow import rate
from services.workflow.actors import CITIZEN
from shared.db.enums import Rating
from shared.db.models import (
    Assignment,
    Case,
    CaseEvent,
    Deadline,
    Deputy,
    FollowUp,
    OutboxEvent,
    SupervisionSettings,
)
from shared.events.outbox import message_id
from tests.asgi import client_for, running
from tests.factories import World, add_key, build_world
from tests.internal_events import signed_batch
from tests.supervision_api.arrange import accept, assignment_of, deliver, dispatched_case, reply


async def _closed_case(
    client: httpx.AsyncClient,
    session: AsyncSession,
    world: World,
    *,
    category: str = "urban.sanitation",
    **fields: object,
) -> tuple[Case, Assignment]:
    """A case handled by urban_mgmt, replied to, rated satisfied and closed, supervision told at each step."""
    case = await dispatched_case(
        session, world, at=datetime.now(UTC) - timedelta(days=3), category=category, **fields
    )
    assert (await deliver(client, session, case, "case.dispatched")).status_code == 200
    lead = await assignment_of(session, case, world.departments["urban_mgmt"].id)
    await accept(session, case, lead)
    await reply(session, case, lead)
    assert (await deliver(client, session, case, "case.replied")).status_code == 200
    await _close(client, session, case)
    return case, lead


async def _close(client: httpx.AsyncClient, session: AsyncSession, case: Case) -> None:
    await rate(session, case, source="citizen", rating=Rating.satisfied, comment=None, actor=CITIZEN)
    assert (await deliver(client, session, case, "case.closed")).status_code == 200


async def _flag(session: AsyncSession, world: World, category: str = "urban") -> None:
    world.categories[category].follow_up = True
    await session.commit()


async def _follow_ups(session: AsyncSession, case: Case) -> list[FollowUp]:
    rows = await session.scalars(
        select(FollowUp)
        .where(FollowUp.case_id == case.id)
        .order_by(FollowUp.id)
        .execution_options(populate_existing=True)
    )
    return list(rows)


async def _result(
    client: httpx.AsyncClient,
    world: World,
    follow_up_id: int,
    body: dict[str, object],
    who: str = "supervisor",
) -> httpx.Response:
    return await client.post(f"/v1/follow-ups/{follow_up_id}/result", json=body, headers=world.auth(who))


async def _to_routing(session: AsyncSession, case: Case, type_: str) -> tuple[bytes, dict[str, str]]:
    row = (
        await session.execute(
            select(OutboxEvent)
            .where(OutboxEvent.case_id == case.id, OutboxEvent.type == type_)
            .order_by(OutboxEvent.id.desc())
            .limit(1)
        )
    ).scalar_one()
    return signed_batch("routing", [(message_id(row.event_id), row.type, row.occurred_at, row.payload)])


async def test_closing_a_case_of_a_flagged_category_makes_one_follow_up(
    client: httpx.AsyncClient, session: AsyncSession, world: World, engine: AsyncEngine
) -> None:
    # The admin flags 城市管理 through routing; its subcategory 市容环卫's cases are followed up.
    routing = create_routing_app(engine)
    async with running(routing), client_for(routing) as admin_client:
        flagged = await admin_client.patch(
            f"/v1/categories/{world.categories['urban'].id}",
            json={"follow_up": True},
            headers=world.auth("admin"),
        )
    assert flagged.status_code == 200 and flagged.json()["follow_up"] is True
    case, _ = await _closed_case(client, session, world)

    (follow_up,) = await _follow_ups(session, case)
    assert (follow_up.status, follow_up.reason, follow_up.round) == ("pending", "category", 0)
    assert case.closed_at is not None
    assert follow_up.due_at == case.closed_at + timedelta(days=30)

    # The same case.closed again, as a redelivery under a new message id would bring it: still one.
    body, headers = signed_batch(
        "supervision",
        [
            (f"msg_{uuid.uuid4().hex}", row.type, row.occurred_at, row.payload)
            for row in await session.scalars(
                select(OutboxEvent).where(OutboxEvent.case_id == case.id, OutboxEvent.type == "case.closed")
            )
        ],
    )
    assert (await client.post("/internal/events", content=body, headers=headers)).status_code == 200
    assert (await deliver(client, session, case, "case.closed")).status_code == 200
    assert len(await _follow_ups(session, case)) == 1


async def test_the_policy_sets_when_it_is_due_and_unflagged_categories_get_none(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    session.add(SupervisionSettings(jurisdiction_id=world.jurisdiction.id, follow_up_days=14))
    await _flag(session, world, "urban.sanitation")
    followed, _ = await _closed_case(client, session, world)
    unflagged, _ = await _closed_case(client, session, world, category="urban")

    (follow_up,) = await _follow_ups(session, followed)
    assert followed.closed_at is not None
    assert follow_up.due_at == followed.closed_at + timedelta(days=14)
    assert await _follow_ups(session, unflagged) == []


async def test_every_key_supervision_case_is_followed_up(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    case, _ = await _closed_case(client, session, world, supervision_level="key")
    (follow_up,) = await _follow_ups(session, case)
    assert follow_up.reason == "key"


async def test_not_solved_sends_the_case_back_to_its_lead_department(
    client: httpx.AsyncClient, session: AsyncSession, world: World, engine: AsyncEngine
) -> None:
    await _flag(session, world)
    case, lead = await _closed_case(client, session, world)
    (follow_up,) = await _follow_ups(session, case)

    no_note = await _result(client, world, follow_up.id, {"still_solved": False})
    assert no_note.status_code == 422
    assert no_note.json()["error"]["details"][0]["field"] == "note"
    recorded = await _result(
        client,
        world,
        follow_up.id,
        {"still_solved": False, "note": "垃圾桶又满溢，清运未落实", "visited_by": "李干事"},
    )

    assert recorded.status_code == 200, recorded.text
    out = recorded.json()
    assert (out["status"], out["still_solved"], out["visited_by"]) == ("done", False, "李干事")
    assert out["case_status"] == "rework" and out["deputy_id"] is None
    assert out["recorded_by"]["type"] == "supervisor"
    await session.refresh(case)
    assert (case.status, case.rework_round, case.closed_at) == ("rework", 1, None)
    # The rework reply deadline of the lead department, round 1, is set at once.
    rework_deadline = await session.scalar(
        select(Deadline).where(
            Deadline.assignment_id == lead.id, Deadline.kind == "reply", Deadline.round == 1
        )
    )
    assert rework_deadline is not None and rework_deadline.tier == "rework"
    assert rework_deadline.met_at is None and rework_deadline.due_soon_at is not None
    events = {e.type: e for e in await session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id))}
    assert events["follow_up_recorded"].public is True
    assert events["rework"].data["reason"] == "follow_up"
    rework_out = await session.scalar(
        select(OutboxEvent).where(OutboxEvent.case_id == case.id, OutboxEvent.type == "case.rework")
    )
    assert rework_out is not None and rework_out.payload["follow_up_id"] == follow_up.id
    assert "清运未落实" not in str(rework_out.payload)

    # Routing hears case.rework and reopens the lead's assignment; supervision hearing it adds nothing.
    routing = create_routing_app(engine)
    async with running(routing), client_for(routing) as routing_client:
        body, headers = await _to_routing(session, case, "case.rework")
        assert (
            await routing_client.post("/internal/events", content=body, headers=headers)
        ).status_code == 200
        assignment = await routing_client.get(
            f"/v1/assignments/{lead.id}", headers=world.auth("dept:urban_mgmt")
        )
    assert assignment.json()["status"] == "accepted"
    assert datetime.fromisoformat(assignment.json()["reply_due_at"]) == rework_deadline.due_at
    assert (await deliver(client, session, case, "case.rework")).status_code == 200
    rounds = await session.scalars(
        select(Deadline.round).where(Deadline.assignment_id == lead.id, Deadline.kind == "reply")
    )
    assert sorted(rounds) == [0, 1]

    # Recorded once; and when the case closes again it is followed up again.
    again = await _result(client, world, follow_up.id, {"still_solved": True})
    assert again.status_code == 409 and again.json()["error"]["code"] == "follow_up_recorded"
    reopened = await session.get(Assignment, lead.id, populate_existing=True)
    assert reopened is not None
    await reply(session, case, reopened)
    assert (await deliver(client, session, case, "case.replied")).status_code == 200
    await _close(client, session, case)
    assert [(f.round, f.status) for f in await _follow_ups(session, case)] == [(0, "done"), (1, "pending")]


async def test_still_solved_closes_the_follow_up_and_leaves_the_case_closed(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    await _flag(session, world)
    case, _ = await _closed_case(client, session, world)
    (follow_up,) = await _follow_ups(session, case)

    recorded = await _result(client, world, follow_up.id, {"still_solved": True, "note": "已彻底解决"})

    assert recorded.status_code == 200, recorded.text
    assert (recorded.json()["status"], recorded.json()["still_solved"]) == ("done", True)
    await session.refresh(case)
    assert case.status == "closed" and case.rework_round == 0
    assert (
        await session.scalar(
            select(OutboxEvent.id).where(OutboxEvent.case_id == case.id, OutboxEvent.type == "case.rework")
        )
    ) is None
    follow_up_event = await session.scalar(
        select(OutboxEvent).where(
            OutboxEvent.case_id == case.id, OutboxEvent.type == "case.follow_up_recorded"
        )
    )
    assert follow_up_event is not None
    assert follow_up_event.payload["still_solved"] is True and "note" not in follow_up_event.payload


async def test_a_deputy_records_follow_ups_of_cases_raised_through_their_codes_only(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    await _flag(session, world)
    theirs, _ = await _closed_case(client, session, world, deputy_id=world.deputy.id)
    station_case, _ = await _closed_case(client, session, world)
    colleague = Deputy(jurisdiction_id=world.jurisdiction.id, name="陈代表", level="county")
    session.add(colleague)
    await session.flush()
    world.keys["colleague"] = await add_key(session, world.jurisdiction.id, "deputy", deputy_id=colleague.id)
    await session.commit()
    (own,) = await _follow_ups(session, theirs)
    (not_own,) = await _follow_ups(session, station_case)

    listed = await client.get("/v1/follow-ups", headers=world.auth("deputy"))
    assert [i["id"] for i in listed.json()["items"]] == [own.id]
    assert (await client.get("/v1/follow-ups", headers=world.auth("colleague"))).json()["items"] == []
    for who, follow_up in (("colleague", own), ("deputy", not_own)):
        refused = await _result(client, world, follow_up.id, {"still_solved": True}, who)
        assert refused.status_code == 404
        assert refused.json()["error"]["code"] == "follow_up_not_found"

    recorded = await _result(client, world, own.id, {"still_solved": True, "visited_by": "王代表"}, "deputy")
    assert recorded.status_code == 200, recorded.text
    assert recorded.json()["deputy_id"] == world.deputy.id
    assert recorded.json()["recorded_by"] == {"type": "deputy", "id": world.deputy.id}
    (stored,) = await _follow_ups(session, theirs)
    assert stored.deputy_id == world.deputy.id


@pytest.mark.parametrize("who", ["dispatcher", "dept:urban_mgmt", "integrator"])
async def test_other_roles_are_forbidden(
    client: httpx.AsyncClient, session: AsyncSession, world: World, who: str
) -> None:
    await _flag(session, world)
    case, _ = await _closed_case(client, session, world)
    (follow_up,) = await _follow_ups(session, case)
    assert (await client.get("/v1/follow-ups", headers=world.auth(who))).status_code == 403
    assert (await _result(client, world, follow_up.id, {"still_solved": True}, who)).status_code == 403


async def test_admins_read_supervisors_record_and_other_jurisdictions_see_nothing(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    await _flag(session, world)
    case, _ = await _closed_case(client, session, world)
    (follow_up,) = await _follow_ups(session, case)
    other = await build_world(session, code="XC", name="相城区")
    await session.commit()

    assert len((await client.get("/v1/follow-ups", headers=world.auth("admin"))).json()["items"]) == 1
    assert (await _result(client, world, follow_up.id, {"still_solved": True}, "admin")).status_code == 403
    assert (await client.get("/v1/follow-ups", headers=other.auth("supervisor"))).json()["items"] == []
    theirs = await client.post(
        f"/v1/follow-ups/{follow_up.id}/result",
        json={"still_solved": True},
        headers=other.auth("supervisor"),
    )
    assert theirs.status_code == 404
    assert (await _follow_ups(session, case))[0].status == "pending"


async def test_the_list_filters_by_due_time_and_status_in_pages(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    await _flag(session, world)
    cases = [(await _closed_case(client, session, world))[0] for _ in range(3)]
    first, second, third = [(await _follow_ups(session, c))[0] for c in cases]
    third.due_at = datetime.now(UTC) + timedelta(days=60)
    await session.commit()
    assert (await _result(client, world, second.id, {"still_solved": True})).status_code == 200
    supervisor = world.auth("supervisor")

    async def ids(**params: object) -> list[int]:
        response = await client.get("/v1/follow-ups", params=params, headers=supervisor)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert await ids() == [first.id, second.id, third.id]
    assert await ids(status="pending") == [first.id, third.id]
    assert await ids(status="done") == [second.id]
    soon = (datetime.now(UTC) + timedelta(days=45)).isoformat()
    assert await ids(due_before=soon) == [first.id, second.id]
    assert await ids(due_before=soon, status="pending") == [first.id]
    page = (await client.get("/v1/follow-ups?limit=2", headers=supervisor)).json()
    assert [i["id"] for i in page["items"]] == [first.id, second.id]
    assert await ids(cursor=page["next_cursor"]) == [third.id]
    for bad in ("status=open", "due_before=2026-12-01", "cursor=nope"):
        assert (await client.get(f"/v1/follow-ups?{bad}", headers=supervisor)).status_code == 422
