"""The event handlers on their own: counting back working days, and events that come late, early or broken."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.supervision.deadlines import working_days_before
from services.supervision.events import handle
from services.workflow import Actor, change_status
from shared.calendar import WorkCalendar
from shared.db.enums import CaseStatus
from shared.db.models import Deadline
from shared.errors import Unprocessable
from shared.events.inbox import ReceivedEvent
from tests.factories import build_world
from tests.supervision_api.arrange import SHANGHAI, accept, assignment_of, dispatched_case, reply


def _event(type_: str, case_id: object, at: datetime | None = None) -> ReceivedEvent:
    return ReceivedEvent(
        message_id="msg_test", type=type_, timestamp=at or datetime.now(UTC), data={"case_id": case_id}
    )


def test_working_days_before_skips_holidays_and_keeps_the_clock_time() -> None:
    due = datetime(2026, 10, 13, 10, 0, tzinfo=SHANGHAI)
    # 10-12, Saturday 10-10 (worked), 10-09, 10-08, then back over National Day to 09-30.
    assert working_days_before(WorkCalendar(), due, 5) == datetime(2026, 9, 30, 10, 0, tzinfo=SHANGHAI)
    override = WorkCalendar(overrides={date(2026, 10, 9): False})
    assert working_days_before(override, due, 4) == datetime(2026, 9, 30, 10, 0, tzinfo=SHANGHAI)
    assert working_days_before(WorkCalendar(), due, 1) == datetime(2026, 10, 12, 10, 0, tzinfo=SHANGHAI)


async def test_unknown_cases_and_types_are_ignored_and_a_missing_case_id_refused(
    session: AsyncSession,
) -> None:
    await handle(session, _event("case.dispatched", 999_999))
    await handle(session, _event("case.progress", 1))
    assert (await session.execute(select(Deadline))).first() is None
    for bad in (None, "1", True):
        with pytest.raises(Unprocessable):
            await handle(session, _event("case.dispatched", bad))


async def test_a_late_rework_event_counts_a_reply_given_since(session: AsyncSession) -> None:
    world = await build_world(session)
    case = await dispatched_case(session, world)
    lead = await assignment_of(session, case, world.departments["urban_mgmt"].id)
    await handle(session, _event("case.dispatched", case.id))
    await accept(session, case, lead)
    await reply(session, case, lead)
    await handle(session, _event("case.replied", case.id))
    await change_status(session, case, CaseStatus.rework, "rework", Actor("citizen"))
    rework_at = datetime.now(UTC)
    # The department answered again before supervision heard of the rework.
    await reply(session, case, lead)
    await handle(session, _event("case.rework", case.id, at=rework_at))

    rework = (
        await session.execute(
            select(Deadline).where(Deadline.case_id == case.id, Deadline.kind == "reply", Deadline.round == 1)
        )
    ).scalar_one()
    assert rework.starts_at == rework_at
    assert rework.met_at == lead.replied_at


async def test_a_department_marked_replied_without_a_reply_row_meets_the_current_round(
    session: AsyncSession,
) -> None:
    world = await build_world(session)
    case = await dispatched_case(session, world)
    lead = await assignment_of(session, case, world.departments["urban_mgmt"].id)
    await handle(session, _event("case.dispatched", case.id))
    await accept(session, case, lead)
    lead.status, lead.replied_at = "replied", datetime.now(UTC)
    await change_status(session, case, CaseStatus.replied, "replied", Actor("department"))
    await handle(session, _event("case.replied", case.id))
    reply_deadline = (
        await session.execute(
            select(Deadline).where(Deadline.assignment_id == lead.id, Deadline.kind == "reply")
        )
    ).scalar_one()
    assert reply_deadline.met_at == lead.replied_at


async def test_a_case_without_a_tier_falls_back_to_its_category_tier(session: AsyncSession) -> None:
    world = await build_world(session)
    world.categories["urban"].default_tier = "immediate"
    case = await dispatched_case(session, world, tier=None)
    lead = await assignment_of(session, case, world.departments["urban_mgmt"].id)
    await handle(session, _event("case.dispatched", case.id))
    reply_deadline = (
        await session.execute(
            select(Deadline).where(Deadline.assignment_id == lead.id, Deadline.kind == "reply")
        )
    ).scalar_one()
    assert reply_deadline.tier == "immediate"
    assert reply_deadline.due_at == datetime(2026, 10, 8, 10, 0, tzinfo=SHANGHAI)
