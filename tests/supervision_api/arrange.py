"""Arranging cases the way intake and routing leave them, and delivering their events as the relay would."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.workflow import Actor, change_status, open_case, record_event
from shared.db.enums import AssignmentStatus, CaseStatus
from shared.db.models import Assignment, Case, OutboxEvent, Reply
from shared.events.outbox import message_id
from tests.factories import World
from tests.internal_events import signed_batch

SHANGHAI = ZoneInfo("Asia/Shanghai")
SEPT_30 = datetime(2026, 9, 30, 10, 0, tzinfo=SHANGHAI)
DISPATCHER = Actor("dispatcher")
_numbers = itertools.count(1)


async def new_case(session: AsyncSession, world: World, *, category: str = "urban", **fields: object) -> Case:
    case = Case(
        jurisdiction_id=world.jurisdiction.id,
        tracking_no=f"{world.jurisdiction.code}20260930-{next(_numbers):04d}",
        access_key_hash="x" * 64,
        description="平江路垃圾桶满溢三天无人清运",
        category_id=world.categories[category].id,
        **fields,
    )
    return await open_case(session, case)


async def dispatched_case(
    session: AsyncSession,
    world: World,
    *,
    assignments: tuple[tuple[str, str], ...] = (("urban_mgmt", "lead"),),
    at: datetime = SEPT_30,
    tier: str | None = "week",
    category: str = "urban",
    **fields: object,
) -> Case:
    """A case dispatched at ``at`` to the named departments, with its case.dispatched event in the outbox."""
    case = await new_case(session, world, category=category, tier=tier, **fields)
    session.add_all(
        Assignment(
            jurisdiction_id=case.jurisdiction_id,
            case_id=case.id,
            department_id=world.departments[department].id,
            role=role,
            status=AssignmentStatus.pending,
            dispatched_at=at,
        )
        for department, role in assignments
    )
    await session.flush()
    await change_status(session, case, CaseStatus.dispatched, "dispatched", DISPATCHER)
    return case


async def assignment_of(session: AsyncSession, case: Case, department_id: int) -> Assignment:
    return (
        await session.execute(
            select(Assignment).where(Assignment.case_id == case.id, Assignment.department_id == department_id)
        )
    ).scalar_one()


async def accept(
    session: AsyncSession, case: Case, assignment: Assignment, at: datetime | None = None
) -> None:
    assignment.status = AssignmentStatus.accepted
    assignment.accepted_at = at or datetime.now(UTC)
    actor = Actor("department", assignment.department_id)
    if case.status == CaseStatus.dispatched:
        await change_status(
            session,
            case,
            CaseStatus.in_progress,
            "accepted",
            actor,
            event_data={"assignment_id": assignment.id},
        )
    else:
        await record_event(session, case, "accepted", actor, event_data={"assignment_id": assignment.id})


async def decline(session: AsyncSession, case: Case, assignment: Assignment) -> None:
    assignment.status = AssignmentStatus.declined
    assignment.declined_at = datetime.now(UTC)
    assignment.decline_reason = "不属于本单位职责"
    await record_event(
        session,
        case,
        "declined",
        Actor("department", assignment.department_id),
        event_data={"assignment_id": assignment.id},
    )


async def reply(session: AsyncSession, case: Case, *assignments: Assignment) -> None:
    """The given departments reply, as routing records it; the case becomes replied."""
    now = datetime.now(UTC)
    for assignment in assignments:
        assignment.status = AssignmentStatus.replied
        assignment.replied_at = now
        session.add(
            Reply(
                jurisdiction_id=case.jurisdiction_id,
                case_id=case.id,
                assignment_id=assignment.id,
                department_id=assignment.department_id,
                reply_class="A",
                text="已安排清运",
                round=case.rework_round,
                created_at=now,
            )
        )
    await session.flush()
    await change_status(session, case, CaseStatus.replied, "replied", Actor("department"))


def reopen_for_rework(*assignments: Assignment) -> None:
    """What routing does on case.rework: replied assignments are accepted again, their reply time cleared."""
    for assignment in assignments:
        assignment.status = AssignmentStatus.accepted
        assignment.replied_at = None


async def signed_event(session: AsyncSession, case: Case, type_: str) -> tuple[bytes, dict[str, str]]:
    """The latest outbox event of a type for a case, in a batch of one as the relay would send it to
    supervision."""
    row = (
        await session.execute(
            select(OutboxEvent)
            .where(OutboxEvent.case_id == case.id, OutboxEvent.type == type_)
            .order_by(OutboxEvent.id.desc())
            .limit(1)
        )
    ).scalar_one()
    return signed_batch("supervision", [(message_id(row.event_id), row.type, row.occurred_at, row.payload)])


async def deliver(client: httpx.AsyncClient, session: AsyncSession, case: Case, type_: str) -> httpx.Response:
    """Commits what was arranged, then posts the event to /internal/events."""
    await session.commit()
    body, headers = await signed_event(session, case, type_)
    return await client.post("/internal/events", content=body, headers=headers)
