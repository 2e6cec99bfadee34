"""Finding cases for congress staff: the search over a jurisdiction's cases and the full view of one."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, and_, exists, not_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from services.supervision.deadlines import GONE
from services.supervision.errors import CaseNotFound, FieldInvalid
from services.supervision.schemas import EARLIEST_YEAR, LATEST_YEAR, CaseFilters, CaseSummary
from services.workflow.views import CaseStaffView, staff_view
from shared.db.enums import CaseStatus, DeadlineKind
from shared.db.models import Assignment, Case, Category, Deadline

# Deadlines that are somebody's duty; a lapsed decline or rating window is nobody's fault.
DUTY_KINDS = (DeadlineKind.accept, DeadlineKind.reply, DeadlineKind.co_opinion)
OPEN_STATUSES = (CaseStatus.dispatched, CaseStatus.in_progress, CaseStatus.replied, CaseStatus.rework)


def _overdue(now: datetime) -> ColumnElement[bool]:
    return and_(
        Case.status.in_(OPEN_STATUSES),
        exists().where(
            Deadline.case_id == Case.id,
            Deadline.kind.in_(DUTY_KINDS),
            Deadline.met_at.is_(None),
            Deadline.superseded_at.is_(None),
            Deadline.due_at < now,
        ),
    )


async def search_cases(
    session: AsyncSession,
    jurisdiction_id: int,
    filters: CaseFilters,
    *,
    limit: int,
    before_id: int | None = None,
    now: datetime | None = None,
) -> list[CaseSummary]:
    """Up to ``limit + 1`` matching cases of the jurisdiction, newest first."""
    for field, moment in (("from", filters.created_from), ("to", filters.created_to)):
        if moment is not None and not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
            raise FieldInvalid(field, f"时间须在 {EARLIEST_YEAR} 至 {LATEST_YEAR} 年之间")
    query = (
        select(
            Case.id,
            Case.tracking_no,
            Case.status,
            Case.kind,
            Category.code,
            Case.urgency,
            Case.station_id,
            Case.deputy_id,
            Case.created_at,
        )
        .outerjoin(Category, Category.id == Case.category_id)
        .where(Case.jurisdiction_id == jurisdiction_id)
    )
    if before_id is not None:
        query = query.where(Case.id < before_id)
    if filters.tracking_no:
        query = query.where(Case.tracking_no == filters.tracking_no.strip())
    if filters.status is not None:
        query = query.where(Case.status == filters.status)
    if filters.station_id is not None:
        query = query.where(Case.station_id == filters.station_id)
    if filters.deputy_id is not None:
        query = query.where(Case.deputy_id == filters.deputy_id)
    if filters.created_from is not None:
        query = query.where(Case.created_at >= filters.created_from)
    if filters.created_to is not None:
        query = query.where(Case.created_at < filters.created_to)
    if filters.department_id is not None:
        query = query.where(
            exists().where(
                Assignment.case_id == Case.id,
                Assignment.department_id == filters.department_id,
                Assignment.status.not_in(GONE),
            )
        )
    if filters.category_code:
        # A top-level category matches its subcategories too.
        parent = aliased(Category)
        category_ids = (
            select(Category.id)
            .outerjoin(parent, parent.id == Category.parent_id)
            .where(
                Category.jurisdiction_id == jurisdiction_id,
                or_(Category.code == filters.category_code, parent.code == filters.category_code),
            )
        )
        query = query.where(Case.category_id.in_(category_ids))
    if filters.overdue is not None:
        overdue = _overdue(now or datetime.now(UTC))
        query = query.where(overdue if filters.overdue else not_(overdue))
    rows = (await session.execute(query.order_by(Case.id.desc()).limit(limit + 1))).all()
    departments = await _department_ids(session, [row.id for row in rows])
    return [
        CaseSummary(
            id=row.id,
            tracking_no=row.tracking_no,
            status=row.status,
            kind=row.kind,
            category_code=row.code,
            urgency=row.urgency,
            station_id=row.station_id,
            deputy_id=row.deputy_id,
            created_at=row.created_at,
            department_ids=departments.get(row.id, []),
        )
        for row in rows
    ]


async def _department_ids(session: AsyncSession, case_ids: list[int]) -> dict[int, list[int]]:
    if not case_ids:
        return {}
    rows = await session.execute(
        select(Assignment.case_id, Assignment.department_id).where(
            Assignment.case_id.in_(case_ids), Assignment.status.not_in(GONE)
        )
    )
    found: dict[int, set[int]] = defaultdict(set)
    for case_id, department_id in rows:
        found[case_id].add(department_id)
    return {case_id: sorted(ids) for case_id, ids in found.items()}


async def get_case(session: AsyncSession, jurisdiction_id: int, case_id: int) -> Case:
    case = await session.scalar(
        select(Case).where(Case.id == case_id, Case.jurisdiction_id == jurisdiction_id)
    )
    if case is None:
        raise CaseNotFound()
    return case


async def case_view(session: AsyncSession, case: Case) -> CaseStaffView:
    """Everything staff may see of one case: assignments, deadlines, replies, feedback and the timeline."""
    return await staff_view(session, case)
