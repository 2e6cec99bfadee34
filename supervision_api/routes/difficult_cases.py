"""Difficult cases for the monthly coordination meeting (疑难问题协调处办会): marking, the agenda, the
meeting's decision (a redispatch through the workflow)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from services.supervision import difficult, difficult_decision
from services.supervision.coordination_schemas import (
    DecisionIn,
    DifficultCaseOut,
    DifficultMarkIn,
    DifficultUpdateIn,
)
from shared.db.enums import Role
from shared.db.models import DifficultCase, DifficultCaseStatus
from shared.security.apikeys import Principal
from shared.web.auth import require_roles
from shared.web.pagination import Page
from supervision_api.deps import Id, Pagination, Session, Staff, StaffCase

router = APIRouter(tags=["difficult cases"])

Supervisor = Annotated[Principal, Depends(require_roles(Role.supervisor))]


async def _staff_mark(difficult_case_id: Id, principal: Staff, session: Session) -> DifficultCase:
    return await difficult.get_mark(session, principal.jurisdiction_id, difficult_case_id)


async def _supervisor_mark(difficult_case_id: Id, principal: Supervisor, session: Session) -> DifficultCase:
    return await difficult.get_mark(session, principal.jurisdiction_id, difficult_case_id)


StaffMark = Annotated[DifficultCase, Depends(_staff_mark)]
SupervisorMark = Annotated[DifficultCase, Depends(_supervisor_mark)]


@router.post(
    "/v1/cases/{case_id}/difficult",
    status_code=201,
    summary="Put a case before the coordination meeting (supervisor)",
)
async def mark_difficult(
    principal: Supervisor, case: StaffCase, session: Session, body: DifficultMarkIn
) -> DifficultCaseOut:
    """Only a case being handled (dispatched, in_progress, rework); 409 while it has an open mark."""
    return await difficult.mark(session, principal, case, body)


@router.get(
    "/v1/difficult-cases", summary="The meeting's agenda: marked cases, in the order they were marked"
)
async def list_difficult_cases(
    principal: Staff,
    session: Session,
    page: Pagination,
    meeting_date: Annotated[dt.date | None, Query(description="One meeting's cases")] = None,
    status: Annotated[
        DifficultCaseStatus | None,
        Query(description="pending (waiting for the meeting), decided or withdrawn"),
    ] = None,
) -> Page[DifficultCaseOut]:
    rows = await difficult.list_marks(
        session,
        principal.jurisdiction_id,
        meeting_date=meeting_date,
        status=status,
        limit=page.limit,
        after_id=page.after_id,
    )
    return page.page_of(rows)


@router.get("/v1/difficult-cases/{difficult_case_id}", summary="One marked case")
async def get_difficult_case(found: StaffMark, session: Session) -> DifficultCaseOut:
    return await difficult.view(session, found)


@router.patch(
    "/v1/difficult-cases/{difficult_case_id}", summary="Another reason or meeting date, before the decision"
)
async def update_difficult_case(
    found: SupervisorMark, session: Session, body: DifficultUpdateIn
) -> DifficultCaseOut:
    return await difficult.update_mark(session, found, body)


@router.post(
    "/v1/difficult-cases/{difficult_case_id}/withdraw", summary="Take the case off the meeting's list"
)
async def withdraw_difficult_case(
    principal: Supervisor, found: SupervisorMark, session: Session
) -> DifficultCaseOut:
    return await difficult.withdraw_mark(session, principal, found)


@router.post(
    "/v1/difficult-cases/{difficult_case_id}/decision",
    summary="Record the meeting's decision: redispatch to the lead (and co-handlers) it names, by its deadline",
)
async def decide(
    principal: Supervisor, found: SupervisorMark, session: Session, body: DecisionIn
) -> DifficultCaseOut:
    """Withdraws the units the decision does not keep, assigns the new ones (pending, dispatched now), sets
    the lead's reply deadline to `due_at` (tier `meeting`) and records a public `dispatched` event
    (`case.dispatched` with `decided_by_meeting: true`). The case keeps its status: one in progress stays in
    progress even with a new lead."""
    return await difficult_decision.decide(session, principal, found, body)
