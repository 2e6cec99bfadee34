"""Reception records (接待登记) at the stations: recording one, listing them and the CSV export."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from intake_api.openapi import ADMIN_ERRORS, ADMIN_OBJECT_ERRORS
from intake_api.station_access import ReaderKey, ReaderStation, RecorderKey, RecorderStation
from services.intake.contact import receptions
from services.intake.contact.reception_csv import reception_csv
from services.intake.contact.receptions import ReceptionFilters
from services.intake.contact.schemas import ReceptionIn, ReceptionOut
from shared.db.ids import MAX_ID
from shared.web.db import Session
from shared.web.pagination import Page, Pagination, encode_cursor

router = APIRouter(tags=["receptions"])

From = Annotated[date | None, Query(alias="from", description="Held on or after this date")]
To = Annotated[date | None, Query(description="Held on or before this date")]
StationFilter = Annotated[int | None, Query(ge=1, le=MAX_ID, description="Only this station's")]
DeputyFilter = Annotated[int | None, Query(ge=1, le=MAX_ID, description="Only those this deputy attended")]

_CSV: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "UTF-8 with BOM, Chinese headers"}
}


def _page(rows: list[ReceptionOut], page_limit: int) -> Page[ReceptionOut]:
    """Newest first: the cursor is the last id shown, and the next page continues below it."""
    next_cursor = encode_cursor(rows[page_limit - 1].id) if len(rows) > page_limit else None
    return Page[ReceptionOut](items=rows[:page_limit], next_cursor=next_cursor)


def _sessions(request: Request) -> async_sessionmaker[AsyncSession]:
    sessions: async_sessionmaker[AsyncSession] = request.app.state.sessions
    return sessions


def _csv_response(
    request: Request, jurisdiction_id: int, filters: ReceptionFilters, name: str
) -> StreamingResponse:
    return StreamingResponse(
        reception_csv(_sessions(request), jurisdiction_id, filters),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


@router.post(
    "/v1/stations/{station_id}/receptions",
    status_code=201,
    summary="Record a reception at a station",
    description="Admins and supervisors; a deputy key only for a reception its deputy was at (403 "
    "`not_present_at_reception` otherwise). Cases submitted through the station's codes that day (Beijing "
    "time; the station's own codes and its deputies') are linked without being listed, `case_ids` adds others "
    "of the jurisdiction. Emits `reception.recorded` (ids and counts only, never the note).",
    responses=ADMIN_OBJECT_ERRORS,
)
async def record_reception(
    station: RecorderStation, principal: RecorderKey, body: ReceptionIn, session: Session
) -> ReceptionOut:
    return await receptions.record_reception(session, principal, station, body)


@router.get(
    "/v1/stations/{station_id}/receptions",
    summary="A station's receptions, newest recorded first",
    responses=ADMIN_OBJECT_ERRORS,
)
async def station_receptions(
    station: ReaderStation, session: Session, page: Pagination, from_: From = None, to: To = None
) -> Page[ReceptionOut]:
    rows = await receptions.list_receptions(
        session,
        station.jurisdiction_id,
        ReceptionFilters(station_id=station.id, held_from=from_, held_to=to),
        limit=page.limit,
        before_id=page.after_id,
    )
    return _page(rows, page.limit)


@router.get(
    "/v1/stations/{station_id}/receptions.csv",
    summary="A station's receptions as CSV, by date",
    response_class=StreamingResponse,
    responses={**_CSV, **ADMIN_OBJECT_ERRORS},
)
async def station_receptions_csv(
    request: Request, station: ReaderStation, from_: From = None, to: To = None
) -> StreamingResponse:
    filters = ReceptionFilters(station_id=station.id, held_from=from_, held_to=to)
    return _csv_response(request, station.jurisdiction_id, filters, f"station-{station.id}-receptions.csv")


@router.get(
    "/v1/receptions",
    summary="The jurisdiction's receptions, newest recorded first",
    responses=ADMIN_ERRORS,
)
async def all_receptions(
    principal: ReaderKey,
    session: Session,
    page: Pagination,
    station_id: StationFilter = None,
    deputy_id: DeputyFilter = None,
    from_: From = None,
    to: To = None,
) -> Page[ReceptionOut]:
    rows = await receptions.list_receptions(
        session,
        principal.jurisdiction_id,
        ReceptionFilters(station_id=station_id, deputy_id=deputy_id, held_from=from_, held_to=to),
        limit=page.limit,
        before_id=page.after_id,
    )
    return _page(rows, page.limit)


@router.get(
    "/v1/receptions.csv",
    summary="The jurisdiction's receptions as CSV, by date",
    response_class=StreamingResponse,
    responses={**_CSV, **ADMIN_ERRORS},
)
async def all_receptions_csv(
    request: Request,
    principal: ReaderKey,
    station_id: StationFilter = None,
    deputy_id: DeputyFilter = None,
    from_: From = None,
    to: To = None,
) -> StreamingResponse:
    filters = ReceptionFilters(station_id=station_id, deputy_id=deputy_id, held_from=from_, held_to=to)
    return _csv_response(request, principal.jurisdiction_id, filters, "receptions.csv")
