"""Extension requests (延期申请) as congress staff see and decide them. Departments make them through
routing_api; approving one moves the department's reply deadline, within the policy's cap.

How on-time counts with extensions: an approval never edits a deadline in place. The reply deadline in force is
superseded (``superseded_at`` = the approval) and a row with the same case, assignment, kind and round and the
approved due time takes its place; successive approvals make a chain. Since only an open deadline can be
extended, the row a reply meets is the last of its chain, the one with ``superseded_at IS NULL``: a reply of
(assignment, round) was on time when that row's ``met_at <= due_at`` — extensions honoured. The superseded
rows stay as history: "on time against the original deadline" compares ``met_at`` with the due time of the
chain's first row, and a chain longer than one row is a deadline that was extended. (Rows superseded because
the department declined, or the case was merged or rejected, have no successor of the same key.)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.supervision import deadlines
from services.supervision.errors import (
    ExtensionAlreadyDecided,
    ExtensionBeyondCap,
    ExtensionMoot,
    ExtensionRequestNotFound,
    FieldInvalid,
)
from services.supervision.schemas import EARLIEST_YEAR, LATEST_YEAR, Text
from services.workflow import Actor, record_event
from shared.calendar import SHANGHAI, add_months
from shared.db.enums import AssignmentRole, AssignmentStatus, CaseKind, DeadlineKind, ExtensionStatus
from shared.db.models import (
    Assignment,
    Case,
    Deadline,
    Department,
    ExtensionRequest,
    SupervisionSettings,
)
from shared.security.apikeys import Principal

# 代表建议: answered within 3 months of dispatch, and an approved extension reaches 6 months at most (statute).
DEPUTY_SUGGESTION_MAX_MONTHS = 6
# How far one approval may move another reply deadline past the one in force, without a policy row.
DEFAULT_EXTENSION_MAX_DAYS = 30


def _in_range(value: datetime) -> datetime:
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValueError(f"时间须在 {EARLIEST_YEAR} 至 {LATEST_YEAR} 年之间")
    return value


class ExtensionApproval(BaseModel):
    model_config = ConfigDict(extra="forbid")

    until: Annotated[AwareDatetime, AfterValidator(_in_range)] | None = Field(
        default=None,
        description="The new reply deadline: at most the date asked for, later than the current one; "
        "omitted: the date asked for",
    )
    note: Text | None = Field(default=None, max_length=1000, description="Shown to the department")


class ExtensionRefusal(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Text = Field(min_length=2, max_length=1000, description="Shown to the department")


class ExtensionRequestSummary(BaseModel):
    id: int
    case_id: int
    tracking_no: str
    assignment_id: int
    role: str = Field(description="The department's role on the case: lead or separate")
    department_id: int
    department_name: str
    round: int = Field(description="The rework round whose reply deadline the request is about")
    current_due_at: datetime = Field(description="The reply deadline when the request was made")
    requested_until: datetime
    reason: str
    status: str = Field(description="pending, approved or refused")
    created_at: datetime
    decided_at: datetime | None
    decision_note: str | None = Field(description="The approver's note, or the reason for refusing")
    approved_until: datetime | None = Field(description="The reply deadline the approval set")


def _summaries_query() -> Select[tuple[ExtensionRequest, str, str, str]]:
    return (
        select(ExtensionRequest, Case.tracking_no, Assignment.role, Department.name)
        .join(Case, Case.id == ExtensionRequest.case_id)
        .join(Assignment, Assignment.id == ExtensionRequest.assignment_id)
        .join(Department, Department.id == ExtensionRequest.department_id)
    )


async def _summaries(
    session: AsyncSession, *where: ColumnElement[bool], limit: int
) -> list[ExtensionRequestSummary]:
    rows = await session.execute(_summaries_query().where(*where).order_by(ExtensionRequest.id).limit(limit))
    return [
        ExtensionRequestSummary(
            id=request.id,
            case_id=request.case_id,
            tracking_no=tracking_no,
            assignment_id=request.assignment_id,
            role=role,
            department_id=request.department_id,
            department_name=department_name,
            round=request.round,
            current_due_at=request.current_due_at,
            requested_until=request.requested_until,
            reason=request.reason,
            status=request.status,
            created_at=request.created_at,
            decided_at=request.decided_at,
            decision_note=request.decision_note,
            approved_until=request.approved_until,
        )
        for request, tracking_no, role, department_name in rows.tuples()
    ]


async def list_extension_requests(
    session: AsyncSession,
    jurisdiction_id: int,
    *,
    status: str | None,
    department_id: int | None,
    limit: int,
    after_id: int | None,
) -> list[ExtensionRequestSummary]:
    """Oldest first, so the request that has waited longest heads the queue; ``after_id`` continues after it.
    Returns up to ``limit + 1`` so the caller can tell whether another page follows."""
    where = [ExtensionRequest.jurisdiction_id == jurisdiction_id]
    if status is not None:
        where.append(ExtensionRequest.status == status)
    if department_id is not None:
        where.append(ExtensionRequest.department_id == department_id)
    if after_id is not None:
        where.append(ExtensionRequest.id > after_id)
    return await _summaries(session, *where, limit=limit + 1)


async def get_extension_request(
    session: AsyncSession, jurisdiction_id: int, request_id: int
) -> ExtensionRequest:
    request = await session.scalar(
        select(ExtensionRequest).where(
            ExtensionRequest.id == request_id, ExtensionRequest.jurisdiction_id == jurisdiction_id
        )
    )
    if request is None:
        raise ExtensionRequestNotFound()
    return request


# --- deciding ----------------------------------------------------------------------------------------------


def _local(moment: datetime) -> str:
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


async def _lock_pending(session: AsyncSession, request: ExtensionRequest) -> tuple[Case, ExtensionRequest]:
    """The case row first, as every writer of a case and its assignments takes it, then the request re-read:
    two decisions on one request, or a decision racing the department's reply, happen one after the other."""
    case = (
        await session.execute(
            select(Case)
            .where(Case.id == request.case_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one()
    locked = (
        await session.execute(
            select(ExtensionRequest)
            .where(ExtensionRequest.id == request.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one()
    if locked.status != ExtensionStatus.pending:
        raise ExtensionAlreadyDecided()
    return case, locked


async def _deadline_in_force(session: AsyncSession, request: ExtensionRequest) -> Deadline | None:
    """The open reply deadline of the request's assignment and round; none once the department replied."""
    deadline: Deadline | None = await session.scalar(
        select(Deadline).where(
            Deadline.assignment_id == request.assignment_id,
            Deadline.kind == DeadlineKind.reply,
            Deadline.round == request.round,
            Deadline.met_at.is_(None),
            Deadline.superseded_at.is_(None),
        )
    )
    return deadline


async def extension_cap(
    session: AsyncSession, case: Case, assignment: Assignment, deadline: Deadline
) -> tuple[datetime, str]:
    """The latest reply deadline an approval may set, and the rule behind it in words.

    A deputy's suggestion: 6 calendar months (Asia/Shanghai) from its dispatch to the department, the moment
    its statutory 3 months were counted from. Anything else: the policy's ``extension_max_days`` calendar
    days past the deadline in force.
    """
    if case.kind == CaseKind.deputy_suggestion:
        start = assignment.dispatched_at.astimezone(SHANGHAI)
        cap = add_months(start, DEPUTY_SUGGESTION_MAX_MONTHS).astimezone(UTC)
        return cap, f"代表建议自交办之日（{_local(start)}）起最长六个月内答复"
    max_days = await session.scalar(
        select(SupervisionSettings.extension_max_days).where(
            SupervisionSettings.jurisdiction_id == case.jurisdiction_id
        )
    )
    days = DEFAULT_EXTENSION_MAX_DAYS if max_days is None else max_days
    cap = deadline.due_at + timedelta(days=days)
    return cap, f"每次延期最多在当前答复期限（{_local(deadline.due_at)}）后延长 {days} 天"


def _check_until(
    until: datetime, request: ExtensionRequest, deadline: Deadline, now: datetime, given: bool
) -> None:
    if until > request.requested_until:
        raise FieldInvalid("until", f"批准的期限不能晚于申请延至的时间（{_local(request.requested_until)}）")
    if until <= deadline.due_at:
        raise FieldInvalid("until", f"批准的期限须晚于当前答复期限（{_local(deadline.due_at)}）")
    if until <= now:
        message = "批准的期限不能早于现在" if given else "申请延至的时间已过，请指定新的期限"
        raise FieldInvalid("until", message)


async def approve(
    session: AsyncSession, principal: Principal, request: ExtensionRequest, data: ExtensionApproval
) -> ExtensionRequestSummary:
    """Approves a pending request, with the date asked for or an earlier one, within the cap (a date past it
    is refused with the cap, never silently shortened). The reply deadline in force is superseded and a new
    one inserted; the database trigger gives it its due-soon and overdue moments, unraised, so the alarms
    arm again for the new due time. A lead's co-handlers' opinion deadlines follow it. Emits
    case.extension_decided (public: the citizen sees 办理期限调整)."""
    case, request = await _lock_pending(session, request)
    assignment = (
        await session.execute(
            select(Assignment)
            .where(Assignment.id == request.assignment_id)
            .execution_options(populate_existing=True)
        )
    ).scalar_one()
    deadline = await _deadline_in_force(session, request)
    if deadline is None or assignment.status != AssignmentStatus.accepted:
        raise ExtensionMoot()
    now = datetime.now(UTC)
    until = data.until or request.requested_until
    _check_until(until, request, deadline, now, given=data.until is not None)
    cap, rule = await extension_cap(session, case, assignment, deadline)
    if until > cap:
        raise ExtensionBeyondCap(
            f"{rule}，批准的期限不能晚于 {_local(cap)}；可在批准时指定不晚于该时间的期限",
            cap.isoformat(),
        )
    previous_due = deadline.due_at
    deadline.superseded_at = now
    await session.flush()  # the unique key holds only for rows in force: the old one steps aside first
    session.add(
        Deadline(
            jurisdiction_id=deadline.jurisdiction_id,
            case_id=deadline.case_id,
            assignment_id=deadline.assignment_id,
            kind=deadline.kind,
            round=deadline.round,
            tier=deadline.tier,
            starts_at=deadline.starts_at,
            due_at=until,
        )
    )
    request.status = ExtensionStatus.approved
    request.decided_at = now
    request.decided_by_key_id = principal.key_id
    request.decision_note = data.note
    request.approved_until = until
    await session.flush()
    if assignment.role == AssignmentRole.lead:
        await deadlines.ensure_dispatch_deadlines(session, case)
    await _record(session, principal, case, request, previous_due, data.note)
    return (await _summaries(session, ExtensionRequest.id == request.id, limit=1))[0]


async def refuse(
    session: AsyncSession, principal: Principal, request: ExtensionRequest, data: ExtensionRefusal
) -> ExtensionRequestSummary:
    """Refuses a pending request with a reason for the department; the deadline stays as it is. The event
    stays off the citizen's page: nothing the citizen sees has changed."""
    case, request = await _lock_pending(session, request)
    request.status = ExtensionStatus.refused
    request.decided_at = datetime.now(UTC)
    request.decided_by_key_id = principal.key_id
    request.decision_note = data.reason
    await session.flush()
    await _record(session, principal, case, request, None, data.reason)
    return (await _summaries(session, ExtensionRequest.id == request.id, limit=1))[0]


async def _record(
    session: AsyncSession,
    principal: Principal,
    case: Case,
    request: ExtensionRequest,
    previous_due: datetime | None,
    text: str | None,
) -> None:
    approved = request.status == ExtensionStatus.approved
    moved = {"previous_due_at": previous_due.astimezone(UTC).isoformat()} if previous_due else {}
    until = request.approved_until.astimezone(UTC).isoformat() if request.approved_until else None
    ids = {
        "extension_request_id": request.id,
        "assignment_id": request.assignment_id,
        "approved": approved,
        "until": until,
    }
    await record_event(
        session,
        case,
        "extension_decided",
        Actor(principal.role, principal.key_id),
        public=approved,
        # The note or reason is for staff and the department; the outbound event carries ids only.
        data={
            **ids,
            "department_id": request.department_id,
            **moved,
            ("note" if approved else "reason"): text,
        },
        event_data=ids,
    )
