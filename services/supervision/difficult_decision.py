"""The coordination meeting's decision on a difficult case, carried out as a redispatch through the workflow.

Under the case's row lock (taken first, as routing and the event handlers take it, so none of them deadlock):
the units the decision does not keep are withdrawn (kept as history), the lead and co-handlers it names that
are not on the case yet get new pending assignments, the lead's reply deadline becomes the one the meeting set
(tier ``meeting``; a kept lead's previous one stays, superseded), and a public ``dispatched`` event goes to the
case log and the outbox. Supervision may not import routing, so the assignment rows are written here with the
models, the way routing writes them.

The case keeps its state: a dispatched case stays dispatched, a case in rework stays in rework, and a case in
progress stays in progress even when its lead is replaced, because the workflow has no move from in_progress
back to dispatched. The new lead still accepts (签收) as any unit does; its accept window runs from now.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.supervision import deadlines
from services.supervision.coordination_errors import CaseNotMarkable, DifficultCaseNotPending
from services.supervision.coordination_schemas import LATEST_YEAR, DecisionIn, DifficultCaseOut
from services.supervision.difficult import MARKABLE, get_mark, staff_actor, view
from services.supervision.errors import CaseNotFound, FieldInvalid
from services.workflow import record_event, withdraw
from shared.db.enums import AssignmentRole, AssignmentStatus, DeadlineKind
from shared.db.models import Assignment, Case, Deadline, Department, DifficultCase, DifficultCaseStatus
from shared.security.apikeys import Principal

MEETING_TIER = "meeting"
# An assignment the decision can keep as it is: the unit has not answered yet, so the new deadline applies.
_KEEPABLE = (AssignmentStatus.pending, AssignmentStatus.accepted)


async def _departments(session: AsyncSession, jurisdiction_id: int, data: DecisionIn) -> dict[int, str]:
    """The names of the departments the decision names; each must be an active unit of the jurisdiction."""
    wanted = [data.lead_department_id, *data.co_department_ids]
    if data.lead_department_id in data.co_department_ids:
        raise FieldInvalid("co_department_ids", "主办单位不能同时是协办单位")
    rows = await session.execute(
        select(Department.id, Department.name, Department.active).where(
            Department.id.in_(wanted), Department.jurisdiction_id == jurisdiction_id
        )
    )
    found = {id_: (name, active) for id_, name, active in rows.tuples()}
    for index, department_id in enumerate(wanted):
        field = "lead_department_id" if index == 0 else f"co_department_ids.{index - 1}"
        if department_id not in found:
            raise FieldInvalid(field, "承办单位不存在")
        name, active = found[department_id]
        if not active:
            raise FieldInvalid(field, f"承办单位“{name}”已停用")
    return {id_: name for id_, (name, _) in found.items()}


def _check_due(due_at: datetime, now: datetime) -> None:
    if due_at.year > LATEST_YEAR:
        raise FieldInvalid("due_at", f"时间须在 {LATEST_YEAR} 年之前")
    if due_at <= now:
        raise FieldInvalid("due_at", "协调会确定的答复期限须晚于当前时间")


async def _lock_case(session: AsyncSession, case_id: int) -> Case:
    case = (
        await session.execute(
            select(Case).where(Case.id == case_id).with_for_update().execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()
    if case is None:  # the foreign key rules this out
        raise CaseNotFound()
    return case


async def _lock_mark(session: AsyncSession, mark_id: int) -> DifficultCase:
    return (
        await session.execute(
            select(DifficultCase)
            .where(DifficultCase.id == mark_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one()


async def _set_lead_deadline(
    session: AsyncSession, case: Case, lead: Assignment, due_at: datetime, now: datetime
) -> None:
    """The lead's reply deadline of the current round becomes the meeting's, counted from now. A kept lead's
    deadline in force is superseded and stays as history (as an approved extension leaves it); a new lead
    gets its row before the case.dispatched handler runs, and ensure_dispatch_deadlines then adds only the
    windows it lacks. The database trigger arms the new row's alarms."""
    running = await session.scalar(
        select(Deadline)
        .where(
            Deadline.assignment_id == lead.id,
            Deadline.kind == DeadlineKind.reply,
            Deadline.round == case.rework_round,
            Deadline.met_at.is_(None),
            deadlines.IN_FORCE,
        )
        .with_for_update()
    )
    if running is not None:
        running.superseded_at = now
        await session.flush()  # the unique key holds only for rows in force: the old one steps aside first
    await session.execute(
        pg_insert(Deadline)
        .values(
            jurisdiction_id=case.jurisdiction_id,
            case_id=case.id,
            assignment_id=lead.id,
            kind=DeadlineKind.reply,
            round=case.rework_round,
            tier=MEETING_TIER,
            starts_at=now,
            due_at=due_at,
        )
        .on_conflict_do_nothing(index_elements=deadlines.DEADLINE_KEY, index_where=deadlines.IN_FORCE)
    )


def _plan(
    active: list[Assignment], data: DecisionIn
) -> tuple[list[Assignment], list[Assignment], list[tuple[int, str]]]:
    """Which active assignments stay, which are withdrawn, and which (department, role) pairs are new."""
    wanted = [(data.lead_department_id, AssignmentRole.lead.value)] + [
        (department_id, AssignmentRole.co.value) for department_id in data.co_department_ids
    ]
    kept: list[Assignment] = []
    for a in active:
        pair = (a.department_id, a.role)
        if pair in wanted and a.status in _KEEPABLE and all((k.department_id, k.role) != pair for k in kept):
            kept.append(a)
    withdrawn = [a for a in active if a not in kept]
    kept_pairs = {(k.department_id, k.role) for k in kept}
    return kept, withdrawn, [pair for pair in wanted if pair not in kept_pairs]


async def decide(
    session: AsyncSession, principal: Principal, found: DifficultCase, data: DecisionIn
) -> DifficultCaseOut:
    """Records the meeting's decision on a pending mark and redispatches the case accordingly."""
    case = await _lock_case(session, found.case_id)
    mark = await _lock_mark(session, found.id)
    if mark.status != DifficultCaseStatus.pending:
        raise DifficultCaseNotPending()
    if case.status not in MARKABLE:
        raise CaseNotMarkable("该事项已不在办理中，不能按协调会决定重新交办")
    now = datetime.now(UTC)
    _check_due(data.due_at, now)
    names = await _departments(session, case.jurisdiction_id, data)
    assignments = await deadlines.case_assignments(session, case)
    active = [a for a in assignments if a.status not in deadlines.GONE]
    kept, withdrawn, new_pairs = _plan(active, data)
    withdraw(withdrawn, now)
    added = [
        Assignment(
            jurisdiction_id=case.jurisdiction_id,
            case_id=case.id,
            department_id=department_id,
            role=role,
            status=AssignmentStatus.pending,
            dispatched_at=now,
            updated_at=now,
        )
        for department_id, role in new_pairs
    ]
    session.add_all(added)
    await session.flush()
    lead = next(a for a in kept + added if a.role == AssignmentRole.lead)
    await _set_lead_deadline(session, case, lead, data.due_at, now)
    mark.status = DifficultCaseStatus.decided
    mark.lead_department_id = data.lead_department_id
    mark.co_department_ids = list(data.co_department_ids)
    mark.due_at = data.due_at
    mark.note = data.note
    mark.decided_at = now
    mark.decided_by_key_id = principal.key_id
    case.updated_at = now
    await session.flush()
    await record_event(
        session,
        case,
        "dispatched",
        staff_actor(principal),
        public=True,
        data={
            "department_names": [names[data.lead_department_id]]
            + [names[department_id] for department_id in data.co_department_ids],
            "decision": True,
            "note": data.note,
            "due_at": data.due_at.astimezone(UTC).isoformat(),
        },
        event_data={
            "assignment_ids": [a.id for a in added],
            "withdrawn_assignment_ids": [a.id for a in withdrawn],
            "decided_by_meeting": True,
            "difficult_case_id": mark.id,
        },
        at=now,
    )
    # Supervision's own bookkeeping, at once rather than when the event comes back: the withdrawn units'
    # deadlines end, the new ones get their accept and decline windows, co-handlers' opinions follow the lead.
    await deadlines.supersede_declined(session, case, now)
    await deadlines.ensure_dispatch_deadlines(session, case)
    return await view(session, await get_mark(session, case.jurisdiction_id, mark.id))
