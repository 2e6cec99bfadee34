"""Deadlines counted over days the calendar did not cover yet (Monday to Friday assumed), recomputed once it
does: when a jurisdiction loads a year's official schedule, and daily by the worker (which also catches a
deadline written while a year was being loaded, and a chinesecalendar upgrade that learnt a new year).

Each open assumed deadline is counted again from its start on its tier's current policy; co-handlers' opinion
deadlines follow their lead's reply deadline as they always do. A due time that moves raises
``case.deadline_changed`` (kept off the citizen's timeline: the public page reads the deadline itself, and the
change is the calendar's bookkeeping, not a step in handling the case).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, bindparam, select, update
from sqlalchemy import case as sql_case
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.supervision.deadlines import co_opinion_due, lead_reply_deadline
from services.workflow import SYSTEM, record_event
from services.workflow.deadlines import compute_due, forget_policies, work_calendar
from shared.calendar import InvalidDuration, WorkCalendar
from shared.db.enums import DeadlineKind
from shared.db.models import Assignment, Case, Deadline

_OPEN = and_(Deadline.met_at.is_(None), Deadline.superseded_at.is_(None))
CHANGED_EVENT = "deadline_changed"


@dataclass(frozen=True)
class DeadlineChange:
    deadline_id: int
    case_id: int
    kind: str
    old_due_at: datetime
    new_due_at: datetime


@dataclass(frozen=True)
class Recomputed:
    looked_at: (
        int  # open deadlines counted again (the assumed ones, and co-handlers' opinions on their cases)
    )
    still_assumed: int  # of those, how many still rest on assumed days (a later year)
    changes: list[DeadlineChange]


@dataclass(frozen=True)
class _Next:
    """A deadline as stored and as counted now."""

    id: int
    kind: str
    assignment_id: int | None
    old_due_at: datetime
    old_assumed: bool
    due_at: datetime
    assumed: bool


_COLUMNS = (
    Deadline.id,
    Deadline.kind,
    Deadline.assignment_id,
    Deadline.starts_at,
    Deadline.tier,
    Deadline.due_at,
    Deadline.assumed,
)


async def jurisdictions_with_assumed(session: AsyncSession) -> list[int]:
    """Jurisdictions that have open deadlines counted on assumed days."""
    rows = await session.scalars(
        select(Deadline.jurisdiction_id).where(_OPEN, Deadline.assumed.is_(True)).distinct()
    )
    return sorted(rows)


async def sweep_assumed(sessions: async_sessionmaker[AsyncSession], now: datetime) -> int:
    """Recomputes every jurisdiction's open assumed deadlines, one transaction each; returns how many moved."""
    async with sessions() as session:
        jurisdiction_ids = await jurisdictions_with_assumed(session)
    moved = 0
    for jurisdiction_id in jurisdiction_ids:
        async with sessions() as session, session.begin():
            moved += len((await recompute_assumed(session, jurisdiction_id, now)).changes)
    return moved


async def recompute_assumed(session: AsyncSession, jurisdiction_id: int, now: datetime) -> Recomputed:
    """Counts the jurisdiction's open assumed deadlines again on its calendar as it is now."""
    forget_policies(session)  # the caller may just have changed the calendar in this session
    case_ids = (
        await session.scalars(
            select(Deadline.case_id)
            .where(Deadline.jurisdiction_id == jurisdiction_id, _OPEN, Deadline.assumed.is_(True))
            .distinct()
        )
    ).all()
    if not case_ids:
        return Recomputed(0, 0, [])
    # Cases first, in id order, as the event handlers lock them before their deadlines: no deadlock.
    cases = (
        await session.scalars(
            select(Case)
            .where(Case.id.in_(case_ids))
            .order_by(Case.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).all()
    calendar = await work_calendar(session, jurisdiction_id)
    looked_at, still_assumed, changes = 0, 0, list[DeadlineChange]()
    for case_ in cases:
        counted = await _recount(session, case_, calendar)
        looked_at += len(counted)
        still_assumed += sum(n.assumed for n in counted)
        changes += await _apply(session, case_, counted, now)
    return Recomputed(looked_at, still_assumed, changes)


async def _recount(session: AsyncSession, case_: Case, calendar: WorkCalendar) -> list[_Next]:
    """The case's open assumed deadlines counted again, then its co-handlers' opinion deadlines derived
    again from the lead's reply deadline (which may just have moved)."""
    rows = await session.execute(
        select(*_COLUMNS)
        .where(Deadline.case_id == case_.id, _OPEN, Deadline.assumed.is_(True), Deadline.tier.is_not(None))
        .order_by(Deadline.id)
    )
    tiered: list[_Next] = []
    for row in rows:
        counting = calendar.counting()
        try:
            due = await compute_due(
                session, case_.jurisdiction_id, row.starts_at, row.tier, calendar=counting
            )
        except (InvalidDuration, OverflowError, ValueError):
            continue  # a policy that no longer yields a time: the deadline stays as it was
        if due is None:
            # A tier without a policy (a due time someone set, e.g. a meeting's): not counted on the calendar.
            tiered.append(_next(row, row.due_at, False))
        else:
            tiered.append(_next(row, due, bool(counting.assumed_days)))
    await _write(session, tiered)  # before the opinions, which read the lead's new due time
    co_rows = (
        await session.execute(
            select(*_COLUMNS, Assignment.dispatched_at)
            .join(Assignment, Assignment.id == Deadline.assignment_id)
            .where(Deadline.case_id == case_.id, _OPEN, Deadline.kind == DeadlineKind.co_opinion)
            .order_by(Deadline.id)
        )
    ).all()
    lead = await lead_reply_deadline(session, case_.id) if co_rows else None
    if lead is None:
        return tiered
    opinions = []
    for co_row in co_rows:
        due, assumed = co_opinion_due(calendar, lead[0], lead[1], co_row.dispatched_at)
        opinions.append(_next(co_row, due, assumed))
    await _write(session, opinions)
    return tiered + opinions


def _next(row: Row[Any], due_at: datetime, assumed: bool) -> _Next:
    return _Next(row.id, row.kind, row.assignment_id, row.due_at, row.assumed, due_at, assumed)


async def _write(session: AsyncSession, counted: list[_Next]) -> None:
    changed = [n for n in counted if n.due_at != n.old_due_at or n.assumed != n.old_assumed]
    if not changed:
        return
    # One executemany by id, on the connection: through the session the ORM would take it for its own
    # bulk-by-primary-key form. The trigger moves each row's alarm times with its due time.
    connection = await session.connection()
    await connection.execute(
        update(Deadline)
        .where(Deadline.id == bindparam("deadline_id"))
        .values(due_at=bindparam("new_due_at"), assumed=bindparam("new_assumed")),
        [{"deadline_id": n.id, "new_due_at": n.due_at, "new_assumed": n.assumed} for n in changed],
    )


async def _apply(
    session: AsyncSession, case_: Case, counted: list[_Next], now: datetime
) -> list[DeadlineChange]:
    """Re-arms the alarms that moved back into the future and tells the world which due times moved."""
    moved = [n for n in counted if n.due_at != n.old_due_at]
    if not moved:
        return []
    await session.execute(
        update(Deadline)
        .where(Deadline.id.in_([n.id for n in moved]))
        .values(
            due_soon_raised_at=sql_case(
                (Deadline.due_soon_at > now, None), else_=Deadline.due_soon_raised_at
            ),
            overdue_raised_at=sql_case((Deadline.overdue_at > now, None), else_=Deadline.overdue_raised_at),
        )
        .execution_options(synchronize_session=False)
    )
    changes = []
    for n in moved:
        change = DeadlineChange(n.id, case_.id, n.kind, n.old_due_at, n.due_at)
        changes.append(change)
        await record_event(
            session,
            case_,
            CHANGED_EVENT,
            SYSTEM,
            data={
                "reason": "calendar",
                "deadline_id": change.deadline_id,
                "kind": change.kind,
                "old_due_at": change.old_due_at.isoformat(),
                "new_due_at": change.new_due_at.isoformat(),
            },
            event_data={
                "deadline_id": change.deadline_id,
                "assignment_id": n.assignment_id,
                "kind": change.kind,
                "old_due_at": change.old_due_at.isoformat(),
                "new_due_at": change.new_due_at.isoformat(),
                "assumed": n.assumed,
            },
            at=now,
        )
    return changes
