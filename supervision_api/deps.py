"""Who may call what, and path ids turned into loaded, authorized objects (or a 404)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from services.supervision import apikeys, cases, webhooks
from shared.db.enums import Role
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
WebhookManager = Annotated[Principal, Depends(require_roles(Role.admin, Role.integrator))]


async def _staff_case(case_id: Id, principal: Staff, session: Session) -> Case:
    return await cases.get_case(session, principal.jurisdiction_id, case_id)


async def _jurisdiction_key(key_id: Id, principal: Admin, session: Session) -> ApiKey:
    return await apikeys.get_api_key(session, principal.jurisdiction_id, key_id)


async def _own_webhook(webhook_id: Id, principal: WebhookManager, session: Session) -> WebhookEndpoint:
    return await webhooks.get_webhook(session, principal, webhook_id)


StaffCase = Annotated[Case, Depends(_staff_case)]
JurisdictionKey = Annotated[ApiKey, Depends(_jurisdiction_key)]
OwnWebhook = Annotated[WebhookEndpoint, Depends(_own_webhook)]
