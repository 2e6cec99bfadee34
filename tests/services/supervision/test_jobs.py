"""close_unrated: replied cases whose rating window passed without feedback close as unrated, once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.supervision import deadlines
from services.supervision.jobs import close_unrated
from shared.db.engine import session_factory
from shared.db.models import Case, CaseEvent, Deadline, Feedback, OutboxEvent
from tests.factories import World, build_world
from tests.supervision_api.arrange import accept, assignment_of, dispatched_case, reply

LATER = datetime.now(UTC) + timedelta(days=11)


async def _replied_case(session: AsyncSession, world: World) -> Case:
    case = await dispatched_case(session, world)
    await deadlines.ensure_dispatch_deadlines(session, case)
    lead = await assignment_of(session, case, world.departments["urban_mgmt"].id)
    await accept(session, case, lead)
    await reply(session, case, lead)
    assert await deadlines.open_rating_window(session, case)
    return case


async def _status(session: AsyncSession, case_id: int) -> tuple[str, str | None]:
    row = (await session.execute(select(Case.status, Case.close_reason).where(Case.id == case_id))).one()
    return row.status, row.close_reason


async def test_closes_only_past_due_unrated_cases(session: AsyncSession) -> None:
    world = await build_world(session)
    lapsed = await _replied_case(session, world)
    rated = await _replied_case(session, world)
    session.add(
        Feedback(jurisdiction_id=rated.jurisdiction_id, case_id=rated.id, source="deputy", rating="satisfied")
    )
    waiting = await _replied_case(session, world)
    lapsed_id, rated_id, waiting_id = lapsed.id, rated.id, waiting.id
    await session.commit()

    assert await close_unrated(session, datetime.now(UTC)) == 0  # nothing has lapsed yet
    await session.execute(
        update(Deadline).where(Deadline.case_id == waiting_id).values(due_at=LATER + timedelta(days=1))
    )
    assert await close_unrated(session, LATER) == 1
    await session.commit()

    assert await _status(session, lapsed_id) == ("closed", "unrated")
    assert await _status(session, rated_id) == ("replied", None)
    assert await _status(session, waiting_id) == ("replied", None)
    event = (
        (
            await session.execute(
                select(CaseEvent).where(CaseEvent.case_id == lapsed_id).order_by(CaseEvent.id.desc())
            )
        )
        .scalars()
        .first()
    )
    assert event is not None
    assert (event.type, event.actor_type, event.public, event.data) == (
        "closed",
        "system",
        True,
        {"reason": "unrated"},
    )
    closed = (
        (await session.execute(select(OutboxEvent).where(OutboxEvent.type == "case.closed"))).scalars().all()
    )
    assert [(e.case_id, e.payload["reason"], e.payload["status"]) for e in closed] == [
        (lapsed_id, "unrated", "closed")
    ]
    rating = (
        await session.execute(
            select(Deadline).where(Deadline.case_id == lapsed_id, Deadline.kind == "rating")
        )
    ).scalar_one()
    assert rating.met_at is not None

    assert await close_unrated(session, LATER) == 0  # closed once


async def test_a_rework_round_is_judged_by_its_own_rating_window(session: AsyncSession) -> None:
    world = await build_world(session)
    case = await _replied_case(session, world)
    # Round 0 was rated dissatisfied; round 1 was replied but its window is not open in the table yet.
    session.add(
        Feedback(
            jurisdiction_id=case.jurisdiction_id, case_id=case.id, source="citizen", rating="dissatisfied"
        )
    )
    case.rework_round = 1
    case_id = case.id
    await session.commit()
    assert await close_unrated(session, LATER) == 0
    assert await _status(session, case_id) == ("replied", None)


async def test_concurrent_workers_skip_cases_another_has_locked(
    engine: AsyncEngine, session: AsyncSession
) -> None:
    world = await build_world(session)
    first, second = await _replied_case(session, world), await _replied_case(session, world)
    ids = {first.id, second.id}
    await session.commit()

    sessions = session_factory(engine)
    async with sessions() as one, one.begin():
        closed_by_one = await close_unrated(one, LATER, batch_size=1)
        async with sessions() as two, two.begin():
            # Without SKIP LOCKED this would wait for the first worker: fail fast instead of hanging.
            await two.execute(text("SET LOCAL lock_timeout = '2s'"))
            # The first worker still holds its case; the second takes the other one without waiting.
            closed_by_two = await close_unrated(two, LATER, batch_size=5)
    assert (closed_by_one, closed_by_two) == (1, 1)
    assert {await _status(session, case_id) for case_id in ids} == {("closed", "unrated")}
