"""Personal data on purpose: a case's full submitter name and phone for a stated reason, every look audited
(who, when, why, which case) in the same transaction; the audit listing; which roles of a jurisdiction may.

A confidential case is refused (403 contact_confidential) and nothing is written: no personal data was shown.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.supervision.errors import (
    CaseNotFound,
    ContactConfidential,
    ContactRoleNotAllowed,
    FieldInvalid,
)
from services.supervision.schemas import Text
from shared.db.enums import GONE_ASSIGNMENT_STATUSES, Role
from shared.db.models import Assignment, Case, ContactAudit, ContactSettings
from shared.security.apikeys import Principal
from shared.security.pii import decrypt

DEFAULT_ROLES: tuple[str, ...] = (Role.supervisor, Role.admin)
# The roles a jurisdiction may allow; the route itself admits no other.
ELIGIBLE_ROLES: tuple[Role, ...] = (Role.supervisor, Role.admin, Role.department)

Reason = Annotated[Text, StringConstraints(min_length=5, max_length=200)]


class ContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason = Field(description="Why the full contact is needed (5-200 characters), kept in the audit")

    @field_validator("reason", mode="before")
    @classmethod
    def _strip(cls, value: object) -> object:
        # Blanks around a reason don't count towards its length: "     " is no reason.
        return value.strip() if isinstance(value, str) else value


class ContactOut(BaseModel):
    case_id: int
    tracking_no: str
    name: str | None = Field(
        description="The submitter's full name; null when none was given or it was erased"
    )
    phone: str | None = Field(
        description="The submitter's full phone; null when none was given or it was erased"
    )
    email: str | None = Field(
        default=None,
        description="The submitter's e-mail (Open311 requests carry one); null when none was given or erased",
    )
    audit_id: int = Field(description="The audit row this look wrote")


class ContactAuditOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    case_id: int
    api_key_id: int = Field(description="The key that looked")
    role: str = Field(description="That key's role")
    reason: str
    created_at: dt.datetime


class ContactSettingsOut(BaseModel):
    roles: list[Role] = Field(description="The roles that may unmask: of supervisor, admin and department")


class ContactSettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    roles: list[Role] = Field(
        description="Of supervisor, admin and department (a department key only for cases assigned to it)"
    )


async def allowed_roles(session: AsyncSession, jurisdiction_id: int) -> list[str]:
    row = await session.get(ContactSettings, jurisdiction_id)
    return list(DEFAULT_ROLES) if row is None else list(row.roles)


async def get_contact_settings(session: AsyncSession, jurisdiction_id: int) -> ContactSettingsOut:
    return ContactSettingsOut(roles=[Role(r) for r in await allowed_roles(session, jurisdiction_id)])


async def put_contact_settings(
    session: AsyncSession, jurisdiction_id: int, body: ContactSettingsIn
) -> ContactSettingsOut:
    wrong = [r for r in body.roles if r not in ELIGIBLE_ROLES]
    if wrong:
        raise FieldInvalid(
            "roles", f"角色“{wrong[0]}”不能查看提交人的联系方式，只可为 supervisor、admin、department"
        )
    roles = [r.value for r in ELIGIBLE_ROLES if r in body.roles]
    statement = pg_insert(ContactSettings).values(jurisdiction_id=jurisdiction_id, roles=roles)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[ContactSettings.jurisdiction_id], set_={"roles": roles}
        )
    )
    await session.flush()
    return ContactSettingsOut(roles=[Role(r) for r in roles])


async def _visible_case(session: AsyncSession, principal: Principal, case_id: int) -> Case:
    """The case in the key's jurisdiction (and, for a department key, assigned to it and not declined or
    withdrawn), or 404."""
    query = select(Case).where(Case.id == case_id, Case.jurisdiction_id == principal.jurisdiction_id)
    if principal.role == Role.department:
        query = query.where(
            select(Assignment.id)
            .where(
                Assignment.case_id == Case.id,
                Assignment.department_id == principal.department_id,
                Assignment.status.not_in(GONE_ASSIGNMENT_STATUSES),
            )
            .exists()
        )
    case = await session.scalar(query)
    if case is None:
        raise CaseNotFound()
    return case


async def reveal_contact(
    session: AsyncSession, principal: Principal, case_id: int, body: ContactIn
) -> ContactOut:
    """The full name, phone and e-mail, and the audit row in the same transaction (the session commits both)."""
    if principal.role not in await allowed_roles(session, principal.jurisdiction_id):
        # Checked before the case is looked up, so a refused key learns nothing about which cases exist.
        raise ContactRoleNotAllowed()
    case = await _visible_case(session, principal, case_id)
    if case.confidential:
        raise ContactConfidential()
    audit = ContactAudit(
        jurisdiction_id=principal.jurisdiction_id,
        case_id=case.id,
        api_key_id=principal.key_id,
        role=principal.role,
        reason=body.reason,
    )
    session.add(audit)
    await session.flush()
    return ContactOut(
        case_id=case.id,
        tracking_no=case.tracking_no,
        name=decrypt(case.submitter_name_enc),
        phone=decrypt(case.submitter_phone_enc),
        email=decrypt(case.submitter_email_enc),
        audit_id=audit.id,
    )


async def list_audits(
    session: AsyncSession,
    jurisdiction_id: int,
    *,
    case_id: int | None,
    api_key_id: int | None,
    since: dt.datetime | None,
    until: dt.datetime | None,
    limit: int,
    after_id: int | None,
) -> list[ContactAudit]:
    """Newest first, up to limit + 1 rows (the page's extra row)."""
    query = select(ContactAudit).where(ContactAudit.jurisdiction_id == jurisdiction_id)
    if case_id is not None:
        query = query.where(ContactAudit.case_id == case_id)
    if api_key_id is not None:
        query = query.where(ContactAudit.api_key_id == api_key_id)
    if since is not None:
        query = query.where(ContactAudit.created_at >= since)
    if until is not None:
        query = query.where(ContactAudit.created_at < until)
    if after_id is not None:
        query = query.where(ContactAudit.id < after_id)
    return list((await session.scalars(query.order_by(ContactAudit.id.desc()).limit(limit + 1))).all())
