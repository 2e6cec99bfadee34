"""The department's view of its assignments: the list with its filters, the sync feed, one assignment with its
case, and what each department may read of a case it shares with others.

What a department reads depends on where it stands. One that declined or was withdrawn no longer handles the
case: it keeps the case's identity and its own assignment, and of the timeline only its own decline. One still
on the case reads the content, the public timeline and its own internal notes; co-opinions reach the lead and
their author; other units' internal notes and decline reasons reach nobody else.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, and_, literal, literal_column, not_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing.errors import AssignmentNotFound
from services.routing.repository import find_by_code
from services.routing.schemas import (
    AssignmentCaseBrief,
    AssignmentDetail,
    AssignmentFilters,
    AssignmentView,
    CoOpinionView,
    DepartmentCaseView,
    SyncPage,
)
from services.workflow.oversight import SupervisionView, supervision_views
from services.workflow.views import CaseStaffView, EventView, staff_view
from shared.db.enums import AssignmentRole, AssignmentStatus, DeadlineKind
from shared.db.ids import MAX_ID
from shared.db.models import Assignment, Case, CaseEvent, Category, Deadline, Grid
from shared.errors import Unprocessable

_DUE_KINDS = (DeadlineKind.accept.value, DeadlineKind.reply.value, DeadlineKind.co_opinion.value)

# The department no longer handles the case: it declined, or a dispatcher withdrew the assignment.
LEFT = frozenset({AssignmentStatus.declined.value, AssignmentStatus.withdrawn.value})
# Still owing a reply (or an opinion): the only assignments a reply deadline can be overdue for.
_OWING = (AssignmentStatus.pending.value, AssignmentStatus.accepted.value)


def has_left(a: Assignment) -> bool:
    return a.status in LEFT


async def _due_times(
    session: AsyncSession, assignments: Sequence[Assignment]
) -> dict[int, dict[str, datetime]]:
    """Per assignment, the due time of each kind (accept, reply, co_opinion) that supervision recorded for it:
    the open row of the latest round."""
    if not assignments:
        return {}
    rows = await session.execute(
        select(Deadline.assignment_id, Deadline.kind, Deadline.due_at)
        .where(
            Deadline.assignment_id.in_([a.id for a in assignments]),
            Deadline.kind.in_(_DUE_KINDS),
            Deadline.superseded_at.is_(None),
        )
        .order_by(Deadline.round, Deadline.id)
    )
    due: dict[int, dict[str, datetime]] = {a.id: {} for a in assignments}
    # Ordered by round then id: the last row seen of a kind is the latest round's.
    for assignment_id, kind, due_at in rows.tuples():
        if assignment_id is not None:
            due[assignment_id][kind] = due_at
    return due


def _fields(
    a: Assignment, due: dict[str, datetime], supervision: SupervisionView | None = None
) -> dict[str, Any]:
    return {
        "id": a.id,
        "case_id": a.case_id,
        "department_id": a.department_id,
        "role": a.role,
        "status": a.status,
        "accept_due_at": due.get(DeadlineKind.accept.value),
        "reply_due_at": due.get(DeadlineKind.reply.value),
        "co_opinion_due_at": due.get(DeadlineKind.co_opinion.value),
        "dispatched_at": a.dispatched_at,
        "accepted_at": a.accepted_at,
        "replied_at": a.replied_at,
        "declined_at": a.declined_at,
        "decline_reason": a.decline_reason,
        "suggested_department_id": a.suggested_department_id,
        "withdrawn_at": a.withdrawn_at,
        "updated_at": a.updated_at,
        # Shown while the department handles the case, so its clerk knows congress is watching.
        "supervision": None if has_left(a) else supervision,
    }


_BRIEF = select(
    Assignment,
    Assignment.change_xid.label("position"),
    Case.tracking_no,
    Case.status.label("case_status"),
    Category.code.label("category_code"),
    Case.category_source,
    Case.classification_score,
    Case.request_type,
    Case.urgency,
    Case.title,
    Case.description,
    Case.location_text,
    Grid.code.label("grid_code"),
    Case.created_at,
    Case.supervision_level,
    Case.lead_supervisor,
)


async def _rows(
    session: AsyncSession,
    where: Sequence[ColumnElement[bool]],
    order_by: Sequence[Any],
    limit: int | None = None,
) -> list[tuple[int, AssignmentView]]:
    """Assignment views with each row's change stamp (read from the row, never from a cached object)."""
    query = (
        _BRIEF.join(Case, Case.id == Assignment.case_id)
        .outerjoin(Category, Category.id == Case.category_id)
        .outerjoin(Grid, Grid.id == Case.grid_id)
        .where(*where)
        .order_by(*order_by)
    )
    if limit is not None:
        query = query.limit(limit)
    rows = (await session.execute(query)).all()
    due = await _due_times(session, [row.Assignment for row in rows])
    watched = await supervision_views(
        session, {(row.Assignment.case_id, row.supervision_level, row.lead_supervisor) for row in rows}
    )
    found = []
    for row in rows:
        a: Assignment = row.Assignment
        left = has_left(a)
        brief = AssignmentCaseBrief(
            tracking_no=row.tracking_no,
            status=row.case_status,
            category_code=row.category_code,
            category_source=row.category_source,
            classification_score=row.classification_score,
            request_type=row.request_type,
            urgency=row.urgency,
            title=None if left else row.title,
            description=None if left else row.description,
            location_text=None if left else row.location_text,
            grid_code=row.grid_code,
            created_at=row.created_at,
        )
        view = AssignmentView(**_fields(a, due[a.id], watched.get(a.case_id)), case=brief)
        found.append((row.position, view))
    return found


# --- the list ----------------------------------------------------------------------------------------------


def _open_reply_due() -> Any:
    """The due time of the assignment's open reply deadline (latest round), for use inside a WHERE."""
    return (
        select(Deadline.due_at)
        .where(
            Deadline.assignment_id == Assignment.id,
            Deadline.kind == DeadlineKind.reply.value,
            Deadline.met_at.is_(None),
            Deadline.superseded_at.is_(None),
        )
        .order_by(Deadline.round.desc(), Deadline.id.desc())
        .limit(1)
        .correlate(Assignment)
        .scalar_subquery()
    )


async def _category_ids(session: AsyncSession, jurisdiction_id: int, code: str) -> list[int]:
    category = await find_by_code(session, Category, jurisdiction_id, code)
    if category is None:
        raise Unprocessable.field("category_code", f"问题分类“{code}”不存在")
    children = await session.scalars(select(Category.id).where(Category.parent_id == category.id))
    return [category.id, *children]


async def _filter_clauses(
    session: AsyncSession, jurisdiction_id: int, filters: AssignmentFilters, now: datetime
) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if filters.status is not None:
        where.append(Assignment.status == filters.status)
    if filters.role is not None:
        where.append(Assignment.role == filters.role)
    if filters.updated_since is not None:
        where.append(Assignment.updated_at >= filters.updated_since)
    owing = Assignment.status.in_(_OWING)
    if filters.due_before is not None:
        where.append(and_(owing, _open_reply_due() < filters.due_before))
    if filters.overdue is not None:
        overdue = and_(owing, _open_reply_due() < now)
        # No open deadline makes the comparison null; "not overdue" must still include those rows.
        where.append(overdue if filters.overdue else not_(overdue.is_(True)))
    if filters.category_code is not None:
        where.append(
            Case.category_id.in_(await _category_ids(session, jurisdiction_id, filters.category_code))
        )
    if filters.grid_code is not None:
        grid = await find_by_code(session, Grid, jurisdiction_id, filters.grid_code)
        if grid is None:
            raise Unprocessable.field("grid_code", f"网格“{filters.grid_code}”不存在")
        where.append(Case.grid_id == grid.id)
    return where


async def list_assignments(
    session: AsyncSession,
    jurisdiction_id: int,
    department_id: int,
    filters: AssignmentFilters,
    *,
    limit: int,
    after_id: int | None,
    now: datetime | None = None,
) -> list[AssignmentView]:
    """A department's own assignments, newest first (by id, descending); ``after_id`` continues below it.
    Returns up to ``limit + 1`` so the caller can tell whether another page follows."""
    where = [Assignment.jurisdiction_id == jurisdiction_id, Assignment.department_id == department_id]
    where += await _filter_clauses(session, jurisdiction_id, filters, now or datetime.now(UTC))
    if after_id is not None:
        where.append(Assignment.id < after_id)
    rows = await _rows(session, where, [Assignment.id.desc()], limit + 1)
    return [view for _, view in rows]


# --- the sync feed -----------------------------------------------------------------------------------------

# The oldest transaction still running when the statement started: every stamp below it is final.
_SNAPSHOT_XMIN = literal_column("pg_snapshot_xmin(pg_current_snapshot())::text::bigint", BigInteger)
_SYNC_PREFIX = "sync"


def encode_sync_cursor(xid: int, assignment_id: int) -> str:
    raw = f"{_SYNC_PREFIX}:{xid}:{assignment_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_sync_cursor(cursor: str | None) -> tuple[int, int]:
    """The (stamp, id) position a cursor stands for; no cursor is the very beginning."""
    if not cursor:
        return (0, 0)
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, xid, assignment_id = raw.split(":")
        position = (int(xid), int(assignment_id))
        if prefix != _SYNC_PREFIX or not all(0 <= value <= MAX_ID for value in position):
            raise ValueError(raw)
        return position
    except (ValueError, UnicodeDecodeError, binascii.Error) as exc:
        raise Unprocessable.field(
            "cursor", "同步游标无效，请使用上次返回的 next_cursor，或不带游标从头同步"
        ) from exc


async def sync_feed(
    session: AsyncSession, jurisdiction_id: int, department_id: int, cursor: str | None, *, limit: int
) -> SyncPage:
    """The department's assignments changed since ``cursor``, in the order of the transactions that changed
    them.

    Triggers stamp an assignment with the id of every transaction that changes it, its case's timeline or its
    deadlines. Only stamps below the oldest transaction still running are read, so every row returned was
    written by a finished transaction, and any transaction that commits later has a larger id than the
    cursor handed out now: nothing can land behind it. A row changed again gets a larger stamp and comes
    back, so items may repeat and must be applied idempotently.
    """
    position = decode_sync_cursor(cursor)
    rows = await _rows(
        session,
        [
            Assignment.jurisdiction_id == jurisdiction_id,
            Assignment.department_id == department_id,
            Assignment.change_xid < _SNAPSHOT_XMIN,
            tuple_(Assignment.change_xid, Assignment.id)
            > tuple_(literal(position[0], BigInteger), literal(position[1], BigInteger)),
        ],
        [Assignment.change_xid, Assignment.id],
        limit + 1,
    )
    page = rows[:limit]
    if page:
        position = (page[-1][0], page[-1][1].id)
    return SyncPage(
        items=[view for _, view in page],
        next_cursor=encode_sync_cursor(*position),
        has_more=len(rows) > limit,
    )


# --- one assignment ----------------------------------------------------------------------------------------


async def assignment_view(session: AsyncSession, assignment_id: int) -> AssignmentView:
    rows = await _rows(session, [Assignment.id == assignment_id], [Assignment.id])
    if not rows:
        raise AssignmentNotFound()
    return rows[0][1]


async def own_assignment(
    session: AsyncSession, jurisdiction_id: int, department_id: int, assignment_id: int
) -> Assignment:
    """The assignment if it belongs to this department of this jurisdiction; any other id is a 404."""
    assignment = await session.scalar(
        select(Assignment).where(
            Assignment.id == assignment_id,
            Assignment.department_id == department_id,
            Assignment.jurisdiction_id == jurisdiction_id,
        )
    )
    if assignment is None:
        raise AssignmentNotFound()
    return assignment


def _reads_co_opinion(a: Assignment, author_department_id: object) -> bool:
    """A co-opinion is written to the lead: the lead reads them all, a co-handler its own, a separate unit
    none."""
    if a.role == AssignmentRole.lead:
        return True
    return a.role == AssignmentRole.co and author_department_id == a.department_id


def _own(a: Assignment, event: EventView) -> bool:
    """Written by the department itself, or addressed to this assignment (e.g. a decision on its request)."""
    by_it = event.actor.get("type") == "department" and event.actor.get("id") == a.department_id
    return by_it or event.data.get("assignment_id") == a.id


def _reads_event(a: Assignment, event: EventView) -> bool:
    if has_left(a):
        # All a department that left keeps of the timeline is its own decline (with its reason).
        return event.type == "declined" and a.status == AssignmentStatus.declined and _own(a, event)
    if event.type == "co_opinion":
        return _reads_co_opinion(a, event.data.get("department_id"))
    return event.public or _own(a, event)


async def _co_opinions(session: AsyncSession, a: Assignment) -> list[CoOpinionView]:
    if has_left(a):
        return []
    events = await session.scalars(
        select(CaseEvent)
        .where(CaseEvent.case_id == a.case_id, CaseEvent.type == "co_opinion")
        .order_by(CaseEvent.id)
    )
    return [
        CoOpinionView(
            department_id=event.data.get("department_id"),
            department_name=event.data.get("department_name"),
            text=str(event.data.get("text", "")),
            at=event.at,
        )
        for event in events
        if _reads_co_opinion(a, event.data.get("department_id"))
    ]


def department_case_view(case: Case, view: CaseStaffView, a: Assignment) -> DepartmentCaseView:
    """The staff view of a case cut down to what the department of assignment ``a`` may read."""
    fields: dict[str, Any] = dict(view)
    fields.update(category_source=case.category_source, classification_score=case.classification_score)
    fields["events"] = [e for e in view.events if _reads_event(a, e)]
    if has_left(a):
        fields.update(
            title=None,
            description=None,
            location_text=None,
            lat=None,
            long=None,
            submitter=None,
            replied_at=None,
            closed_at=None,
            close_reason=None,
            replies=[],
            feedback=[],
            assignments=[b for b in view.assignments if b.id == a.id],
        )
    else:
        # Units that left are no business of those still on the case.
        fields["assignments"] = [b for b in view.assignments if b.id == a.id or b.status not in LEFT]
    shown = {b.id for b in fields["assignments"]}
    fields["deadlines"] = [
        d for d in view.deadlines if d.assignment_id in shown or (d.assignment_id is None and not has_left(a))
    ]
    return DepartmentCaseView(**fields)


async def assignment_detail(session: AsyncSession, assignment: Assignment) -> AssignmentDetail:
    case = (await session.execute(select(Case).where(Case.id == assignment.case_id))).scalar_one()
    due = (await _due_times(session, [assignment]))[assignment.id]
    view = await staff_view(session, case)
    return AssignmentDetail(
        **_fields(assignment, due, view.supervision),
        case=department_case_view(case, view, assignment),
        co_opinions=await _co_opinions(session, assignment),
    )
