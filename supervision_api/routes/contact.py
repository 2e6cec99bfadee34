"""Personal data on purpose: a case's full submitter contact for a stated reason (audited), the audit listing,
and which roles of the jurisdiction may unmask."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime

from services.supervision import contact
from services.supervision.contact import (
    ContactAuditOut,
    ContactIn,
    ContactOut,
    ContactSettingsIn,
    ContactSettingsOut,
)
from shared.security.apikeys import Principal
from shared.web.auth import require_roles
from shared.web.pagination import Page
from supervision_api.deps import Admin, Id, OptionalId, Pagination, Session, Staff

router = APIRouter(tags=["contact"])

# The roles the setting may allow; whether this key's role is allowed is the jurisdiction's setting.
Unmasker = Annotated[Principal, Depends(require_roles(*contact.ELIGIBLE_ROLES))]


@router.post("/v1/cases/{case_id}/contact", summary="A case's full submitter name, phone and e-mail, audited")
async def reveal_contact(case_id: Id, principal: Unmasker, session: Session, body: ContactIn) -> ContactOut:
    """Answers the unmasked name, phone and e-mail (null when none was given or they were erased) and writes an
    audit row (the key, its role, the time, the `reason`, the case) in the same transaction. Allowed roles are
    the jurisdiction's contact setting (default supervisor and admin; with `department`, a department key for
    the cases assigned to it, not declined or withdrawn): 403 `contact_role_not_allowed` otherwise, and
    deputy, dispatcher and integrator keys never. A confidential case: 403 `contact_confidential`, nothing
    written. Another jurisdiction's case (or, for a department, a case not assigned to it): 404."""
    return await contact.reveal_contact(session, principal, case_id, body)


@router.get("/v1/audit/contact", summary="Who saw which submitter's contact, when and why, newest first")
async def list_contact_audits(
    principal: Staff,
    session: Session,
    page: Pagination,
    case_id: OptionalId = None,
    api_key_id: OptionalId = None,
    from_: Annotated[AwareDatetime | None, Query(alias="from", description="At or after")] = None,
    to: Annotated[AwareDatetime | None, Query(description="Before")] = None,
) -> Page[ContactAuditOut]:
    """No personal data: only who, when, why and which case."""
    rows = await contact.list_audits(
        session,
        principal.jurisdiction_id,
        case_id=case_id,
        api_key_id=api_key_id,
        since=from_,
        until=to,
        limit=page.limit,
        after_id=page.after_id,
    )
    return page.page_of([ContactAuditOut.model_validate(row) for row in rows])


@router.get("/v1/contact-settings", summary="The roles that may see a submitter's full contact")
async def get_contact_settings(principal: Admin, session: Session) -> ContactSettingsOut:
    return await contact.get_contact_settings(session, principal.jurisdiction_id)


@router.put("/v1/contact-settings", summary="Set the roles that may see a submitter's full contact")
async def put_contact_settings(
    principal: Admin, session: Session, body: ContactSettingsIn
) -> ContactSettingsOut:
    """`roles`: of supervisor, admin and department (422 for any other)."""
    return await contact.put_contact_settings(session, principal.jurisdiction_id, body)
