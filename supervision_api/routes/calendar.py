"""The working-day calendar: the due-date helper for integrators and the admin's overrides."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import AwareDatetime

from services.supervision import calendar_admin
from services.supervision.schemas import CalendarOverrideList, CalendarOverridesIn, DuePreview
from supervision_api.deps import Admin, AnyKey, Session

router = APIRouter(tags=["calendar"])


@router.get("/v1/calendar/due", summary="When a case dispatched at `from` on `tier` would be due")
async def due(
    principal: AnyKey,
    session: Session,
    start: Annotated[
        AwareDatetime,
        Query(alias="from", description="ISO 8601 time with offset, e.g. 2026-09-30T10:00:00+08:00"),
    ],
    tier: Annotated[str, Query(min_length=1, max_length=32, description="e.g. immediate, week, month")],
) -> DuePreview:
    return await calendar_admin.preview_due(session, principal.jurisdiction_id, start, tier)


@router.get("/v1/calendar/overrides", summary="The jurisdiction's working-day overrides")
async def list_overrides(
    principal: Admin,
    session: Session,
    year: Annotated[int | None, Query(ge=1970, le=2200)] = None,
) -> CalendarOverrideList:
    return CalendarOverrideList(
        items=await calendar_admin.list_overrides(session, principal.jurisdiction_id, year)
    )


@router.put("/v1/calendar/overrides", summary="Set dates as working days or days off (upsert)")
async def put_overrides(
    principal: Admin, session: Session, body: CalendarOverridesIn
) -> CalendarOverrideList:
    items = await calendar_admin.upsert_overrides(session, principal.jurisdiction_id, body.items)
    return CalendarOverrideList(items=items)


@router.delete("/v1/calendar/overrides/{day}", status_code=204, summary="Drop a date's override")
async def delete_override(principal: Admin, session: Session, day: date) -> Response:
    await calendar_admin.delete_override(session, principal.jurisdiction_id, day)
    return Response(status_code=204)
