"""Follow-ups (回头看) of closed cases: the list to work through, and the result of each revisit."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime

from services.supervision import follow_ups
from services.supervision.follow_ups import FollowUpOut, FollowUpResultIn
from shared.db.enums import FollowUpStatus, Role
from shared.db.models import FollowUp
from shared.security.apikeys import Principal
from shared.web.auth import require_roles
from shared.web.pagination import Page
from supervision_api.deps import Id, Pagination, Session

router = APIRouter(prefix="/v1/follow-ups", tags=["follow-ups"])

# Deputies revisit the cases raised through their own codes; admins may read the list.
Reader = Annotated[Principal, Depends(require_roles(Role.supervisor, Role.admin, Role.deputy))]
Recorder = Annotated[Principal, Depends(require_roles(Role.supervisor, Role.deputy))]


async def _recordable(follow_up_id: Id, principal: Recorder, session: Session) -> FollowUp:
    return await follow_ups.get_follow_up(session, principal, follow_up_id)


RecordableFollowUp = Annotated[FollowUp, Depends(_recordable)]


@router.get("", summary="The jurisdiction's follow-ups, in the order they were made")
async def list_follow_ups(
    principal: Reader,
    session: Session,
    page: Pagination,
    due_before: Annotated[
        AwareDatetime | None, Query(description="Due before this moment, e.g. the end of this week")
    ] = None,
    status: Annotated[FollowUpStatus | None, Query(description="pending, done or cancelled")] = None,
) -> Page[FollowUpOut]:
    """A follow-up is made when a case closes, for the categories flagged `follow_up` (or whose parent is)
    and for every case under key supervision, due `follow_up_days` (policy, default 30) later. A deputy's key
    lists only the cases raised through the deputy's own codes."""
    rows = await follow_ups.list_follow_ups(
        session, principal, due_before=due_before, status=status, limit=page.limit, after_id=page.after_id
    )
    return page.page_of(rows)


@router.post("/{follow_up_id}/result", summary="Record what a follow-up found")
async def record_follow_up_result(
    follow_up: RecordableFollowUp, principal: Recorder, session: Session, body: FollowUpResultIn
) -> FollowUpOut:
    """`still_solved: false` (with a `note` of what was found) sends the case back to rework: routing reopens
    the lead and separate departments' assignments and a rework reply deadline starts. A supervisor, or the
    deputy whose code the case came through (another deputy's key: 404). Once only: 409
    `follow_up_recorded`; 409 `follow_up_moot` when the case was reopened meanwhile. Emits
    `case.follow_up_recorded` (and `case.rework` when not solved)."""
    return await follow_ups.record_result(session, principal, follow_up, body)
