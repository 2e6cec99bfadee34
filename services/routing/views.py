"""The department's view of its assignments: the list, one assignment with its case, and the deadlines that
supervision recorded for them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing.errors import AssignmentNotFound
from services.routing.schemas import AssignmentCaseBrief, AssignmentDetail, AssignmentView, CoOpinionView
from services.workflow.views import staff_view
from shared.db.enums import AssignmentRole, AssignmentStatus, DeadlineKind
from shared.db.models import Assignment, Case, CaseEvent, Category, Deadline, Grid

_DUE_KINDS = (DeadlineKind.accept.value, DeadlineKind.reply.value, DeadlineKind.co_opinion.value)


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


def _fields(a: Assignment, due: dict[str, datetime]) -> dict[str, Any]:
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
        "updated_at": a.updated_at,
    }


async def _views(
    session: AsyncSession, where: Sequence[ColumnElement[bool]], *, limit: int | None = None
) -> list[AssignmentView]:
    query = (
        select(
            Assignment,
            Case.tracking_no,
            Case.status,
            Category.code,
            Case.request_type,
            Case.urgency,
            Case.title,
            Case.description,
            Grid.code,
            Case.created_at,
        )
        .join(Case, Case.id == Assignment.case_id)
        .outerjoin(Category, Category.id == Case.category_id)
        .outerjoin(Grid, Grid.id == Case.grid_id)
        .where(*where)
        .order_by(Assignment.id.desc())
    )
    if limit is not None:
        query = query.limit(limit)
    rows = (await session.execute(query)).tuples().all()
    due = await _due_times(session, [row[0] for row in rows])
    views = []
    for (
        a,
        tracking_no,
        status,
        category_code,
        request_type,
        urgency,
        title,
        description,
        grid,
        created,
    ) in rows:
        brief = AssignmentCaseBrief(
            tracking_no=tracking_no,
            status=status,
            category_code=category_code,
            request_type=request_type,
            urgency=urgency,
            title=title,
            description=description,
            grid_code=grid,
            created_at=created,
        )
        views.append(AssignmentView(**_fields(a, due[a.id]), case=brief))
    return views


async def list_assignments(
    session: AsyncSession,
    jurisdiction_id: int,
    department_id: int,
    *,
    status: str | None,
    updated_since: datetime | None,
    limit: int,
    after_id: int | None,
) -> list[AssignmentView]:
    """A department's own assignments, newest first (by id, descending); ``after_id`` continues below it.
    Returns up to ``limit + 1`` so the caller can tell whether another page follows."""
    where = [Assignment.jurisdiction_id == jurisdiction_id, Assignment.department_id == department_id]
    if status is not None:
        where.append(Assignment.status == status)
    if updated_since is not None:
        where.append(Assignment.updated_at >= updated_since)
    if after_id is not None:
        where.append(Assignment.id < after_id)
    return await _views(session, where, limit=limit + 1)


async def assignment_view(session: AsyncSession, assignment_id: int) -> AssignmentView:
    views = await _views(session, [Assignment.id == assignment_id])
    if not views:
        raise AssignmentNotFound()
    return views[0]


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


async def _co_opinions(session: AsyncSession, a: Assignment) -> list[CoOpinionView]:
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


async def assignment_detail(session: AsyncSession, assignment: Assignment) -> AssignmentDetail:
    case = (await session.execute(select(Case).where(Case.id == assignment.case_id))).scalar_one()
    due = (await _due_times(session, [assignment]))[assignment.id]
    view = await staff_view(session, case)
    # The timeline holds every co-opinion too; keep there only those the co_opinions list may show.
    events = [
        e
        for e in view.events
        if e.type != "co_opinion" or _reads_co_opinion(assignment, e.data.get("department_id"))
    ]
    update: dict[str, Any] = {"events": events}
    if assignment.status == AssignmentStatus.declined:
        # A department that sent the case back no longer handles it, so it no longer needs the submitter.
        update["submitter"] = None
    return AssignmentDetail(
        **_fields(assignment, due),
        case=view.model_copy(update=update),
        co_opinions=await _co_opinions(session, assignment),
    )
