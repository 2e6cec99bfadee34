"""Admin: people's-congress deputies (人大代表) of the key's jurisdiction."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from intake_api.deps import AdminDeputy, AdminKey, forget_cached_codes
from intake_api.openapi import ADMIN_ERRORS, ADMIN_OBJECT_ERRORS
from services.intake import deputies
from services.intake.schemas import DeputyIn, DeputyOut, DeputyPatch
from shared.db.ids import MAX_ID
from shared.web.db import Session
from shared.web.pagination import Page, Pagination

router = APIRouter(prefix="/v1/deputies", tags=["deputies"], dependencies=[Depends(forget_cached_codes)])


@router.post("", status_code=201, summary="Create a deputy", responses=ADMIN_ERRORS)
async def create_deputy(body: DeputyIn, admin: AdminKey, session: Session) -> DeputyOut:
    return await deputies.create_deputy(session, admin.jurisdiction_id, body)


@router.get("", summary="List deputies", responses=ADMIN_ERRORS)
async def list_deputies(
    admin: AdminKey,
    session: Session,
    page: Pagination,
    active: Annotated[bool | None, Query(description="Only active (true) or inactive (false) ones")] = None,
    station_id: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Only those in this station")
    ] = None,
) -> Page[DeputyOut]:
    items = await deputies.list_deputies(
        session,
        admin.jurisdiction_id,
        limit=page.limit,
        after_id=page.after_id,
        active=active,
        station_id=station_id,
    )
    return page.page_of(items)


@router.get("/{deputy_id}", summary="One deputy", responses=ADMIN_OBJECT_ERRORS)
async def get_deputy(deputy: AdminDeputy, session: Session) -> DeputyOut:
    return await deputies.deputy_out(session, deputy)


@router.patch(
    "/{deputy_id}",
    summary="Change a deputy",
    description="Only the fields sent change; `station_ids` replaces the list (the first receives cases).",
    responses=ADMIN_OBJECT_ERRORS,
)
async def update_deputy(deputy: AdminDeputy, body: DeputyPatch, session: Session) -> DeputyOut:
    return await deputies.update_deputy(session, deputy, body)
