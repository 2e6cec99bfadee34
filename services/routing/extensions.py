"""Extension requests (延期申请): a lead or separate department asks for more time to reply, before its reply
deadline passes. Supervision approves or refuses (services.supervision); until then the request is pending, and
an assignment has at most one pending request at a time."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing.assignments import ACTIVE_CASE_STATUSES
from services.routing.errors import (
    AssignmentStateConflict,
    CaseNotActive,
    ExtensionAlreadyPending,
    NoReplyDeadline,
    NotAccepted,
    ReplyDeadlinePassed,
    WrongAssignmentRole,
)
from services.routing.repository import department_names, is_unique_violation, lock_assignment, lock_case
from services.routing.rules import ANSWERING_ROLES
from services.routing.schemas import ExtensionRequestIn, ExtensionRequestView
from services.workflow import Actor, record_event
from shared.calendar import SHANGHAI
from shared.db.enums import AssignmentStatus, DeadlineKind, ExtensionStatus
from shared.db.models import Assignment, Deadline, ExtensionRequest
from shared.errors import Unprocessable


def _local(moment: datetime) -> str:
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


async def _open_reply_deadline(session: AsyncSession, assignment_id: int) -> Deadline | None:
    """The reply deadline in force: the open row of the latest round."""
    deadline: Deadline | None = await session.scalar(
        select(Deadline)
        .where(
            Deadline.assignment_id == assignment_id,
            Deadline.kind == DeadlineKind.reply.value,
            Deadline.met_at.is_(None),
            Deadline.superseded_at.is_(None),
        )
        .order_by(Deadline.round.desc(), Deadline.id.desc())
        .limit(1)
    )
    return deadline


async def _has_pending(session: AsyncSession, assignment_id: int) -> bool:
    found = await session.scalar(
        select(ExtensionRequest.id).where(
            ExtensionRequest.assignment_id == assignment_id,
            ExtensionRequest.status == ExtensionStatus.pending.value,
        )
    )
    return found is not None


def _check_until(until: datetime, due_at: datetime, now: datetime) -> None:
    if until <= now:
        raise Unprocessable.field("until", "申请延至的时间不能早于现在")
    if until <= due_at:
        raise Unprocessable.field("until", f"申请延至的时间须晚于当前答复期限（{_local(due_at)}）")


async def request_extension(
    session: AsyncSession, assignment: Assignment, data: ExtensionRequestIn
) -> ExtensionRequestView:
    """延期申请 by the lead or a separate department that has accepted, before its reply deadline. Emits
    case.extension_requested (no personal data, no reason) for supervision to decide on."""
    # Case first, then assignment: the lock order of every action on assignments.
    case = await lock_case(session, assignment.case_id)
    if case is None:  # the foreign key rules this out; kept for the type checker
        raise CaseNotActive()
    a = await lock_assignment(session, assignment.id)
    if case.status not in ACTIVE_CASE_STATUSES:
        raise CaseNotActive()
    if a.role not in ANSWERING_ROLES:
        raise WrongAssignmentRole(a.role, "申请延期，延期由主办或分办单位申请")
    if a.status == AssignmentStatus.pending:
        raise NotAccepted()
    if a.status != AssignmentStatus.accepted:
        raise AssignmentStateConflict(a.status, "申请延期")
    deadline = await _open_reply_deadline(session, a.id)
    if deadline is None:
        raise NoReplyDeadline()
    now = datetime.now(UTC)
    if now >= deadline.due_at:
        raise ReplyDeadlinePassed()
    _check_until(data.until, deadline.due_at, now)
    if await _has_pending(session, a.id):
        raise ExtensionAlreadyPending()
    request = ExtensionRequest(
        jurisdiction_id=a.jurisdiction_id,
        case_id=case.id,
        assignment_id=a.id,
        department_id=a.department_id,
        round=deadline.round,
        current_due_at=deadline.due_at,
        requested_until=data.until,
        reason=data.reason,
        status=ExtensionStatus.pending.value,
        created_at=now,
    )
    session.add(request)
    a.updated_at = now
    try:
        await session.flush()
    except IntegrityError as exc:
        # Any writer of a request holds a key lock on the case row until it commits, so under the case lock
        # the check above sees every pending request; the unique index is the last word all the same.
        if is_unique_violation(exc):
            raise ExtensionAlreadyPending() from exc
        raise
    requested_until = data.until.astimezone(UTC).isoformat()
    await record_event(
        session,
        case,
        "extension_requested",
        Actor("department", a.department_id),
        public=False,
        data={
            "extension_request_id": request.id,
            "assignment_id": a.id,
            "department_id": a.department_id,
            "department_name": (await department_names(session, [a.department_id]))[a.department_id],
            "current_due_at": deadline.due_at.astimezone(UTC).isoformat(),
            "requested_until": requested_until,
            "reason": data.reason,
        },
        event_data={
            "extension_request_id": request.id,
            "assignment_id": a.id,
            "requested_until": requested_until,
        },
    )
    return ExtensionRequestView.model_validate(request)


async def list_requests(
    session: AsyncSession, assignment: Assignment, *, limit: int, after_id: int | None
) -> list[ExtensionRequestView]:
    """The assignment's requests, newest first; up to ``limit + 1`` so the caller can tell if more follow."""
    query = select(ExtensionRequest).where(ExtensionRequest.assignment_id == assignment.id)
    if after_id is not None:
        query = query.where(ExtensionRequest.id < after_id)
    rows = await session.scalars(query.order_by(ExtensionRequest.id.desc()).limit(limit + 1))
    return [ExtensionRequestView.model_validate(row) for row in rows]
