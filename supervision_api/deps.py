"""Who may call what, and path ids turned into loaded, authorized objects (or a 404)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query
from pydantic import AwareDatetime

from services.supervision import apikeys, cases, webhooks
from services.supervision.schemas import CaseFilters
from shared.db.enums import CaseStatus, Role
from shared.db.ids import MAX_ID
from shared.db.models import ApiKey, Case, WebhookEndpoint
from shared.security.apikeys import Principal
from shared.web.auth import AnyKey, require_roles
from shared.web.db import Session
from shared.web.pagination import Pagination
from shared.web.params import PathId

__all__ = [
    "Admin",
    "AnyKey",
    "Id",
    "JurisdictionKey",
    "OwnWebhook",
    "Pagination",
    "Session",
    "Staff",
    "StaffCase",
    "WebhookManager",
]

Id = PathId

Admin = Annotated[Principal, Depends(require_roles(Role.admin))]
Staff = Annotated[Principal, Depends(require_roles(Role.supervisor, Role.admin))]
# Webhook endpoints: an admin manages every one of the jurisdiction, an integrator or a department key those
# it created (a department's hear only its own cases, see services.supervision.webhooks).
WebhookManager = Annotated[Principal, Depends(require_roles(Role.admin, Role.integrator, Role.department))]


async def _staff_case(case_id: Id, principal: Staff, session: Session) -> Case:
    return await cases.get_case(session, principal.jurisdiction_id, case_id)


async def _jurisdiction_key(key_id: Id, principal: Admin, session: Session) -> ApiKey:
    return await apikeys.get_api_key(session, principal.jurisdiction_id, key_id)


async def _own_webhook(webhook_id: Id, principal: WebhookManager, session: Session) -> WebhookEndpoint:
    return await webhooks.get_webhook(session, principal, webhook_id)


StaffCase = Annotated[Case, Depends(_staff_case)]
JurisdictionKey = Annotated[ApiKey, Depends(_jurisdiction_key)]
OwnWebhook = Annotated[WebhookEndpoint, Depends(_own_webhook)]

OptionalId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"


def _case_filters(
    tracking_no: Annotated[str | None, Query(max_length=32, pattern=PRINTABLE)] = None,
    status: CaseStatus | None = None,
    department_id: OptionalId = None,
    category_code: Annotated[
        str | None, Query(max_length=64, pattern=PRINTABLE, description="Also matches subcategories")
    ] = None,
    station_id: OptionalId = None,
    deputy_id: OptionalId = None,
    created_from: Annotated[
        AwareDatetime | None, Query(alias="from", description="Created at or after")
    ] = None,
    created_to: Annotated[AwareDatetime | None, Query(alias="to", description="Created before")] = None,
    overdue: Annotated[
        bool | None, Query(description="Has a lapsed accept, reply or opinion deadline")
    ] = None,
) -> CaseFilters:
    return CaseFilters(
        tracking_no=tracking_no,
        status=status,
        department_id=department_id,
        category_code=category_code,
        station_id=station_id,
        deputy_id=deputy_id,
        created_from=created_from,
        created_to=created_to,
        overdue=overdue,
    )


# The case search's query parameters (GET /v1/cases and its CSV and Excel downloads).
CaseSearch = Annotated[CaseFilters, Depends(_case_filters)]
