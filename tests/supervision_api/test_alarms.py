"""Due-soon and overdue: raised once per deadline, in order, never for a deadline met or superseded, even with
several scanners at once; overdue accepts and replies climb the escalation ladder, never down; the admin's
fractions move the alarms."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.supervision.alarms import raise_alarms, scan
from services.supervision.levels import change_level
from services.worker import run_scheduler
from services.workflow import Actor
from shared.db.engine import session_factory
from shared.db.models import Case, Deadline, OutboxEvent, SupervisionChange
from shared.settings import get_settings
from tests.factories import World, build_world
from tests.supervision_api.arrange import accept, assignment_of, decline, deliver, dispatched_case

ALARMS = ("case.due_soon", "case.overdue")
LATER = datetime.now(UTC) + timedelta(
    days=400
)  # every deadline of a case dispatched on 2026-09-30 has passed


async def _alarms(session: AsyncSession, case_id: int | None = None) -> list[tuple[str, dict[str, Any]]]:
    """The due-soon and overdue events in the outbox (of one case, or all), in the order they were written."""
    query = select(OutboxEvent.type, OutboxEvent.payload).where(OutboxEvent.type.in_(ALARMS))
    if case_id is not None:
        query = query.where(OutboxEvent.case_id == case_id)
    rows = await session.execute(query.order_by(OutboxEvent.id))
    return [(type_, payload) for type_, payload in rows.tuples()]


async def _levels(session: AsyncSession, case_id: int) -> list[tuple[str | None, str, str]]:
    rows = await session.execute(
        select(SupervisionChange.previous_level, SupervisionChange.level, SupervisionChange.source)
        .where(SupervisionChange.case_id == case_id)
        .order_by(SupervisionChange.id)
    )
    return [tuple(row) for row in rows.tuples()]  # type: ignore[misc]


async def _dispatched(session: AsyncSession, client: httpx.AsyncClient, world: World, **fields: Any) -> Case:
    case = await dispatched_case(session, world, **fields)
    assert (await deliver(client, session, case, "case.dispatched")).status_code == 200
    return case


async def test_a_case_goes_due_soon_then_overdue_in_seconds(
    client: httpx.AsyncClient, session: AsyncSession, engine: AsyncEngine, world: World
) -> None:
    """The worker's own scheduler, every 0.2 s, on a case whose accept window is 2 s and reply 5 s."""
    policies = await client.put(
        "/v1/sla-policies",
        json={
            "items": [
                {"tier": "accept", "duration": {"seconds": 2}},
                {"tier": "week", "duration": {"seconds": 5}},
            ]
        },
        headers=world.auth("admin"),
    )
    assert policies.status_code == 200, policies.text
    dispatched_at = datetime.now(UTC)
    case = await _dispatched(session, client, world, at=dispatched_at)
    lead = await assignment_of(session, case, world.departments["urban_mgmt"].id)
    case_id, lead_id = case.id, lead.id
    await session.commit()

    interval = 0.2
    settings = get_settings().model_copy(update={"scheduler_interval_seconds": interval})
    stop = asyncio.Event()
    scheduler = asyncio.create_task(run_scheduler(engine, settings, stop))
    try:
        for _ in range(100):
            await asyncio.sleep(0.1)
            await session.rollback()
            if len(await _alarms(session, case_id)) >= 4:
                break
        await asyncio.sleep(3 * interval)  # time for a wrong second raise to show
    finally:
        stop.set()
        await asyncio.wait_for(scheduler, timeout=10)
    await session.rollback()

    raised = [(t, p["kind"], p["assignment_id"]) for t, p in await _alarms(session, case_id)]
    assert raised == [
        ("case.due_soon", "accept", lead_id),
        ("case.overdue", "accept", lead_id),
        ("case.due_soon", "reply", lead_id),
        ("case.overdue", "reply", lead_id),
    ]
    rows = {
        d.kind: d
        for d in await session.scalars(select(Deadline).where(Deadline.case_id == case_id))
        if d.kind in ("accept", "reply")
    }
    for d in rows.values():
        assert d.due_soon_at is not None and d.overdue_at is not None
        assert d.due_soon_raised_at is not None and d.overdue_raised_at is not None
        # 75 % and 100 % of the allowed time, each raised within about one interval of its moment.
        assert d.due_soon_at == d.starts_at + (d.due_at - d.starts_at) * 0.75
        assert d.overdue_at == d.due_at
        for moment, raised_at in ((d.due_soon_at, d.due_soon_raised_at), (d.overdue_at, d.overdue_raised_at)):
            assert timedelta(0) <= raised_at - moment < timedelta(seconds=interval + 1)
    # The ladder: the overdue accept made it a reminder, the overdue reply formal supervision.
    assert await _levels(session, case_id) == [(None, "reminder", "auto"), ("reminder", "formal", "auto")]
    levels = [p["level"] for t, p in await _events(session, case_id, "case.supervision_changed")]
    assert levels == ["reminder", "formal"]


async def _events(session: AsyncSession, case_id: int, type_: str) -> list[tuple[str, dict[str, Any]]]:
    rows = await session.execute(
        select(OutboxEvent.type, OutboxEvent.payload)
        .where(OutboxEvent.case_id == case_id, OutboxEvent.type == type_)
        .order_by(OutboxEvent.id)
    )
    return [(type_, payload) for type_, payload in rows.tuples()]


async def test_a_late_scan_raises_both_in_order_and_only_open_deadlines(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    case = await _dispatched(
        session, client, world, assignments=(("urban_mgmt", "lead"), ("street_office", "separate"))
    )
    lead = await assignment_of(session, case, world.departments["urban_mgmt"].id)
    separate = await assignment_of(session, case, world.departments["street_office"].id)
    await accept(session, case, lead, at=datetime(2026, 9, 30, 11, 0, tzinfo=UTC))
    assert (await deliver(client, session, case, "case.accepted")).status_code == 200
    await decline(session, case, separate)
    assert (await deliver(client, session, case, "case.declined")).status_code == 200
    settled = {(d.kind, d.assignment_id): d for d in await session.scalars(select(Deadline))}
    # Accepting met the accept and the decline window; the unit that declined left with its deadlines.
    assert settled["decline", lead.id].met_at == settled["accept", lead.id].met_at is not None
    assert all(
        settled[kind, separate.id].superseded_at is not None for kind in ("accept", "decline", "reply")
    )

    result = await raise_alarms(session, LATER)
    await session.commit()

    # Only the lead's reply is still open: both its alarms, due-soon first, with what integrators need.
    alarms = await _alarms(session, case.id)
    assert [(t, p["kind"], p["assignment_id"]) for t, p in alarms] == [
        ("case.due_soon", "reply", lead.id),
        ("case.overdue", "reply", lead.id),
    ]
    reply, payload = settled["reply", lead.id], alarms[1][1]
    assert {k: payload[k] for k in ("deadline_id", "round", "case_id", "tracking_no", "status")} == {
        "deadline_id": reply.id,
        "round": 0,
        "case_id": case.id,
        "tracking_no": case.tracking_no,
        "status": "in_progress",
    }
    assert datetime.fromisoformat(payload["due_at"]) == reply.due_at
    assert (result.due_soon, result.overdue, result.escalated) == (1, 1, 1)
    assert await _levels(session, case.id) == [(None, "formal", "auto")]

    # Exactly once: another scan finds nothing, and neither does one after the reply deadline is met.
    assert (await raise_alarms(session, LATER + timedelta(days=1))).claimed == (0, 0)
    assert len(await _alarms(session)) == 2


async def test_no_alarm_for_a_deadline_met_or_being_met(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    met = await _dispatched(session, client, world)
    await session.execute(update(Deadline).where(Deadline.case_id == met.id).values(met_at=datetime.now(UTC)))
    # Accepted in routing, the case.accepted event still on its way: the accept window is not overdue.
    in_flight = await _dispatched(session, client, world)
    await accept(
        session, in_flight, await assignment_of(session, in_flight, world.departments["urban_mgmt"].id)
    )
    await session.commit()

    await raise_alarms(session, LATER)
    await session.commit()

    assert await _alarms(session, met.id) == []
    assert {p["kind"] for _, p in await _alarms(session, in_flight.id)} == {"reply"}
    accept_window = await session.scalar(
        select(Deadline).where(Deadline.case_id == in_flight.id, Deadline.kind == "accept")
    )
    assert accept_window is not None and accept_window.due_soon_raised_at is None  # left for the handler


async def test_a_finished_case_raises_nothing(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    case = await _dispatched(session, client, world)
    await session.execute(update(Case).where(Case.id == case.id).values(status="closed"))
    await session.commit()

    result = await raise_alarms(session, LATER)
    await session.commit()

    assert await _alarms(session, case.id) == []
    # Both alarms of its accept, decline and reply deadlines are stamped, so no scan reads them again.
    assert result.silenced == 6
    assert await _levels(session, case.id) == []


async def test_escalation_goes_up_never_down(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    accept_late = await _dispatched(session, client, world)
    key = await _dispatched(session, client, world)
    await change_level(
        session,
        key,
        level="key",
        lead_supervisor="李主任",
        note="群众反映强烈",
        actor=Actor("supervisor", 1),
        source="manual",
    )
    formal = await _dispatched(session, client, world)
    await change_level(
        session,
        formal,
        level="formal",
        lead_supervisor=None,
        note=None,
        actor=Actor("supervisor", 1),
        source="manual",
    )
    # Only the accept window is late for these two: their reply deadlines are far off.
    reply_far = datetime.now(UTC) + timedelta(days=30)
    await session.execute(
        update(Deadline)
        .where(Deadline.case_id.in_([accept_late.id, formal.id]), Deadline.kind == "reply")
        .values(due_at=reply_far, starts_at=reply_far - timedelta(days=1))
    )
    await session.commit()

    await raise_alarms(session, datetime.now(UTC))
    await raise_alarms(session, LATER)
    await session.commit()

    assert await _levels(session, accept_late.id) == [
        (None, "reminder", "auto"),
        ("reminder", "formal", "auto"),
    ]
    assert await _levels(session, key.id) == [(None, "key", "manual")]  # never lowered by an overdue reply
    assert await _levels(session, formal.id) == [(None, "formal", "manual")]  # an overdue accept adds nothing
    stored = await session.scalar(
        select(Case).where(Case.id == key.id).execution_options(populate_existing=True)
    )
    assert stored is not None and (stored.supervision_level, stored.lead_supervisor) == ("key", "李主任")


async def test_three_scanners_raise_each_alarm_exactly_once(
    client: httpx.AsyncClient, session: AsyncSession, engine: AsyncEngine, world: World
) -> None:
    cases = [
        await _dispatched(session, client, world, assignments=(("urban_mgmt", "lead"), ("environment", "co")))
        for _ in range(12)
    ]
    await session.commit()
    open_deadlines = {
        d.id
        for d in await session.scalars(select(Deadline).where(Deadline.met_at.is_(None)))
        if d.superseded_at is None
    }
    assert len(open_deadlines) >= 12 * 5  # accept, decline for both; the lead's reply; the opinion

    sessions = session_factory(engine)
    results = await asyncio.gather(*(scan(sessions, batch_size=4) for _ in range(3)))

    alarms = await _alarms(session)
    counts = Counter((t, p["deadline_id"]) for t, p in alarms)
    assert set(counts.values()) == {1}
    assert {deadline_id for _, deadline_id in counts} == open_deadlines
    assert Counter(t for t, _ in counts) == {
        "case.due_soon": len(open_deadlines),
        "case.overdue": len(open_deadlines),
    }
    assert sum(r.due_soon for r in results) == sum(r.overdue for r in results) == len(open_deadlines)
    # Each deadline's due-soon came before its overdue, whichever scanner raised them.
    order = {(t, p["deadline_id"]): n for n, (t, p) in enumerate(alarms)}
    assert all(order["case.due_soon", d] < order["case.overdue", d] for d in open_deadlines)
    # One escalation per case: the overdue accepts and the overdue reply call for formal at most.
    for case in cases:
        assert (await _levels(session, case.id))[-1][1] == "formal"


async def test_settings_move_the_alarms_of_open_deadlines(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    assert (await client.get("/v1/supervision-settings", headers=world.auth("admin"))).json() == {
        "due_soon_fraction": 0.75,
        "overdue_fraction": 1.0,
        "extension_max_days": 30,
        "follow_up_days": 30,
    }
    case = await _dispatched(session, client, world)
    await session.commit()

    response = await client.put(
        "/v1/supervision-settings",
        json={"due_soon_fraction": 0.5, "overdue_fraction": 1.2},
        headers=world.auth("admin"),
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "due_soon_fraction": 0.5,
        "overdue_fraction": 1.2,
        "extension_max_days": 30,
        "follow_up_days": 30,
    }
    for d in await session.scalars(select(Deadline).where(Deadline.case_id == case.id)):
        allowed = d.due_at - d.starts_at
        assert d.due_soon_at is not None and d.overdue_at is not None
        assert abs(d.due_soon_at - (d.starts_at + allowed * 0.5)) < timedelta(milliseconds=1)
        assert abs(d.overdue_at - (d.starts_at + allowed * 1.2)) < timedelta(milliseconds=1)

    bad = await client.put(
        "/v1/supervision-settings", json={"due_soon_fraction": 1.5}, headers=world.auth("admin")
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["details"][0]["field"] == "due_soon_fraction"
    for who, status in (("supervisor", 403), ("department", 403)):
        key = "dept:urban_mgmt" if who == "department" else who
        assert (await client.get("/v1/supervision-settings", headers=world.auth(key))).status_code == status
    assert (await client.put("/v1/supervision-settings", json={})).status_code == 401
    # Another jurisdiction keeps the defaults.
    other = await build_world(session, code="PJ", name="平江区")
    await session.commit()
    theirs = await client.get("/v1/supervision-settings", headers=other.auth("admin"))
    assert theirs.json()["due_soon_fraction"] == 0.75


async def test_rework_rounds_escalate_like_replies(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    case = await _dispatched(session, client, world)
    lead = await assignment_of(session, case, world.departments["urban_mgmt"].id)
    await session.execute(
        update(Deadline).where(Deadline.case_id == case.id).values(met_at=datetime.now(UTC))
    )
    started = datetime.now(UTC) - timedelta(days=40)
    session.add(
        Deadline(
            jurisdiction_id=case.jurisdiction_id,
            case_id=case.id,
            assignment_id=lead.id,
            kind="reply",
            round=1,
            tier="rework",
            starts_at=started,
            due_at=started + timedelta(days=30),
        )
    )
    await session.commit()

    await raise_alarms(session, datetime.now(UTC))
    await session.commit()

    assert [(t, p["round"]) for t, p in await _alarms(session, case.id)] == [
        ("case.due_soon", 1),
        ("case.overdue", 1),
    ]
    assert await _levels(session, case.id) == [(None, "formal", "auto")]
