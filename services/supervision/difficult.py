"""Difficult cases (疑难问题) for the monthly coordination meeting (协调处办会): staff mark a case with a reason
and a meeting date, the meeting's agenda lists them with where each case stands, and a mark can be moved or
withdrawn until the meeting decides (services.supervision.difficult_decision records the decision)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.supervision.cases import DUTY_KINDS
from services.supervision.coordination_errors import (
    AlreadyMarked,
    CaseNotMarkable,
    DifficultCaseNotFound,
    DifficultCaseNotPending,
)
from services.supervision.coordination_schemas import (
    DifficultCaseOut,
    DifficultMarkIn,
    DifficultUpdateIn,
    HandlingDepartment,
    MeetingDecision,
    OpenDeadline,
)
from services.supervision.deadlines import GONE
from services.workflow import Actor, record_event
from shared.db.enums import CaseStatus
from shared.db.models import (
    Assignment,
    Case,
    Category,
    Deadline,
    Department,
    DifficultCase,
    DifficultCaseStatus,
)
from shared.security.apikeys import Principal

# Cases a department is handling: the ones a meeting can still change the course of.
MARKABLE = (CaseStatus.dispatched, CaseStatus.in_progress, CaseStatus.rework)


@dataclass(frozen=True)
class _CaseFacts:
    tracking_no: str
    status: str
    category_code: str | None
    category_name: str | None


def staff_actor(principal: Principal) -> Actor:
    return Actor(principal.role, principal.key_id)


async def mark(
    session: AsyncSession, principal: Principal, case: Case, data: DifficultMarkIn
) -> DifficultCaseOut:
    """Puts a case on the meeting's list. A case has at most one open mark; the partial unique index
    decides between two staff marking it at once."""
    if case.status not in MARKABLE:
        raise CaseNotMarkable()
    mark_id = await session.scalar(
        pg_insert(DifficultCase)
        .values(
            jurisdiction_id=case.jurisdiction_id,
            case_id=case.id,
            reason=data.reason,
            meeting_date=data.meeting_date,
            status=DifficultCaseStatus.pending,
            marked_by_key_id=principal.key_id,
            co_department_ids=[],
        )
        .on_conflict_do_nothing(
            # The partial unique index's own predicate, as text: a bound parameter would not match it.
            index_elements=["case_id"],
            index_where=text("status = 'pending'"),
        )
        .returning(DifficultCase.id)
    )
    if mark_id is None:
        raise AlreadyMarked()
    await record_event(
        session,
        case,
        "marked_difficult",
        staff_actor(principal),
        data={
            "difficult_case_id": mark_id,
            "reason": data.reason,
            "meeting_date": data.meeting_date.isoformat() if data.meeting_date else None,
        },
    )
    return await view(session, await get_mark(session, case.jurisdiction_id, mark_id))


async def get_mark(session: AsyncSession, jurisdiction_id: int, mark_id: int) -> DifficultCase:
    found = await session.scalar(
        select(DifficultCase)
        .where(DifficultCase.id == mark_id, DifficultCase.jurisdiction_id == jurisdiction_id)
        .execution_options(populate_existing=True)
    )
    if found is None:
        raise DifficultCaseNotFound()
    return found


async def list_marks(
    session: AsyncSession,
    jurisdiction_id: int,
    *,
    meeting_date: date | None,
    status: DifficultCaseStatus | None,
    limit: int,
    after_id: int | None,
) -> list[DifficultCaseOut]:
    """The meeting's agenda: up to ``limit + 1`` marks in the order they were made."""
    query = select(DifficultCase).where(DifficultCase.jurisdiction_id == jurisdiction_id)
    if meeting_date is not None:
        query = query.where(DifficultCase.meeting_date == meeting_date)
    if status is not None:
        query = query.where(DifficultCase.status == status)
    if after_id is not None:
        query = query.where(DifficultCase.id > after_id)
    marks = list(await session.scalars(query.order_by(DifficultCase.id).limit(limit + 1)))
    return await _views(session, marks)


async def view(session: AsyncSession, found: DifficultCase) -> DifficultCaseOut:
    return (await _views(session, [found]))[0]


async def _views(session: AsyncSession, marks: list[DifficultCase]) -> list[DifficultCaseOut]:
    """Each mark with its case's number, state and category, the units on it and its running deadlines, read
    in three queries whatever the number of marks."""
    if not marks:
        return []
    case_ids = list({m.case_id for m in marks})
    rows = await session.execute(
        select(Case.id, Case.tracking_no, Case.status, Category.code, Category.name)
        .outerjoin(Category, Category.id == Case.category_id)
        .where(Case.id.in_(case_ids))
    )
    cases = {id_: _CaseFacts(*facts) for id_, *facts in rows.tuples()}
    departments: dict[int, list[HandlingDepartment]] = defaultdict(list)
    for a, name in (
        await session.execute(
            select(Assignment, Department.name)
            .join(Department, Department.id == Assignment.department_id)
            .where(Assignment.case_id.in_(case_ids), Assignment.status.not_in(GONE))
            .order_by(Assignment.id)
        )
    ).tuples():
        departments[a.case_id].append(
            HandlingDepartment(
                assignment_id=a.id, department_id=a.department_id, name=name, role=a.role, status=a.status
            )
        )
    deadlines: dict[int, list[OpenDeadline]] = defaultdict(list)
    for d in await session.scalars(
        select(Deadline)
        .where(
            Deadline.case_id.in_(case_ids),
            Deadline.kind.in_(DUTY_KINDS),
            Deadline.met_at.is_(None),
            Deadline.superseded_at.is_(None),
        )
        .order_by(Deadline.due_at, Deadline.id)
    ):
        deadlines[d.case_id].append(
            OpenDeadline(kind=d.kind, assignment_id=d.assignment_id, tier=d.tier, due_at=d.due_at)
        )
    return [_out(m, cases[m.case_id], departments[m.case_id], deadlines[m.case_id]) for m in marks]


def _out(
    m: DifficultCase, case: _CaseFacts, departments: list[HandlingDepartment], deadlines: list[OpenDeadline]
) -> DifficultCaseOut:
    decision = None
    if m.status == DifficultCaseStatus.decided and m.lead_department_id is not None:
        assert m.due_at is not None and m.decided_at is not None  # the table's CHECK says so
        decision = MeetingDecision(
            lead_department_id=m.lead_department_id,
            co_department_ids=list(m.co_department_ids),
            due_at=m.due_at,
            note=m.note,
            decided_at=m.decided_at,
            decided_by_key_id=m.decided_by_key_id,
        )
    return DifficultCaseOut(
        id=m.id,
        case_id=m.case_id,
        tracking_no=case.tracking_no,
        case_status=case.status,
        category_code=case.category_code,
        category_name=case.category_name,
        reason=m.reason,
        meeting_date=m.meeting_date,
        status=m.status,
        marked_by_key_id=m.marked_by_key_id,
        marked_at=m.marked_at,
        withdrawn_at=m.withdrawn_at,
        departments=departments,
        open_deadlines=deadlines,
        decision=decision,
    )


async def update_mark(
    session: AsyncSession, found: DifficultCase, data: DifficultUpdateIn
) -> DifficultCaseOut:
    """Another reason or meeting date, while the meeting has not decided."""
    values: dict[str, object] = {}
    if data.reason is not None:
        values["reason"] = data.reason
    if "meeting_date" in data.model_fields_set:
        values["meeting_date"] = data.meeting_date
    if values:
        changed = await session.scalar(
            update(DifficultCase)
            .where(DifficultCase.id == found.id, DifficultCase.status == DifficultCaseStatus.pending)
            .values(**values)
            .returning(DifficultCase.id)
            .execution_options(synchronize_session=False)
        )
        if changed is None:
            raise DifficultCaseNotPending()
    elif found.status != DifficultCaseStatus.pending:
        raise DifficultCaseNotPending()
    return await view(session, await get_mark(session, found.jurisdiction_id, found.id))


async def withdraw_mark(
    session: AsyncSession, principal: Principal, found: DifficultCase
) -> DifficultCaseOut:
    """Takes a case off the meeting's list before it decides; the case can be marked again later."""
    now = datetime.now(UTC)
    changed = await session.scalar(
        update(DifficultCase)
        .where(DifficultCase.id == found.id, DifficultCase.status == DifficultCaseStatus.pending)
        .values(status=DifficultCaseStatus.withdrawn, withdrawn_at=now)
        .returning(DifficultCase.id)
        .execution_options(synchronize_session=False)
    )
    if changed is None:
        raise DifficultCaseNotPending()
    case = (await session.execute(select(Case).where(Case.id == found.case_id))).scalar_one()
    await record_event(
        session, case, "difficult_withdrawn", staff_actor(principal), data={"difficult_case_id": found.id}
    )
    return await view(session, await get_mark(session, found.jurisdiction_id, found.id))
