"""Contact days (联系日): the jurisdiction's rule and a station's own, dates added or cancelled (for one station
or the whole jurisdiction), a station's schedule with the deputies rostered, and the roster (接待计划)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from intake_api.deps import AdminKey, AdminStation
from intake_api.openapi import ADMIN_ERRORS, ADMIN_OBJECT_ERRORS
from intake_api.station_access import ReaderStation
from services.intake.contact import roster, schedule
from services.intake.contact.schemas import (
    DayChangeIn,
    DayChangeList,
    DayChangeOut,
    RosterIn,
    RosterOut,
    ScheduleIn,
    ScheduleOut,
    StationScheduleOut,
)
from shared.web.db import Session

router = APIRouter(tags=["contact days"])

From = Annotated[date | None, Query(alias="from", description="First date (default: today, Beijing time)")]
To = Annotated[
    date | None, Query(description="Last date (default: 90 days after from; at most 366 days after)")
]
Day = Annotated[date, Path(description="The date, YYYY-MM-DD")]

_HOLIDAYS = (
    "A rule date on a statutory holiday (the jurisdiction's working-day calendar: its overrides and loaded "
    "years, else the national `chinesecalendar`) is postponed to the same weekday a week later (again while "
    "still a holiday), skipped, or kept, as `on_holiday` says."
)


# The jurisdiction's rule and dates -------------------------------------------------------------------------


@router.get(
    "/v1/contact-schedule",
    summary="The jurisdiction's contact-day rule",
    description="Without one set, the default: the 2nd Sunday of every month, 09:00-11:30, postponed on "
    "holidays (`source: default`).",
    responses=ADMIN_ERRORS,
)
async def get_jurisdiction_schedule(admin: AdminKey, session: Session) -> ScheduleOut:
    return await schedule.jurisdiction_schedule(session, admin.jurisdiction_id)


@router.put(
    "/v1/contact-schedule",
    summary="Set the jurisdiction's contact-day rule",
    description="Every station without a rule of its own follows it. " + _HOLIDAYS,
    responses=ADMIN_ERRORS,
)
async def put_jurisdiction_schedule(body: ScheduleIn, admin: AdminKey, session: Session) -> ScheduleOut:
    return await schedule.set_jurisdiction_schedule(session, admin.jurisdiction_id, body)


@router.get("/v1/contact-days", summary="Dates added or cancelled jurisdiction-wide", responses=ADMIN_ERRORS)
async def list_jurisdiction_days(
    admin: AdminKey, session: Session, from_: From = None, to: To = None
) -> DayChangeList:
    start, end = schedule.checked_range(from_, to)
    return DayChangeList(
        items=await schedule.list_day_changes(session, admin.jurisdiction_id, None, start, end)
    )


@router.post(
    "/v1/contact-days",
    status_code=201,
    summary="Add or cancel a contact day for every station",
    description="A station's own change for the same date wins over this one. A change already recorded "
    "for the date is replaced.",
    responses=ADMIN_ERRORS,
)
async def set_jurisdiction_day(body: DayChangeIn, admin: AdminKey, session: Session) -> DayChangeOut:
    return await schedule.set_day_change(session, admin.jurisdiction_id, None, body)


@router.delete(
    "/v1/contact-days/{day}",
    status_code=204,
    summary="Undo a jurisdiction-wide added or cancelled date",
    responses=ADMIN_OBJECT_ERRORS,
)
async def delete_jurisdiction_day(day: Day, admin: AdminKey, session: Session) -> Response:
    await schedule.remove_day_change(session, admin.jurisdiction_id, None, day)
    return Response(status_code=204)


# A station's rule and dates --------------------------------------------------------------------------------


@router.get(
    "/v1/stations/{station_id}/contact-schedule",
    summary="The contact-day rule in force at a station",
    description="`source` says whether it is the station's own, the jurisdiction's or the default.",
    responses=ADMIN_OBJECT_ERRORS,
)
async def get_station_schedule(station: AdminStation, session: Session) -> ScheduleOut:
    return await schedule.station_rule(session, station)


@router.put(
    "/v1/stations/{station_id}/contact-schedule",
    summary="Give a station its own contact-day rule",
    description="It overrides the jurisdiction's rule for this station. " + _HOLIDAYS,
    responses=ADMIN_OBJECT_ERRORS,
)
async def put_station_schedule(station: AdminStation, body: ScheduleIn, session: Session) -> ScheduleOut:
    return await schedule.set_station_schedule(session, station, body)


@router.delete(
    "/v1/stations/{station_id}/contact-schedule",
    summary="Drop a station's own rule",
    description="The station follows the jurisdiction's rule again; the answer is the rule now in force.",
    responses=ADMIN_OBJECT_ERRORS,
)
async def delete_station_schedule(station: AdminStation, session: Session) -> ScheduleOut:
    return await schedule.delete_station_schedule(session, station)


@router.get(
    "/v1/stations/{station_id}/contact-days",
    summary="Dates added or cancelled for a station",
    description="The station's own changes only; jurisdiction-wide ones are at /v1/contact-days.",
    responses=ADMIN_OBJECT_ERRORS,
)
async def list_station_days(
    station: AdminStation, session: Session, from_: From = None, to: To = None
) -> DayChangeList:
    start, end = schedule.checked_range(from_, to)
    items = await schedule.list_day_changes(session, station.jurisdiction_id, station.id, start, end)
    return DayChangeList(items=items)


@router.post(
    "/v1/stations/{station_id}/contact-days",
    status_code=201,
    summary="Add or cancel a contact day at a station",
    description="`added`: a contact day whatever the rule and the calendar say; `cancelled`: no contact day "
    "that date (cancelling a rule date that was postponed cancels the day it moved to). Wins over a "
    "jurisdiction-wide change of the same date; replaces the station's earlier change of it.",
    responses=ADMIN_OBJECT_ERRORS,
)
async def set_station_day(station: AdminStation, body: DayChangeIn, session: Session) -> DayChangeOut:
    return await schedule.set_day_change(session, station.jurisdiction_id, station.id, body)


@router.delete(
    "/v1/stations/{station_id}/contact-days/{day}",
    status_code=204,
    summary="Undo a station's added or cancelled date",
    responses=ADMIN_OBJECT_ERRORS,
)
async def delete_station_day(station: AdminStation, day: Day, session: Session) -> Response:
    await schedule.remove_day_change(session, station.jurisdiction_id, station.id, day)
    return Response(status_code=204)


# The schedule and the roster -------------------------------------------------------------------------------


@router.get(
    "/v1/stations/{station_id}/schedule",
    summary="A station's contact days with the deputies rostered",
    description="Admins, dispatchers, supervisors and deputies of the jurisdiction. Each date says why it is "
    "one (`rule`, `postponed` with `postponed_from` and the holiday, `added`) and who receives. " + _HOLIDAYS,
    responses=ADMIN_OBJECT_ERRORS,
)
async def station_schedule(
    station: ReaderStation, session: Session, from_: From = None, to: To = None
) -> StationScheduleOut:
    start, end = schedule.checked_range(from_, to)
    return await schedule.station_schedule(session, station, start, end)


@router.put(
    "/v1/stations/{station_id}/roster",
    summary="Replace a station's roster over a range (the yearly plan)",
    description="Every entry of the station in [from, to] is replaced by those given. Deputies must be active "
    "deputies of the jurisdiction (422 naming the others). A date that is not a contact day of the station "
    "is kept and listed in `warnings`, so a plan may be entered before its dates are added.",
    responses=ADMIN_OBJECT_ERRORS,
)
async def put_roster(station: AdminStation, body: RosterIn, session: Session) -> RosterOut:
    return await roster.put_roster(session, station, body)


@router.get(
    "/v1/stations/{station_id}/roster",
    summary="A station's roster over a range",
    description="Admins, dispatchers, supervisors and deputies of the jurisdiction.",
    responses=ADMIN_OBJECT_ERRORS,
)
async def get_roster(
    station: ReaderStation, session: Session, from_: From = None, to: To = None
) -> RosterOut:
    start, end = schedule.checked_range(from_, to)
    return await roster.get_roster(session, station, start, end)
