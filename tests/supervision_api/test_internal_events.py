"""Deadlines follow the case events supervision receives, signed, on /internal/events."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.supervision.events import SUBSCRIBED_EVENTS
from services.workflow import Actor, change_status, record_event
from shared.db.enums import CaseStatus
from shared.db.models import Case, Deadline, InboxMessage
from shared.events.relay import Relay
from shared.events.subscriptions import ensure_internal_endpoint
from shared.settings import get_settings
from tests.asgi import HostRouter
from tests.factories import World
from tests.supervision_api.arrange import (
    SEPT_30,
    SHANGHAI,
    accept,
    assignment_of,
    decline,
    deliver,
    dispatched_case,
    reopen_for_rework,
    reply,
    signed_event,
)


async def _deadlines(session: AsyncSession, case: Case) -> dict[tuple[str, int | None, int], Deadline]:
    rows = (
        await session.execute(
            select(Deadline).where(Deadline.case_id == case.id).execution_options(populate_existing=True)
        )
    ).scalars()
    return {(d.kind, d.assignment_id, d.round): d for d in rows}


def _local(moment: datetime) -> datetime:
    return moment.astimezone(SHANGHAI)


async def test_dispatch_sets_accept_decline_and_reply_deadlines_on_the_working_day_calendar(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    case = await dispatched_case(session, world, tier="week")
    lead = await assignment_of(session, case, world.departments["urban_mgmt"].id)

    response = await deliver(client, session, case, "case.dispatched")

    assert response.status_code == 200
    assert [r["status"] for r in response.json()["results"]] == ["applied"]
    deadlines = await _deadlines(session, case)
    assert set(deadlines) == {("accept", lead.id, 0), ("decline", lead.id, 0), ("reply", lead.id, 0)}
    # National Day week is off and Saturday 10-10 is worked: 10-08, 09, 10, 12, 13.
    assert _local(deadlines["reply", lead.id, 0].due_at) == datetime(2026, 10, 13, 10, 0, tzinfo=SHANGHAI)
    assert deadlines["reply", lead.id, 0].tier == "week"
    assert _local(deadlines["accept", lead.id, 0].due_at) == datetime(2026, 10, 8, 10, 0, tzinfo=SHANGHAI)
    assert _local(deadlines["decline", lead.id, 0].due_at) == datetime(2026, 10, 10, 10, 0, tzinfo=SHANGHAI)
    assert all(d.met_at is None and d.starts_at == SEPT_30 for d in deadlines.values())


async def test_the_same_event_twice_sets_one_set_of_deadlines(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    case = await dispatched_case(session, world)
    await session.commit()
    body, headers = await signed_event(session, case, "case.dispatched")

    first = await client.post("/internal/events", content=body, headers=headers)
    second = await client.post("/internal/events", content=body, headers=headers)

    assert (first.status_code, second.status_code) == (200, 200)
    msg_id = json.loads(body)["events"][0]["id"]
    assert second.json() == {"results": [{"id": msg_id, "status": "duplicate"}]}
    assert len(await _deadlines(session, case)) == 3
    inbox = (await session.execute(select(InboxMessage))).scalars().all()
    assert [(m.consumer, m.message_id) for m in inbox] == [("supervision", msg_id)]


async def test_a_repeated_dispatch_under_a_new_id_adds_nothing(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    case = await dispatched_case(session, world)
    assert (await deliver(client, session, case, "case.dispatched")).status_code == 200
    before = {key: d.due_at for key, d in (await _deadlines(session, case)).items()}
    # Another case.dispatched (a new message id) for the same assignments finds every deadline in place.
    await record_event(session, case, "dispatched", Actor("dispatcher"))
    again = await deliver(client, session, case, "case.dispatched")
    assert again.status_code == 200
    after = {key: d.due_at for key, d in (await _deadlines(session, case)).items()}
    assert after == before


async def test_a_bad_signature_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    case = await dispatched_case(session, world)
    await session.commit()
    body, headers = await signed_event(session, case, "case.dispatched")

    forged = await client.post(
        "/internal/events", content=body, headers={**headers, "webhook-signature": "v1,AAAA"}
    )
    tampered = await client.post(
        "/internal/events", content=body.replace(b"urban", b"xurban"), headers=headers
    )
    unsigned = await client.post("/internal/events", content=body)

    assert [r.status_code for r in (forged, tampered, unsigned)] == [401, 401, 401]
    assert forged.json()["error"]["code"] == "unauthorized"
    assert await _deadlines(session, case) == {}
    assert (await session.execute(select(InboxMessage))).first() is None


async def test_co_handler_opinion_is_due_five_working_days_before_the_lead(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    case = await dispatched_case(
        session,
        world,
        category="environment",
        tier="month",
        assignments=(("environment", "lead"), ("urban_mgmt", "co")),
    )
    lead = await assignment_of(session, case, world.departments["environment"].id)
    co = await assignment_of(session, case, world.departments["urban_mgmt"].id)

    assert (await deliver(client, session, case, "case.dispatched")).status_code == 200

    deadlines = await _deadlines(session, case)
    assert _local(deadlines["reply", lead.id, 0].due_at) == datetime(2026, 10, 30, 10, 0, tzinfo=SHANGHAI)
    # Back from Friday 10-30: 29, 28, 27, 26 and Friday 10-23.
    assert _local(deadlines["co_opinion", co.id, 0].due_at) == datetime(2026, 10, 23, 10, 0, tzinfo=SHANGHAI)
    assert ("reply", co.id, 0) not in deadlines  # co-handlers give opinions, not replies
    assert ("accept", co.id, 0) in deadlines and ("decline", co.id, 0) in deadlines


async def test_a_co_handler_s_opinion_meets_its_deadline(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    case = await dispatched_case(
        session, world, category="environment", assignments=(("environment", "lead"), ("urban_mgmt", "co"))
    )
    lead = await assignment_of(session, case, world.departments["environment"].id)
    co = await assignment_of(session, case, world.departments["urban_mgmt"].id)
    assert (await deliver(client, session, case, "case.dispatched")).status_code == 200
    await accept(session, case, lead)
    await accept(session, case, co)
    # Routing logs the opinion as an internal case event; another department's event does not count.
    earlier = datetime.now(UTC) - timedelta(minutes=1)
    await record_event(
        session, case, "co_opinion", Actor("department", lead.department_id), data={}, at=earlier
    )
    opinion = await record_event(session, case, "co_opinion", Actor("department", co.department_id), data={})
    assert (await deliver(client, session, case, "case.accepted")).status_code == 200
    deadlines = await _deadlines(session, case)
    assert deadlines["co_opinion", co.id, 0].met_at == opinion.at
    assert deadlines["accept", co.id, 0].met_at == co.accepted_at


async def test_co_handler_opinion_is_never_due_before_dispatch(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    case = await dispatched_case(
        session,
        world,
        category="environment",
        tier="immediate",
        assignments=(("environment", "lead"), ("urban_mgmt", "co")),
    )
    co = await assignment_of(session, case, world.departments["urban_mgmt"].id)
    assert (await deliver(client, session, case, "case.dispatched")).status_code == 200
    deadlines = await _deadlines(session, case)
    assert deadlines["co_opinion", co.id, 0].due_at == SEPT_30


async def test_accept_meets_the_accept_deadline_and_decline_supersedes(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    case = await dispatched_case(
        session, world, assignments=(("urban_mgmt", "lead"), ("street_office", "separate"))
    )
    lead = await assignment_of(session, case, world.departments["urban_mgmt"].id)
    separate = await assignment_of(session, case, world.departments["street_office"].id)
    assert (await deliver(client, session, case, "case.dispatched")).status_code == 200
    accepted_at = datetime(2026, 10, 8, 9, 0, tzinfo=SHANGHAI)

    await accept(session, case, lead, at=accepted_at)
    assert (await deliver(client, session, case, "case.accepted")).status_code == 200
    await decline(session, case, separate)
    assert (await deliver(client, session, case, "case.declined")).status_code == 200

    deadlines = await _deadlines(session, case)
    assert deadlines["accept", lead.id, 0].met_at == accepted_at
    assert deadlines["reply", lead.id, 0].met_at is None
    assert deadlines["decline", lead.id, 0].superseded_at is None
    for kind in ("accept", "decline", "reply"):
        assert deadlines[kind, separate.id, 0].superseded_at is not None
        assert deadlines[kind, separate.id, 0].met_at is None
    view = (await client.get(f"/v1/cases/{case.id}", headers=world.auth("supervisor"))).json()
    assert {d["assignment_id"] for d in view["deadlines"]} == {lead.id}  # superseded ones are not shown


async def test_an_acceptance_handled_before_the_dispatch_still_counts(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    case = await dispatched_case(session, world)
    lead = await assignment_of(session, case, world.departments["urban_mgmt"].id)
    accepted_at = datetime(2026, 9, 30, 15, 0, tzinfo=SHANGHAI)
    await accept(session, case, lead, at=accepted_at)

    assert (await deliver(client, session, case, "case.accepted")).status_code == 200
    assert await _deadlines(session, case) == {}
    assert (await deliver(client, session, case, "case.dispatched")).status_code == 200

    deadlines = await _deadlines(session, case)
    assert deadlines["accept", lead.id, 0].met_at == accepted_at


async def test_reply_rating_rework_and_closing(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    case = await dispatched_case(session, world)
    lead = await assignment_of(session, case, world.departments["urban_mgmt"].id)
    assert (await deliver(client, session, case, "case.dispatched")).status_code == 200
    await accept(session, case, lead)
    await reply(session, case, lead)

    assert (await deliver(client, session, case, "case.replied")).status_code == 200

    deadlines = await _deadlines(session, case)
    assert deadlines["reply", lead.id, 0].met_at == lead.replied_at
    rating = deadlines["rating", None, 0]
    assert case.replied_at is not None
    assert rating.starts_at == case.replied_at and rating.met_at is None
    assert rating.due_at == case.replied_at + timedelta(days=10)  # calendar days, same clock time

    # Dissatisfied: rework. Routing reopens the lead assignment.
    await change_status(session, case, CaseStatus.rework, "rework", Actor("citizen"))
    reopen_for_rework(lead)
    assert (await deliver(client, session, case, "case.rework")).status_code == 200

    deadlines = await _deadlines(session, case)
    assert deadlines["rating", None, 0].superseded_at is not None
    rework = deadlines["reply", lead.id, 1]
    assert rework.tier == "rework" and rework.met_at is None
    rework_at = _local(rework.starts_at)
    due = _local(rework.due_at)
    assert (due.year * 12 + due.month) - (rework_at.year * 12 + rework_at.month) == 1  # one calendar month
    assert due.time() == rework_at.time()

    await reply(session, case, lead)
    assert (await deliver(client, session, case, "case.replied")).status_code == 200
    deadlines = await _deadlines(session, case)
    assert deadlines["reply", lead.id, 1].met_at == lead.replied_at
    assert deadlines["rating", None, 1].met_at is None

    case.close_reason = "rated"
    await change_status(session, case, CaseStatus.closed, "closed", Actor("citizen"))
    assert (await deliver(client, session, case, "case.closed")).status_code == 200
    deadlines = await _deadlines(session, case)
    assert deadlines["rating", None, 1].met_at == case.closed_at
    assert deadlines["rating", None, 0].met_at is None  # the superseded round stays superseded


async def test_a_reply_counts_even_if_routing_reopened_the_assignment_first(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    case = await dispatched_case(session, world)
    lead = await assignment_of(session, case, world.departments["urban_mgmt"].id)
    assert (await deliver(client, session, case, "case.dispatched")).status_code == 200
    await accept(session, case, lead)
    await reply(session, case, lead)
    replied_at = lead.replied_at
    # Rated dissatisfied at once; routing reopened the assignment before supervision saw case.replied.
    await change_status(session, case, CaseStatus.rework, "rework", Actor("citizen"))
    reopen_for_rework(lead)

    assert (await deliver(client, session, case, "case.replied")).status_code == 200
    assert (await deliver(client, session, case, "case.rework")).status_code == 200

    deadlines = await _deadlines(session, case)
    assert deadlines["reply", lead.id, 0].met_at == replied_at
    assert deadlines["reply", lead.id, 1].met_at is None
    assert ("rating", None, 0) not in deadlines  # it was rated before its window was recorded


async def test_the_relay_delivers_dispatch_events_to_supervision(
    engine, app, session: AsyncSession, world: World
) -> None:
    await ensure_internal_endpoint(session, "supervision", "http://supervision", SUBSCRIBED_EVENTS)
    case = await dispatched_case(session, world)
    lead = await assignment_of(session, case, world.departments["urban_mgmt"].id)
    await session.commit()

    async with Relay(engine, get_settings(), transport=HostRouter({"supervision": app})) as relay:
        await relay.fan_out()
        # A case's events go one at a time: case.received (duty points) first, then case.dispatched.
        assert await relay.deliver_due() == 1
        assert await relay.deliver_due() == 1
    deadlines = await _deadlines(session, case)
    assert _local(deadlines["reply", lead.id, 0].due_at) == datetime(2026, 10, 13, 10, 0, tzinfo=SHANGHAI)
