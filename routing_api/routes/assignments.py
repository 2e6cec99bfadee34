"""/v1/assignments: a department's own assignments and its work on them (签收, 退回, 进展, 会办意见, 答复)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from routing_api.deps import DepartmentKey, OwnAssignment, Pagination
from services.routing import assignments, views
from services.routing.schemas import (
    AssignmentDetail,
    AssignmentView,
    CoOpinionIn,
    DeclineIn,
    ProgressIn,
    ReplyIn,
)
from shared.db.enums import AssignmentStatus
from shared.web.db import Session
from shared.web.pagination import Page

router = APIRouter(prefix="/v1/assignments", tags=["assignments"])


@router.get("", summary="The caller's own assignments, newest first")
async def list_assignments(
    key: DepartmentKey,
    session: Session,
    paging: Pagination,
    status: Annotated[AssignmentStatus | None, Query(description="Only assignments in this state")] = None,
    updated_since: Annotated[
        AwareDatetime | None, Query(description="Only assignments changed at or after this time (ISO 8601)")
    ] = None,
) -> Page[AssignmentView]:
    """Ordered by id, newest first; `next_cursor` continues with older ones. Poll with `updated_since` to pick
    up changes (new dispatches, reopened rework) since the last sync."""
    assert key.department_id is not None  # department keys always name their department
    rows = await views.list_assignments(
        session,
        key.jurisdiction_id,
        key.department_id,
        status=status.value if status else None,
        updated_since=updated_since,
        limit=paging.limit,
        after_id=paging.after_id,
    )
    return paging.page_of(rows)


@router.get("/{assignment_id}", summary="One assignment with its case, timeline and co-opinions")
async def get_assignment(assignment: OwnAssignment, session: Session) -> AssignmentDetail:
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
