"""The alarm scan, run by ``minyi worker``: ``case.due_soon`` and ``case.overdue`` for every deadline whose
moment has come (the trigger of deadlines sets the moments from the policy), and the automatic steps up the
escalation ladder that an overdue accept or reply brings.

Exactly once, however many workers scan at once: a batch is claimed by stamping ``*_raised_at`` on rows
locked with SKIP LOCKED, and its events are written in the same transaction, so a deadline's alarm is either
raised with its event or not at all, and never by two workers. The claim reads the partial indexes that hold
only open, unraised deadlines, so a pass costs what is due, not what is stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, false, func, not_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import InstrumentedAttribute

from services.supervision.deadlines import GONE
from services.supervision.levels import escalate, rank
from services.workflow import SYSTEM, record_event
from shared.db.enums import AssignmentStatus, CaseStatus, DeadlineKind, SupervisionLevel
from shared.db.models import Assignment, Case, Deadline

BATCH_SIZE = 200
# Cases whose handling is over: their deadlines should already be met or superseded; one that is not (a
# co-handler that never accepted a case now closed) is stamped without an event, which keeps it out of the
# next scan. Nobody is to be warned about a finished case.
FINISHED = (CaseStatus.closed, CaseStatus.merged, CaseStatus.rejected)
# What an overdue deadline of each kind does to its case; the others only raise case.overdue.
ESCALATES = {DeadlineKind.accept: SupervisionLevel.reminder, DeadlineKind.reply: SupervisionLevel.formal}
ESCALATION_NOTES = {
    SupervisionLevel.reminder: "签收超期，自动催办",
    SupervisionLevel.formal: "答复超期，自动督办",
}


@dataclass(frozen=True)
class _Alarm:
    type: str  # the case event: due_soon or overdue
    at: InstrumentedAttribute[datetime | None]
    raised: InstrumentedAttribute[datetime | None]


DUE_SOON = _Alarm("due_soon", Deadline.due_soon_at, Deadline.due_soon_raised_at)
OVERDUE = _Alarm("overdue", Deadline.overdue_at, Deadline.overdue_raised_at)


@dataclass
class ScanResult:
    due_soon: int = 0
    overdue: int = 0
    escalated: int = 0
    # Stamped without an event: the case was already finished.
    silenced: int = 0
    # Rows claimed per alarm in the batch; a full batch means more may be waiting.
    claimed: tuple[int, int] = (0, 0)

    def add(self, other: ScanResult) -> None:
        self.due_soon += other.due_soon
        self.overdue += other.overdue
        self.escalated += other.escalated
        self.silenced += other.silenced


def _settled_by_unit() -> ColumnElement[bool]:
    """The department has already done what the deadline waits for, but supervision has not heard of it yet
    (the event is on its way): not due, and the handler will settle it. Assignment columns are null for
    case-level deadlines, hence the coalesce."""
    unit_moved_on = or_(
        and_(
            Deadline.kind.in_((DeadlineKind.accept, DeadlineKind.decline)),
            or_(Assignment.accepted_at.is_not(None), Assignment.status.in_(GONE)),
        ),
        and_(
            Deadline.kind == DeadlineKind.reply,
            Assignment.status.in_((AssignmentStatus.replied, *GONE)),
        ),
        and_(Deadline.kind == DeadlineKind.co_opinion, Assignment.status.in_(GONE)),
        # A rating window is over once the case leaves replied (rated: closed or sent to rework).
        and_(Deadline.kind == DeadlineKind.rating, Case.status != CaseStatus.replied),
    )
    return func.coalesce(unit_moved_on, false())


async def _claim(
    session: AsyncSession, alarm: _Alarm, now: datetime, batch_size: int, *also: ColumnElement[bool]
) -> Sequence[Row[Any]]:
    """Stamps up to ``batch_size`` open deadlines whose ``alarm`` is due and not yet raised, oldest moment
    first, and returns them. The deadlines and their cases are locked with SKIP LOCKED: rows another worker
    (or a case being changed) holds are left for the next pass, and the scan never waits on a lock, so it
    cannot deadlock with the event handlers that lock the case first."""
    claimable = (
        select(Deadline.id)
        .join(Case, Case.id == Deadline.case_id)
        .outerjoin(Assignment, Assignment.id == Deadline.assignment_id)
        .where(
            Deadline.met_at.is_(None),
            Deadline.superseded_at.is_(None),
            alarm.raised.is_(None),
            alarm.at <= now,
            not_(_settled_by_unit()),
            *also,
        )
        .order_by(alarm.at)
        .limit(batch_size)
        .with_for_update(of=[Deadline, Case], skip_locked=True)
    )
    result = await session.execute(
        update(Deadline)
        .where(Deadline.id.in_(claimable.scalar_subquery()))
        .values({alarm.raised: now})
        .returning(
            Deadline.id,
            Deadline.case_id,
            Deadline.assignment_id,
            Deadline.kind,
            Deadline.round,
            Deadline.due_at,
            alarm.at.label("alarm_at"),
        )
        .execution_options(synchronize_session=False)
    )
    return sorted(result.all(), key=lambda row: (row.alarm_at, row.id))


async def _cases(session: AsyncSession, rows: Sequence[Row[Any]]) -> dict[int, Case]:
    """The claimed deadlines' cases (already locked by the claim), read fresh."""
    if not rows:
        return {}
    found = await session.scalars(
        select(Case)
        .where(Case.id.in_({row.case_id for row in rows}))
        .execution_options(populate_existing=True)
    )
    return {case.id: case for case in found}


async def _raise(
    session: AsyncSession, alarm: _Alarm, rows: Sequence[Row[Any]], cases: dict[int, Case], now: datetime
) -> tuple[int, int]:
    """One event per claimed deadline, in the order their moments came; returns (raised, silenced)."""
    raised = silenced = 0
    for row in rows:
        case = cases[row.case_id]
        if case.status in FINISHED:
            silenced += 1
            continue
        facts = {
            "deadline_id": row.id,
            "kind": row.kind,
            "assignment_id": row.assignment_id,
            "round": row.round,
            "due_at": row.due_at.isoformat(),
        }
        await record_event(session, case, alarm.type, SYSTEM, data=facts, event_data=facts, at=now)
        raised += 1
    return raised, silenced


async def _escalate(session: AsyncSession, rows: Sequence[Row[Any]], cases: dict[int, Case]) -> int:
    """Each case with an overdue accept or reply steps up to the highest level they call for, once."""
    wanted: dict[int, SupervisionLevel] = {}
    for row in rows:
        level = ESCALATES.get(row.kind)
        if level is not None and rank(level) > rank(wanted.get(row.case_id)):
            wanted[row.case_id] = level
    escalated = 0
    for case_id, level in wanted.items():
        case = cases[case_id]
        if case.status not in FINISHED and await escalate(session, case, level, ESCALATION_NOTES[level]):
            escalated += 1
    return escalated


async def raise_alarms(session: AsyncSession, now: datetime, *, batch_size: int = BATCH_SIZE) -> ScanResult:
    """One batch of each alarm in the caller's transaction: due-soon first, then overdue, so a deadline whose
    two moments both passed before a (late) scan raises them in that order. An overdue alarm waits for its
    due-soon one, which keeps the order even when a batch is full."""
    result = ScanResult()
    soon = await _claim(session, DUE_SOON, now, batch_size)
    late = await _claim(session, OVERDUE, now, batch_size, Deadline.due_soon_raised_at.is_not(None))
    cases = await _cases(session, [*soon, *late])
    result.due_soon, silenced = await _raise(session, DUE_SOON, soon, cases, now)
    result.overdue, more = await _raise(session, OVERDUE, late, cases, now)
    result.silenced = silenced + more
    result.escalated = await _escalate(session, late, cases)
    result.claimed = (len(soon), len(late))
    await session.flush()
    return result


async def scan(sessions: async_sessionmaker[AsyncSession], *, batch_size: int = BATCH_SIZE) -> ScanResult:
    """A whole pass: batches, each in its own short transaction, until one comes back short. Run every
    scheduler interval, so an alarm is raised within one interval of its moment."""
    total = ScanResult()
    while True:
        async with sessions() as session, session.begin():
            batch = await raise_alarms(session, datetime.now(UTC), batch_size=batch_size)
        total.add(batch)
        if max(batch.claimed) < batch_size:
            return total
