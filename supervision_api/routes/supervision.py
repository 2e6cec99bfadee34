"""The escalation ladder: a supervisor sets a case's level (催办, 督办, 重点督办), its history, and the list of
the watched cases; and the admin's supervision policy (alarm fractions, extension cap, follow-up delay)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from services.supervision import cases, levels
from services.supervision import settings as supervision_settings
from services.supervision.oversight_schemas import (
    SupervisedCase,
    SupervisionChangeOut,
    SupervisionHistory,
    SupervisionIn,
    SupervisionSettingsIn,
    SupervisionSettingsOut,
)
from services.workflow import Actor
from shared.db.enums import Role, SupervisionLevel, SupervisionSource
from shared.db.models import Case
from shared.security.apikeys import Principal
from shared.web.auth import require_roles
from shared.web.pagination import Page
from supervision_api.deps import Admin, Id, Pagination, Session, Staff, StaffCase

router = APIRouter(tags=["supervision"])

Supervisor = Annotated[Principal, Depends(require_roles(Role.supervisor))]
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"


async def _supervisor_case(case_id: Id, principal: Supervisor, session: Session) -> Case:
    return await cases.get_case(session, principal.jurisdiction_id, case_id)


SupervisorCase = Annotated[Case, Depends(_supervisor_case)]


@router.post(
    "/v1/cases/{case_id}/supervision",
    status_code=201,
    summary="Set the case's supervision level (催办 reminder, 督办 formal, 重点督办 key)",
)
async def set_supervision(
    case: SupervisorCase, principal: Supervisor, session: Session, body: SupervisionIn
) -> SupervisionChangeOut:
    """Any level may be set, up or down; `key` needs `lead_supervisor` (the congress leader who owns it),
    else 422. A manual change sets the lead supervisor given (none clears it). The change is kept in the
    case's history and emits `case.supervision_changed`; the assigned departments see the level on their
    assignments. Overdue deadlines also escalate automatically: an overdue accept to `reminder`, an overdue
    reply to `formal`, never lowering a level. 409 `case_not_supervisable` for merged or rejected cases."""
    change = await levels.change_level(
        session,
        case,
        level=body.level,
        lead_supervisor=body.lead_supervisor,
        note=body.note,
        actor=Actor(principal.role, principal.key_id),
        source=SupervisionSource.manual,
    )
    return levels.change_out(change)


@router.get("/v1/cases/{case_id}/supervision", summary="The case's supervision history, oldest first")
async def supervision_history(case: StaffCase, session: Session) -> SupervisionHistory:
    return SupervisionHistory(items=await levels.history(session, case))


@router.get(
    "/v1/supervision", summary="The watched cases, newest first, with their departments and deadlines"
)
async def list_supervised(
    principal: Staff,
    session: Session,
    page: Pagination,
    level: Annotated[SupervisionLevel | None, Query(description="reminder, formal or key")] = None,
    lead_supervisor: Annotated[
        str | None, Query(max_length=50, pattern=PRINTABLE, description="Exactly this lead supervisor's")
    ] = None,
) -> Page[SupervisedCase]:
    rows = await levels.list_supervised(
        session,
        principal.jurisdiction_id,
        level=level,
        lead_supervisor=lead_supervisor,
        limit=page.limit,
        before_id=page.after_id,
    )
    return page.page_of(rows)


@router.get("/v1/supervision-settings", summary="The supervision policy in force")
async def get_settings(principal: Admin, session: Session) -> SupervisionSettingsOut:
    return await supervision_settings.get_settings(session, principal.jurisdiction_id)


@router.put("/v1/supervision-settings", summary="Change the supervision policy (fields left out are kept)")
async def put_settings(
    principal: Admin, session: Session, body: SupervisionSettingsIn
) -> SupervisionSettingsOut:
    """`due_soon_fraction` and `overdue_fraction`: case.due_soon and case.overdue are raised when that share
    of a deadline's allowed time has passed (0.75 and 1.0; due-soon must come first). New fractions move the
    alarms of the jurisdiction's open deadlines at once; an alarm already raised is not raised again.
    `extension_max_days`: how far an approved extension may move a reply deadline; `follow_up_days`: when
    the follow-up (回头看) of a closed case is due."""
    return await supervision_settings.put_settings(session, principal.jurisdiction_id, body)
