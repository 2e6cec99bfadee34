"""The state machine against the real schema: events and outbox rows are written with each change."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from services.workflow import SYSTEM, IllegalTransition, change_status, open_case, rate
from services.workflow.errors import AlreadyRated, NotAwaitingRating
from shared.db.enums import CaseStatus, Rating
from shared.db.models import Case, CaseEvent, OutboxEvent
from tests.factories import build_world


async def _new_case(session, world) -> Case:
    case = Case(
        jurisdiction_id=world.jurisdiction.id,
        tracking_no="GS20261122-0001",
        access_key_hash="x" * 64,
        description="路灯坏了很久没人修",
        category_id=world.categories["urban"].id,
    )
    return await open_case(session, case)


async def test_open_case_writes_event_and_outbox(session):
    world = await build_world(session)
    case = await _new_case(session, world)
    events = (await session.execute(select(CaseEvent).where(CaseEvent.case_id == case.id))).scalars().all()
    assert [(e.type, e.to_status, e.public) for e in events] == [("received", "received", True)]
    outbox = (await session.execute(select(OutboxEvent))).scalars().one()
    assert outbox.type == "case.received"
    assert outbox.payload == {
        "case_id": case.id,
        "tracking_no": "GS20261122-0001",
        "jurisdiction": "GS",
        "status": "received",
        "category_code": "urban",
        "department_ids": [],
    }


async def test_illegal_transition_is_refused_and_writes_nothing(session):
    world = await build_world(session)
    case = await _new_case(session, world)
    with pytest.raises(IllegalTransition):
        await change_status(session, case, CaseStatus.closed, "closed", SYSTEM)
    assert case.status == CaseStatus.received
    count = len((await session.execute(select(OutboxEvent))).scalars().all())
    assert count == 1


async def test_rating_closes_or_sends_to_rework(session):
    world = await build_world(session)
    case = await _new_case(session, world)
    with pytest.raises(NotAwaitingRating):
        await rate(session, case, source="citizen", rating=Rating.satisfied, comment=None, actor=SYSTEM)
    for status in (CaseStatus.dispatched, CaseStatus.in_progress, CaseStatus.replied):
        await change_status(session, case, status, status.value, SYSTEM)
    await rate(session, case, source="citizen", rating=Rating.dissatisfied, comment="没修好", actor=SYSTEM)
    assert case.status == CaseStatus.rework and case.rework_round == 1
    await change_status(session, case, CaseStatus.replied, "replied", SYSTEM)
    await rate(session, case, source="citizen", rating=Rating.basically_satisfied, comment=None, actor=SYSTEM)
    assert case.status == CaseStatus.closed and case.close_reason == "rated"
    types = (await session.execute(select(OutboxEvent.type).order_by(OutboxEvent.id))).scalars().all()
    assert types[-3:] == ["case.replied", "case.feedback", "case.closed"]
    with pytest.raises((AlreadyRated, NotAwaitingRating)):
        await rate(session, case, source="citizen", rating=Rating.satisfied, comment=None, actor=SYSTEM)
