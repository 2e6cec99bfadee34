"""A department's work on its assignments: accept (签收), decline (退回), progress, co-opinion (会办意见) and
reply (答复), and reopening them for rework. Every action locks the case row first, so two departments acting on
one case at once change it one after the other and never both miss the "everyone has replied" moment."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing.consultations import ensure_consulted
from services.routing.errors import (
    AlreadyAccepted,
    AssignmentStateConflict,
    CaseNotActive,
    DeclineWindowClosed,
    NotAccepted,
    WrongAssignmentRole,
)
from services.routing.repository import case_assignments, department_names, lock_assignment, lock_case
from services.routing.rules import ANSWERING_ROLES
from services.routing.schemas import AssignmentView, CoOpinionIn, DeclineIn, ProgressIn, ReplyIn
from services.routing.taxonomy import departments_in_jurisdiction
from services.routing.views import assignment_view
from services.workflow import Actor, change_status, record_event
from services.workflow.deadlines import compute_due
from shared.db.enums import (
    GONE_ASSIGNMENT_STATUSES,
    AssignmentRole,
    AssignmentStatus,
    CaseStatus,
    DeadlineKind,
    QueueReason,
)
from shared.db.models import Assignment, Case, Deadline, Department, Reply
from shared.errors import Unprocessable

GONE = GONE_ASSIGNMENT_STATUSES

# Cases whose assignments can still be worked on; closed, merged, rejected or re-queued cases are frozen.
ACTIVE_CASE_STATUSES = frozenset(
    {CaseStatus.dispatched, CaseStatus.in_progress, CaseStatus.replied, CaseStatus.rework}
)


async def _lock(session: AsyncSession, assignment: Assignment) -> tuple[Case, Assignment]:
    case = await lock_case(session, assignment.case_id)
    if case is None:  # the foreign key rules this out; kept for the type checker
        raise CaseNotActive()
    current = await lock_assignment(session, assignment.id)
    if case.status not in ACTIVE_CASE_STATUSES:
        raise CaseNotActive()
    return case, current


def _actor(assignment: Assignment) -> Actor:
    return Actor("department", assignment.department_id)


async def _department_name(session: AsyncSession, department_id: int) -> str:
    return (await department_names(session, [department_id]))[department_id]


def _require_accepted(assignment: Assignment, action: str) -> None:
    if assignment.status == AssignmentStatus.pending:
        raise NotAccepted()
    if assignment.status != AssignmentStatus.accepted:
        raise AssignmentStateConflict(assignment.status, action)


async def accept(session: AsyncSession, assignment: Assignment) -> AssignmentView:
    """签收. A lead or separate department's acceptance puts a dispatched case in progress."""
    case, a = await _lock(session, assignment)
    if a.status in (AssignmentStatus.accepted, AssignmentStatus.replied):
        raise AlreadyAccepted(a.status)
    if a.status != AssignmentStatus.pending:
        raise AssignmentStateConflict(a.status, "签收")
    now = datetime.now(UTC)
    a.status = AssignmentStatus.accepted
    a.accepted_at = now
    a.updated_at = now
    await session.flush()
    data = {
        "department_id": a.department_id,
        "department_name": await _department_name(session, a.department_id),
    }
    event_data = {"assignment_id": a.id, "department_id": a.department_id}
    if a.role in ANSWERING_ROLES and case.status == CaseStatus.dispatched:
        await change_status(
            session,
            case,
            CaseStatus.in_progress,
            "accepted",
            _actor(a),
            public=True,
            data=data,
            event_data=event_data,
        )
    else:
        await record_event(
            session, case, "accepted", _actor(a), public=True, data=data, event_data=event_data
        )
    return await assignment_view(session, a.id)


async def decline_due(session: AsyncSession, assignment: Assignment) -> datetime | None:
    """The end of the decline window: supervision's recorded deadline if any, else computed from dispatch."""
    recorded = await session.scalar(
        select(Deadline.due_at)
        .where(
            Deadline.assignment_id == assignment.id,
            Deadline.kind == DeadlineKind.decline.value,
            Deadline.superseded_at.is_(None),
        )
        .order_by(Deadline.round.desc(), Deadline.id.desc())
        .limit(1)
    )
    if recorded is not None:
        return recorded
    return await compute_due(session, assignment.jurisdiction_id, assignment.dispatched_at, "decline")


async def _suggested_department(
    session: AsyncSession, assignment: Assignment, department_id: int | None
) -> Department | None:
    if department_id is None:
        return None
    if department_id == assignment.department_id:
        raise Unprocessable.field("suggested_department_id", "建议的承办单位不能是本单位")
    found = await departments_in_jurisdiction(session, assignment.jurisdiction_id, [department_id])
    if department_id not in found:
        raise Unprocessable.field("suggested_department_id", "建议的承办单位不存在")
    return found[department_id]


def _answering(assignments: list[Assignment]) -> list[Assignment]:
    """The lead and separate assignments still on the case."""
    return [a for a in assignments if a.role in ANSWERING_ROLES and a.status not in GONE]


async def decline(session: AsyncSession, assignment: Assignment, data: DeclineIn) -> AssignmentView:
    """退回, inside the decline window. When no lead or separate department is left, the case goes back to
    received (the dispatch queue). The reason is for staff only, never on public pages or in events."""
    case, a = await _lock(session, assignment)
    if a.status not in (AssignmentStatus.pending, AssignmentStatus.accepted):
        raise AssignmentStateConflict(a.status, "退回")
    now = datetime.now(UTC)
    window_end = await decline_due(session, a)
    if window_end is not None and now > window_end:
        raise DeclineWindowClosed(a.id)
    suggested = await _suggested_department(session, a, data.suggested_department_id)
    a.status = AssignmentStatus.declined
    a.declined_at = now
    a.decline_reason = data.reason
    a.suggested_department_id = suggested.id if suggested else None
    a.updated_at = now
    await session.flush()
    log_data = {
        "reason": data.reason,
        "department_id": a.department_id,
        "department_name": await _department_name(session, a.department_id),
        "suggested_department_id": suggested.id if suggested else None,
        "suggested_department_name": suggested.name if suggested else None,
    }
    event_data = {"assignment_id": a.id, "department_id": a.department_id}
    remaining = _answering(await case_assignments(session, case.id))
    if not remaining and case.status in (CaseStatus.dispatched, CaseStatus.in_progress):
        # Back in the dispatch queue, where the decline reasons and suggestions tell the dispatcher why.
        case.queue_reason = QueueReason.declined
        case.queued_at = now
        await change_status(
            session,
            case,
            CaseStatus.received,
            "declined",
            _actor(a),
            public=False,
            data=log_data,
            event_data=event_data,
        )
        return await assignment_view(session, a.id)
    await record_event(
        session, case, "declined", _actor(a), public=False, data=log_data, event_data=event_data
    )
    if remaining and all(r.status == AssignmentStatus.replied for r in remaining):
        # The one who declined was the last not to have answered: the case is answered now.
        await _mark_case_replied(session, case, _actor(a))
    return await assignment_view(session, a.id)


async def progress(session: AsyncSession, assignment: Assignment, data: ProgressIn) -> AssignmentView:
    """办理进展: public unless marked internal."""
    case, a = await _lock(session, assignment)
    _require_accepted(a, "报送办理进展")
    now = datetime.now(UTC)
    a.updated_at = now
    await session.flush()
    await record_event(
        session,
        case,
        "progress",
        _actor(a),
        public=data.public,
        data={
            "text": data.text,
            "department_id": a.department_id,
            "department_name": await _department_name(session, a.department_id),
        },
        event_data={"assignment_id": a.id, "public": data.public},
    )
    return await assignment_view(session, a.id)


async def co_opinion(session: AsyncSession, assignment: Assignment, data: CoOpinionIn) -> AssignmentView:
    """会办意见: a co-handler's written opinion to the lead department; internal."""
    case, a = await _lock(session, assignment)
    if a.role != AssignmentRole.co:
        raise WrongAssignmentRole(a.role, "提交会办意见，请直接报送进展或答复")
    _require_accepted(a, "提交会办意见")
    now = datetime.now(UTC)
    a.updated_at = now
    await session.flush()
    await record_event(
        session,
        case,
        "co_opinion",
        _actor(a),
        public=False,
        data={
            "text": data.text,
            "department_id": a.department_id,
            "department_name": await _department_name(session, a.department_id),
        },
        event_data={"assignment_id": a.id},
    )
    return await assignment_view(session, a.id)


async def _mark_case_replied(
    session: AsyncSession, case: Case, actor: Actor, reply: Reply | None = None
) -> None:
    """Every lead and separate assignment has replied: the case is replied. Without a reply in hand (the
    last holdout declined), the newest reply of this round stands for the answer."""
    if reply is None:
        reply = await session.scalar(
            select(Reply)
            .where(Reply.case_id == case.id, Reply.round == case.rework_round)
            .order_by(Reply.id.desc())
            .limit(1)
        )
    if reply is None or case.status not in (CaseStatus.in_progress, CaseStatus.rework):
        return
    await change_status(
        session,
        case,
        CaseStatus.replied,
        "replied",
        actor,
        public=True,
        data={
            "reply_class": reply.reply_class,
            "text": reply.text,
            "department_id": reply.department_id,
            "department_name": await _department_name(session, reply.department_id),
        },
        event_data={
            "assignment_id": reply.assignment_id,
            "reply_id": reply.id,
            "reply_class": reply.reply_class,
        },
    )


async def reply(session: AsyncSession, assignment: Assignment, data: ReplyIn) -> AssignmentView:
    """答复. The case is replied once every lead and separate department still on it has replied. A deputy
    suggestion may first need a recorded consultation with its deputy (the jurisdiction's policy)."""
    case, a = await _lock(session, assignment)
    if a.role not in ANSWERING_ROLES:
        raise WrongAssignmentRole(a.role, "答复，请提交会办意见")
    _require_accepted(a, "答复")
    await ensure_consulted(session, case, a)
    now = datetime.now(UTC)
    answer = Reply(
        jurisdiction_id=a.jurisdiction_id,
        case_id=case.id,
        assignment_id=a.id,
        department_id=a.department_id,
        reply_class=data.reply_class,
        text=data.text,
        round=case.rework_round,
        created_at=now,
    )
    session.add(answer)
    a.status = AssignmentStatus.replied
    a.replied_at = now
    a.updated_at = now
    await session.flush()
    remaining = _answering(await case_assignments(session, case.id))
    if all(r.status == AssignmentStatus.replied for r in remaining):
        await _mark_case_replied(session, case, _actor(a), answer)
    else:
        await record_event(
            session,
            case,
            "assignment_replied",
            _actor(a),
            public=True,
            data={
                "reply_class": answer.reply_class,
                "text": answer.text,
                "department_id": a.department_id,
                "department_name": await _department_name(session, a.department_id),
            },
            event_data={"assignment_id": a.id, "reply_id": answer.id, "reply_class": answer.reply_class},
        )
    return await assignment_view(session, a.id)


async def reopen_for_rework(session: AsyncSession, case: Case) -> list[Assignment]:
    """A case in rework goes back to its lead (and separate) departments: their replied assignments are
    accepted again so they can reply once more. The caller holds the case's row lock."""
    now = datetime.now(UTC)
    reopened = []
    for a in await case_assignments(session, case.id):
        if a.role in ANSWERING_ROLES and a.status == AssignmentStatus.replied:
            a.status = AssignmentStatus.accepted
            a.replied_at = None
            a.updated_at = now
            reopened.append(a)
    await session.flush()
    return reopened
