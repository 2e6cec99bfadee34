"""The dispatcher's desk over HTTP: the dispatch queue, manual dispatch and redispatch, rejection, returning
a case to its citizen for more detail, and the departments' flags that put a case in front of a dispatcher."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from routing_api.deps import DeskKey, OwnAssignment, PathId
from services.routing.desk import manual, queue, returns
from services.routing.desk.schemas import (
    DispatchIn,
    DispatchOut,
    FlagIn,
    QueuePage,
    QueueReasonName,
    RejectIn,
    ReturnIn,
    ReturnOut,
    UnflagIn,
)
from services.routing.schemas import AssignmentView
from shared.web.db import Session

router = APIRouter(tags=["dispatch"])


@router.get("/v1/dispatch-queue", summary="Cases waiting for a dispatcher, most urgent and oldest first")
async def dispatch_queue(
    key: DeskKey,
    session: Session,
    reason: Annotated[QueueReasonName | None, Query(description="Only cases waiting for this reason")] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Page size (1-500)")] = 50,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page")] = None,
) -> QueuePage:
    """Each item says why it waits: `no_rule` (no routing rule, and the jurisdiction queues those),
    `declined` (every lead or separate unit declined: their reasons and suggested units are listed),
    `low_confidence` (the classifier's top three are listed), `flagged` (a department asked for a look) or
    `awaiting_citizen` (returned to the citizen for more detail: `returned` holds the question). Critical
    cases come first, then urgent, then normal, each oldest first; cases awaiting their citizen follow all
    the others, in the same order. `counts` covers the whole queue."""
    return await queue.dispatch_queue(session, key.jurisdiction_id, reason=reason, limit=limit, cursor=cursor)


@router.post("/v1/cases/{case_id}/dispatch", summary="交办/改派: dispatch a waiting case by hand")
async def dispatch(case_id: PathId, data: DispatchIn, key: DeskKey, session: Session) -> DispatchOut:
    """A received case gets the assignments given (exactly one lead with any co-handlers, or separate units);
    assignments that were declined stay in its history. A flagged case that is being handled gets the units
    added. Choosing a category other than the classifier's (or for a case it could not place) teaches the
    classifier."""
    return await manual.dispatch(session, key, case_id, data)


@router.post("/v1/cases/{case_id}/reject", summary="不予受理: reject spam or a matter out of scope")
async def reject(case_id: PathId, data: RejectIn, key: DeskKey, session: Session) -> DispatchOut:
    """Only before any unit has accepted it. `message` (and `refer_to`, where the citizen should go
    instead) appears on the citizen's tracking page; the case's assignments are withdrawn."""
    return await manual.reject(session, key, case_id, data)


@router.post("/v1/cases/{case_id}/return", summary="退回补充: ask the citizen for more detail")
async def return_to_citizen(case_id: PathId, data: ReturnIn, key: DeskKey, session: Session) -> ReturnOut:
    """Only a received case (not yet dispatched, or declined by every unit). It stays received and waits in
    the queue as `awaiting_citizen`; `message` appears on the citizen's tracking page with a form for the
    answer (`case.returned`). The answer is added to the description (`case.supplemented`) and the case is
    routed again: classified and dispatched by the rules, or, if units had it before, back in the queue as
    `declined`. It can still be dispatched or rejected by hand while it waits."""
    return await returns.return_to_citizen(session, key, case_id, data)


@router.post(
    "/v1/cases/{case_id}/unflag",
    summary="Clear a department's flag when nothing needs to change",
    status_code=status.HTTP_204_NO_CONTENT,
)
async def unflag(case_id: PathId, data: UnflagIn, key: DeskKey, session: Session) -> None:
    await manual.unflag(session, key, case_id, data)


@router.post(
    "/v1/assignments/{assignment_id}/flag",
    summary="Ask a dispatcher to look at a case (another unit needed, wrong category)",
)
async def flag(assignment: OwnAssignment, data: FlagIn, session: Session) -> AssignmentView:
    """The department keeps the case; it appears in the dispatch queue with the reason until a dispatcher
    adds units (POST /v1/cases/{id}/dispatch) or clears the flag. To give the case back, decline it."""
    return await manual.flag(session, assignment, data)
