"""The data of the dashboard's list panels, read straight from the tables: reply deadlines past due, the year's
key-supervision items, the difficult cases waiting for the coordination meeting, the open hot spots and the
working-day calendar's coverage. (The rate panels come from services.supervision.metrics; see views.py.)

Nothing personal is read: cases appear by tracking number only. A department's dashboard (``department_id``)
lists only rows of its own assignments and names no other department.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.supervision import calendar_years
from services.supervision.cases import OPEN_STATUSES
from services.supervision.deadlines import GONE
from services.supervision.key_item_errors import STAGE_LABELS
from services.supervision.key_report import excerpt
from services.workflow.errors import STATUS_LABELS
from shared.db.enums import DeadlineKind, HotspotStatus
from shared.db.models import (
    Assignment,
    Case,
    Category,
    Deadline,
    Department,
    DifficultCase,
    DifficultCaseStatus,
    Grid,
    Hotspot,
    Jurisdiction,
    KeyItem,
    KeyItemCheck,
)

LIST_LIMIT = 20
# Lists count their rows up to this many (a jurisdiction with a backlog says "1000 项以上" without counting it all).
COUNT_CAP = 1000
KEY_ITEM_LIMIT = 50
# From this day of the year on, next year's working-day calendar must be there (the State Council publishes
# it in November or December; deadlines set from October may already reach into January).
CALENDAR_WARNING_FROM = (10, 1)


@dataclass(frozen=True)
class Scope:
    """Whose dashboard: the jurisdiction's, narrowed to one department for a department key, and the page's
    category (a top-level category and its subcategories) and grid filters."""

    jurisdiction_id: int
    department_id: int | None = None
    category_ids: tuple[int, ...] | None = None
    grid_id: int | None = None

    def case_filters(self) -> list[ColumnElement[bool]]:
        filters: list[ColumnElement[bool]] = [Case.jurisdiction_id == self.jurisdiction_id]
        if self.category_ids is not None:
            filters.append(Case.category_id.in_(self.category_ids))
        if self.grid_id is not None:
            filters.append(Case.grid_id == self.grid_id)
        return filters


@dataclass(frozen=True)
class OverdueRow:
    tracking_no: str
    department: str
    due_at: datetime
    days_overdue: int  # whole days past due (0: less than a day)


@dataclass(frozen=True)
class Overdue:
    rows: list[OverdueRow]
    total: int  # at most COUNT_CAP
    capped: bool  # there are more than COUNT_CAP


async def overdue_replies(session: AsyncSession, scope: Scope, now: datetime) -> Overdue:
    """Reply deadlines in force, not met and past due, of assignments still handled, worst first (the
    longest past due), at most LIST_LIMIT, with how many there are in all."""
    conditions = [
        Deadline.jurisdiction_id == scope.jurisdiction_id,
        Deadline.kind == DeadlineKind.reply,
        Deadline.met_at.is_(None),
        Deadline.superseded_at.is_(None),
        Deadline.due_at < now,
        Assignment.status.not_in(GONE),
        Case.status.in_(OPEN_STATUSES),
        *scope.case_filters(),
    ]
    if scope.department_id is not None:
        conditions.append(Assignment.department_id == scope.department_id)
    joined = (
        select(Case.tracking_no, Department.name, Deadline.due_at)
        .select_from(Deadline)
        .join(Assignment, Assignment.id == Deadline.assignment_id)
        .join(Case, Case.id == Deadline.case_id)
        .join(Department, Department.id == Assignment.department_id)
        .where(*conditions)
    )
    rows = await session.execute(joined.order_by(Deadline.due_at, Deadline.id).limit(LIST_LIMIT))
    total = await _capped_count(session, joined)
    return Overdue(
        rows=[
            OverdueRow(
                tracking_no=tracking_no,
                department=department,
                due_at=due_at,
                days_overdue=(now - due_at) // timedelta(days=1),
            )
            for tracking_no, department, due_at in rows
        ],
        total=min(total, COUNT_CAP),
        capped=total > COUNT_CAP,
    )


async def _capped_count(session: AsyncSession, query: Select[Any]) -> int:
    """The query's rows counted up to COUNT_CAP + 1."""
    found = await session.scalar(select(func.count()).select_from(query.limit(COUNT_CAP + 1).subquery()))
    return found or 0


@dataclass(frozen=True)
class KeyItemRow:
    tracking_no: str
    lead_supervisor: str
    goal: str
    status: str  # the case's state, in Chinese
    departments: list[str]  # the handling departments (a department's own dashboard: its own name only)
    checks: list[str]  # the checks recorded so far, in Chinese (年初确定, ...)


def _handled_by(department_id: int) -> ColumnElement[bool]:
    return exists().where(
        Assignment.case_id == Case.id,
        Assignment.department_id == department_id,
        Assignment.status.not_in(GONE),
    )


async def key_items(session: AsyncSession, scope: Scope, year: int) -> list[KeyItemRow]:
    """The year's key items in the order they were chosen (a department: those of cases it handles)."""
    query = (
        select(KeyItem.id, KeyItem.lead_supervisor, KeyItem.goal, Case.id, Case.tracking_no, Case.status)
        .join(Case, Case.id == KeyItem.case_id)
        .where(KeyItem.jurisdiction_id == scope.jurisdiction_id, KeyItem.year == year)
        .order_by(KeyItem.id)
        .limit(KEY_ITEM_LIMIT)
    )
    if scope.department_id is not None:
        query = query.where(_handled_by(scope.department_id))
    items = (await session.execute(query)).all()
    if not items:
        return []
    checks: dict[int, list[str]] = defaultdict(list)
    for item_id, stage in await session.execute(
        select(KeyItemCheck.key_item_id, KeyItemCheck.stage)
        .where(KeyItemCheck.key_item_id.in_([row[0] for row in items]))
        .order_by(KeyItemCheck.key_item_id, KeyItemCheck.checked_on, KeyItemCheck.id)
    ):
        checks[item_id].append(STAGE_LABELS.get(stage, stage))
    departments: dict[int, list[str]] = defaultdict(list)
    handling = (
        select(Assignment.case_id, Department.name)
        .join(Department, Department.id == Assignment.department_id)
        .where(Assignment.case_id.in_([row[3] for row in items]), Assignment.status.not_in(GONE))
        .order_by(Assignment.case_id, Assignment.id)
    )
    if scope.department_id is not None:
        handling = handling.where(Assignment.department_id == scope.department_id)
    for case_id, name in await session.execute(handling):
        if name not in departments[case_id]:
            departments[case_id].append(name)
    return [
        KeyItemRow(
            tracking_no=tracking_no,
            lead_supervisor=lead,
            goal=excerpt(goal, 40),
            status=STATUS_LABELS.get(status, status),
            departments=departments[case_id],
            checks=checks[item_id],
        )
        for item_id, lead, goal, case_id, tracking_no, status in items
    ]


@dataclass(frozen=True)
class DifficultRow:
    tracking_no: str
    reason: str
    meeting_date: date | None
    marked_at: datetime


@dataclass(frozen=True)
class Difficult:
    rows: list[DifficultRow]
    total: int


async def difficult_cases(session: AsyncSession, scope: Scope) -> Difficult:
    """The marks still waiting for the coordination meeting, the nearest meeting first (not yet on an agenda
    last)."""
    joined = (
        select(Case.tracking_no, DifficultCase.reason, DifficultCase.meeting_date, DifficultCase.marked_at)
        .join(Case, Case.id == DifficultCase.case_id)
        .where(
            DifficultCase.jurisdiction_id == scope.jurisdiction_id,
            DifficultCase.status == DifficultCaseStatus.pending,
            *scope.case_filters(),
        )
    )
    rows = await session.execute(
        joined.order_by(DifficultCase.meeting_date.asc().nulls_last(), DifficultCase.id).limit(LIST_LIMIT)
    )
    total = await session.scalar(select(func.count()).select_from(joined.subquery()))
    return Difficult(
        rows=[
            DifficultRow(tracking_no=no, reason=excerpt(reason, 40), meeting_date=meeting, marked_at=marked)
            for no, reason, meeting, marked in rows
        ],
        total=total or 0,
    )


@dataclass(frozen=True)
class HotspotRow:
    grid: str
    category: str
    case_count: int
    since: datetime  # the first case of the cluster
    last_case_at: datetime


async def open_hotspots(session: AsyncSession, scope: Scope) -> list[HotspotRow]:
    """Open hot spots, the largest first."""
    conditions = [Hotspot.jurisdiction_id == scope.jurisdiction_id, Hotspot.status == HotspotStatus.open]
    if scope.category_ids is not None:
        conditions.append(Hotspot.category_id.in_(scope.category_ids))
    if scope.grid_id is not None:
        conditions.append(Hotspot.grid_id == scope.grid_id)
    rows = await session.execute(
        select(Grid.name, Category.name, Hotspot.case_count, Hotspot.first_case_at, Hotspot.last_case_at)
        .join(Grid, Grid.id == Hotspot.grid_id)
        .join(Category, Category.id == Hotspot.category_id)
        .where(*conditions)
        .order_by(Hotspot.case_count.desc(), Hotspot.last_case_at.desc(), Hotspot.id)
        .limit(LIST_LIMIT)
    )
    return [
        HotspotRow(grid=grid, category=category, case_count=count, since=first, last_case_at=last)
        for grid, category, count, first, last in rows
    ]


async def calendar_missing(session: AsyncSession, jurisdiction_id: int, today: date) -> list[int]:
    """The years whose working-day calendar the jurisdiction lacks and needs now: the current year at any
    time, next year from October 1 (national data not knowing it and no official schedule loaded)."""
    month, day = CALENDAR_WARNING_FROM
    horizon = 0 if (today.month, today.day) < (month, day) else (date(today.year + 1, 1, 1) - today).days
    missing = await calendar_years.missing_years(session, today, days=horizon)
    code = await session.scalar(select(Jurisdiction.code).where(Jurisdiction.id == jurisdiction_id))
    return sorted(year for year, codes in missing.items() if code in codes)


async def top_categories(session: AsyncSession, jurisdiction_id: int) -> list[tuple[str, str]]:
    """(code, name) of the jurisdiction's active top-level categories, for the filter links."""
    rows = await session.execute(
        select(Category.code, Category.name)
        .where(
            Category.jurisdiction_id == jurisdiction_id,
            Category.parent_id.is_(None),
            Category.active.is_(True),
        )
        .order_by(Category.code)
    )
    return [(code, name) for code, name in rows]


async def category_family(session: AsyncSession, jurisdiction_id: int, code: str) -> tuple[int, ...] | None:
    """The ids of a top-level category and its subcategories, or None when the code is no top-level
    category of the jurisdiction."""
    top = await session.scalar(
        select(Category.id).where(
            Category.jurisdiction_id == jurisdiction_id, Category.code == code, Category.parent_id.is_(None)
        )
    )
    if top is None:
        return None
    children = await session.scalars(
        select(Category.id).where(Category.jurisdiction_id == jurisdiction_id, Category.parent_id == top)
    )
    return (top, *children)


async def grids(session: AsyncSession, jurisdiction_id: int) -> list[tuple[str, str, int]]:
    """(code, name, id) of the jurisdiction's grids, for the filter links."""
    rows = await session.execute(
        select(Grid.code, Grid.name, Grid.id)
        .where(Grid.jurisdiction_id == jurisdiction_id)
        .order_by(Grid.code)
    )
    return [(code, name, grid_id) for code, name, grid_id in rows]
