"""/v1/assignments: a department's own assignments (the filtered list and the sync feed) and its work on them
(签收, 退回, 进展, 会办意见, 答复)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from routing_api.deps import DepartmentKey, OwnAssignment, Pagination
from services.routing import assignments, views
from services.routing.schemas import (
    AssignmentDetail,
    AssignmentFilters,
    AssignmentView,
    CoOpinionIn,
    DeclineIn,
    ProgressIn,
    ReplyIn,
    SyncPage,
)
from shared.db.enums import AssignmentRole, AssignmentStatus
from shared.web.db import Session
from shared.web.pagination import Page

router = APIRouter(prefix="/v1/assignments", tags=["assignments"])

CODE = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"

SYNC_DESCRIPTION = """
The department's assignments in the order they changed, for a department system that keeps a copy.

An assignment comes back whenever it, its case's timeline or its deadlines change, including when the
department declined it or a dispatcher withdrew it. Poll like this:

1. Start without `cursor` (the very beginning) and store the `next_cursor` of every answer, even an empty
   one: it is always present.
2. While `has_more` is true, call again at once with the stored cursor.
3. When `has_more` is false, sleep (e.g. 30 s to a few minutes) and go to 2.

Items may come again (a row changed twice, a retried call): apply them idempotently, by `id`, keeping the
newest state. Nothing is ever missed: only changes of finished transactions are returned, ordered by the id
of the transaction that made them, so a change committed while a page is being read always lands after the
cursor handed out with that page.
"""


def _department(key: DepartmentKey) -> int:
    assert key.department_id is not None  # department keys always name their department
    return key.department_id


@router.get("", summary="The caller's own assignments, newest first, with filters")
async def list_assignments(
    key: DepartmentKey,
    session: Session,
    paging: Pagination,
    status: Annotated[AssignmentStatus | None, Query(description="Only assignments in this state")] = None,
    role: Annotated[AssignmentRole | None, Query(description="Only this role: lead, co or separate")] = None,
    due_before: Annotated[
        AwareDatetime | None,
        Query(description="Only those still owing a reply whose open reply deadline is before this time"),
    ] = None,
    overdue: Annotated[
        bool | None,
        Query(description="true: the open reply deadline has passed; false: it has not (or there is none)"),
    ] = None,
    category_code: Annotated[
        str | None,
        Query(
            max_length=64, pattern=CODE, description="A category; a top-level code includes its subcategories"
        ),
    ] = None,
    grid_code: Annotated[str | None, Query(max_length=32, pattern=CODE, description="A grid")] = None,
    updated_since: Annotated[
        AwareDatetime | None, Query(description="Only assignments changed at or after this time (ISO 8601)")
    ] = None,
) -> Page[AssignmentView]:
    """Ordered by id, newest first; `next_cursor` continues with older ones. To keep a copy up to date, use
    `GET /v1/assignments/sync` instead: unlike `updated_since`, it never misses a change."""
    filters = AssignmentFilters(
        status=status.value if status else None,
        role=role.value if role else None,
        due_before=due_before,
        overdue=overdue,
        category_code=category_code,
        grid_code=grid_code,
        updated_since=updated_since,
    )
    rows = await views.list_assignments(
        session,
        key.jurisdiction_id,
        _department(key),
        filters,
        limit=paging.limit,
        after_id=paging.after_id,
    )
    return paging.page_of(rows)


@router.get(
    "/sync",
    summary="Sync feed: the caller's assignments in the order they changed",
    description=SYNC_DESCRIPTION,
)
async def sync(
    key: DepartmentKey,
    session: Session,
    cursor: Annotated[
        str | None, Query(max_length=200, description="`next_cursor` of the previous answer; none to start")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Page size (1-500)")] = 100,
) -> SyncPage:
    return await views.sync_feed(session, key.jurisdiction_id, _department(key), cursor, limit=limit)


@router.get("/{assignment_id}", summary="One assignment with its case, timeline and co-opinions")
async def get_assignment(assignment: OwnAssignment, session: Session) -> AssignmentDetail:
    """What the department may read: a department that declined or was withdrawn sees only that (and its
    own decline reason); units still on the case see the public timeline and their own internal notes."""
    return await views.assignment_detail(session, assignment)


@router.post("/{assignment_id}/accept", summary="签收: acknowledge the assignment")
async def accept(assignment: OwnAssignment, session: Session) -> AssignmentView:
    return await assignments.accept(session, assignment)


@router.post(
    "/{assignment_id}/decline", summary="退回: send a misassigned case back, inside the decline window"
)
async def decline(assignment: OwnAssignment, data: DeclineIn, session: Session) -> AssignmentView:
    return await assignments.decline(session, assignment, data)


@router.post("/{assignment_id}/progress", summary="办理进展: a dated update, public unless marked internal")
async def progress(assignment: OwnAssignment, data: ProgressIn, session: Session) -> AssignmentView:
    return await assignments.progress(session, assignment, data)


@router.post("/{assignment_id}/co-opinion", summary="会办意见: a co-handler's opinion to the lead department")
async def co_opinion(assignment: OwnAssignment, data: CoOpinionIn, session: Session) -> AssignmentView:
    return await assignments.co_opinion(session, assignment, data)


@router.post("/{assignment_id}/reply", summary="答复: the formal answer of a lead or separate department")
async def reply(assignment: OwnAssignment, data: ReplyIn, session: Session) -> AssignmentView:
    return await assignments.reply(session, assignment, data)
