"""Admin: liaison stations (代表联络站 / 代表之家 / 联络点) of the key's jurisdiction."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from starlette.concurrency import run_in_threadpool

from intake_api.deps import AdminKey, AdminStation, forget_cached_codes
from intake_api.openapi import ADMIN_ERRORS, ADMIN_OBJECT_ERRORS, errors
from services.intake import posters, stations
from services.intake.schemas import StationIn, StationOut, StationPatch
from shared.web.db import Session
from shared.web.pagination import Page, Pagination

router = APIRouter(prefix="/v1/stations", tags=["stations"], dependencies=[Depends(forget_cached_codes)])


@router.post("", status_code=201, summary="Create a station", responses=ADMIN_ERRORS)
async def create_station(body: StationIn, admin: AdminKey, session: Session) -> StationOut:
    return await stations.create_station(session, admin.jurisdiction_id, body)


@router.get("", summary="List stations", responses=ADMIN_ERRORS)
async def list_stations(
    admin: AdminKey,
    session: Session,
    page: Pagination,
    active: Annotated[bool | None, Query(description="Only active (true) or inactive (false) ones")] = None,
) -> Page[StationOut]:
    items = await stations.list_stations(
        session, admin.jurisdiction_id, limit=page.limit, after_id=page.after_id, active=active
    )
    return page.page_of(items)


@router.get("/{station_id}", summary="One station", responses=ADMIN_OBJECT_ERRORS)
async def get_station(station: AdminStation, session: Session) -> StationOut:
    return await stations.station_out(session, station)


@router.patch(
    "/{station_id}",
    summary="Change a station",
    description="Only the fields sent change; `grid_codes` replaces the list; null clears address, lat, long.",
    responses=ADMIN_OBJECT_ERRORS,
)
async def update_station(station: AdminStation, body: StationPatch, session: Session) -> StationOut:
    return await stations.update_station(session, station, body)


@router.get(
    "/{station_id}/posters.pdf",
    summary="Posters of the station's code and every deputy's code, one A4 page each",
    description="Active codes only: the station's own first, then its active deputies' in their order. 409 "
    "when there is none.",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}, **ADMIN_OBJECT_ERRORS, **errors(409)},
)
async def posters_pdf(station: AdminStation, session: Session) -> Response:
    pages = await posters.station_posters(session, station)
    document = await run_in_threadpool(posters.posters_pdf, pages, title=f"二维码张贴 {station.name}")
    return Response(
        document,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="station-{station.id}-posters.pdf"'},
    )
