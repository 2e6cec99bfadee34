"""A person's decisions at the desk: dispatch (or redispatch) by hand, reject, and the departments' flags
that ask for a dispatcher's eye. Every one locks the case row first and is a workflow transition or event."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing.assignments import ACTIVE_CASE_STATUSES, GONE
from services.routing.classifier import record_correction
from services.routing.desk.arrival import enqueue, leave_queue
from services.routing.desk.errors import (
    AlreadyFlagged,
    CaseNotFound,
    NotDispatchable,
    NotFlagged,
    NotRejectable,
)
from services.routing.desk.schemas import DispatchIn, DispatchOut, FlagIn, RejectIn, UnflagIn
from services.routing.dispatch import category_tier, handling_tier, new_assignments
from services.routing.errors import AssignmentStateConflict, CaseNotActive
from services.routing.repository import (
    case_assignments,
    department_names,
    find_by_code,
    lock_assignment,
    lock_case,
)
from services.routing.rules import RoutedDepartment
from services.routing.schemas import AssignmentView
from services.routing.taxonomy import departments_in_jurisdiction
from services.routing.views import assignment_view
from services.workflow import Actor, change_status, record_event, withdraw
from shared.db.enums import AssignmentRole, AssignmentStatus, CaseStatus, CategorySource, QueueReason
from shared.db.models import Assignment, Case, Category
from shared.errors import Unprocessable
from shared.security.apikeys import Principal

# Being handled, with a department's flag: units can be added without taking the case from anyone.
_ADDABLE = frozenset({CaseStatus.dispatched, CaseStatus.in_progress})
REJECT_REASON_LABELS = {
    "spam": "无效信息",
    "out_of_scope": "不属于受理范围",
    "duplicate_elsewhere": "已通过其他渠道办理",
    "insufficient": "内容无法核实",
}


def staff_actor(key: Principal) -> Actor:
    return Actor(key.role, key.key_id)


async def locked_case(session: AsyncSession, jurisdiction_id: int, case_id: int) -> Case:
    """The case under its row lock, if it is this jurisdiction's; any other id is a 404."""
    case = await lock_case(session, case_id)
    if case is None or case.jurisdiction_id != jurisdiction_id:
        raise CaseNotFound()
    return case


async def _category(session: AsyncSession, case: Case, code: str | None) -> Category | None:
    """The category the dispatcher chose (None: keep the case's own)."""
    if code is None:
        if case.category_id is None:
            raise Unprocessable.field("category_code", "该事项尚无问题分类，请选择分类后交办")
        return None
    category = await find_by_code(session, Category, case.jurisdiction_id, code)
    if category is None or not category.active:
        raise Unprocessable.field("category_code", f"问题分类“{code}”不存在或已停用")
    return category


async def _check_departments(session: AsyncSession, case: Case, data: DispatchIn) -> dict[int, str]:
    ids = [a.department_id for a in data.assignments]
    found = await departments_in_jurisdiction(session, case.jurisdiction_id, ids)
    for index, item in enumerate(data.assignments):
        department = found.get(item.department_id)
        if department is None:
            raise Unprocessable.field(f"assignments.{index}.department_id", "承办单位不存在")
        if not department.active:
            raise Unprocessable.field(
                f"assignments.{index}.department_id", f"承办单位“{department.name}”已停用"
            )
    return {id_: d.name for id_, d in found.items()}


def _check_roles(data: DispatchIn) -> None:
    """A new dispatch: exactly one lead (with any co-handlers), or separate units each answering."""
    roles: list[str] = [a.role for a in data.assignments]
    if roles.count(AssignmentRole.lead) > 1:
        raise Unprocessable.field("assignments", "只能有一个主办单位")
    if AssignmentRole.lead not in roles and AssignmentRole.separate not in roles:
        raise Unprocessable.field("assignments", "需要一个主办单位或至少一个分办单位")


def _check_additions(current: list[Assignment], data: DispatchIn) -> None:
    """Units added to a case being handled: none already on it, and never a second lead."""
    active = [a for a in current if a.status not in GONE]
    on_case = {a.department_id for a in active}
    for index, item in enumerate(data.assignments):
        if item.department_id in on_case:
            raise Unprocessable.field(f"assignments.{index}.department_id", "该承办单位已在办理此事项")
        if item.role == AssignmentRole.lead and any(a.role == AssignmentRole.lead for a in active):
            raise Unprocessable.field(f"assignments.{index}.role", "该事项已有主办单位，不能再增加主办单位")


async def dispatch(session: AsyncSession, key: Principal, case_id: int, data: DispatchIn) -> DispatchOut:
    """交办/改派. A received case (new, declined by everyone, or waiting for a person) gets the assignments
    given, its earlier assignments kept as history. A flagged case that is being handled gets the units
    added. A category the dispatcher chose over the classifier's (or in its place) becomes a labelled
    example."""
    case = await locked_case(session, key.jurisdiction_id, case_id)
    adding = case.status in _ADDABLE and case.queue_reason == QueueReason.flagged
    if case.status != CaseStatus.received and not adding:
        raise NotDispatchable(case.status)
    category = await _category(session, case, data.category_code)
    names = await _check_departments(session, case, data)
    current = await case_assignments(session, case.id)
    if adding:
        _check_additions(current, data)
    else:
        _check_roles(data)
    if category is not None:
        if category.id != case.category_id or case.queue_reason == QueueReason.low_confidence:
            await record_correction(
                session,
                jurisdiction_id=case.jurisdiction_id,
                case_id=case.id,
                category_id=category.id,
                text="\n".join(p for p in (case.title, case.description) if p),
            )
        if category.id != case.category_id or case.category_source != CategorySource.citizen:
            case.category_source = CategorySource.dispatcher
            case.classification_score = None
        case.category_id = category.id
    if data.tier is not None:
        case.tier = data.tier
    elif not adding:
        case.tier = handling_tier(case, None, await category_tier(session, case))
    now = datetime.now(UTC)
    added = new_assignments(case, [RoutedDepartment(a.department_id, a.role) for a in data.assignments], now)
    session.add_all(added)
    await session.flush()
    leave_queue(case)
    actor = staff_actor(key)
    data_log = {
        "department_names": [names[a.department_id] for a in added],
        "tier": case.tier,
        "manual": True,
        "redispatch": bool(current),
        "note": data.note,
    }
    event_data = {"assignment_ids": [a.id for a in added], "tier": case.tier, "rule_id": None, "manual": True}
    if adding:
        await record_event(
            session,
            case,
            "dispatched",
            actor,
            public=True,
            data=data_log | {"added": True},
            event_data=event_data,
        )
    else:
        await change_status(
            session, case, CaseStatus.dispatched, "dispatched", actor, data=data_log, event_data=event_data
        )
    return await _outcome(session, case, [a.id for a in added])


async def _outcome(session: AsyncSession, case: Case, assignment_ids: list[int]) -> DispatchOut:
    category_code = await session.scalar(select(Category.code).where(Category.id == case.category_id))
    return DispatchOut(
        case_id=case.id,
        tracking_no=case.tracking_no,
        status=case.status,
        category_code=category_code,
        tier=case.tier,
        assignment_ids=assignment_ids,
    )


async def withdraw_assignments(session: AsyncSession, case: Case, at: datetime) -> list[Assignment]:
    """Takes the case away from every unit still on it (kept as history, status withdrawn)."""
    withdrawn = [a for a in await case_assignments(session, case.id) if a.status not in GONE]
    withdraw(withdrawn, at)
    await session.flush()
    return withdrawn


def _citizen_text(data: RejectIn) -> str:
    text = data.message.rstrip()
    if data.refer_to:
        text += f"（建议您向{data.refer_to}反映）"
    return text


async def reject(session: AsyncSession, key: Principal, case_id: int, data: RejectIn) -> DispatchOut:
    """不予受理: spam, or out of scope with where to go instead. The message is on the citizen's page."""
    case = await locked_case(session, key.jurisdiction_id, case_id)
    if case.status not in (CaseStatus.received, CaseStatus.dispatched):
        raise NotRejectable(case.status)
    withdrawn = await withdraw_assignments(session, case, datetime.now(UTC))
    leave_queue(case)
    await change_status(
        session,
        case,
        CaseStatus.rejected,
        "rejected",
        staff_actor(key),
        public=True,
        data={
            "reason": _citizen_text(data),
            "reason_code": data.reason,
            "reason_label": REJECT_REASON_LABELS[data.reason],
            "refer_to": data.refer_to,
            "withdrawn_assignment_ids": [a.id for a in withdrawn],
        },
        event_data={"reason_code": data.reason},
    )
    return await _outcome(session, case, [])


async def flag(session: AsyncSession, assignment: Assignment, data: FlagIn) -> AssignmentView:
    """A department asks the dispatcher to look at a case it is handling (another unit is needed, the
    category is wrong) without giving it back."""
    case = await lock_case(session, assignment.case_id)
    if case is None or case.status not in ACTIVE_CASE_STATUSES:
        raise CaseNotActive()
    a = await lock_assignment(session, assignment.id)
    if a.status not in (AssignmentStatus.pending, AssignmentStatus.accepted):
        raise AssignmentStateConflict(a.status, "提请交办人员处理")
    if case.queue_reason is not None:
        raise AlreadyFlagged()
    name = (await department_names(session, [a.department_id]))[a.department_id]
    await enqueue(
        session,
        case,
        QueueReason.flagged,
        Actor("department", a.department_id),
        department_id=a.department_id,
        department_name=name,
        text=data.reason,
    )
    return await assignment_view(session, a.id)


async def unflag(session: AsyncSession, key: Principal, case_id: int, data: UnflagIn) -> None:
    """The dispatcher looked at a flag and nothing needs to change."""
    case = await locked_case(session, key.jurisdiction_id, case_id)
    if case.queue_reason != QueueReason.flagged:
        raise NotFlagged()
    leave_queue(case)
    await record_event(session, case, "unflagged", staff_actor(key), public=False, data={"note": data.note})
