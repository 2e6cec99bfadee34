"""Contact-day rules (the jurisdiction's, a station's own over it, else the built-in default), the dates added
or cancelled by hand, and a station's contact days over a range with the deputies rostered on each."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.contact import repository
from services.intake.contact.errors import DayChangeNotFound, InvalidRange
from services.intake.contact.holidays import holiday_calendar
from services.intake.contact.rules import (
    DEFAULT_RULE,
    WEEKDAY_LABELS,
    Change,
    ContactDay,
    Rule,
    contact_days,
    effective_changes,
)
from services.intake.contact.schemas import (
    EARLIEST,
    LATEST,
    MAX_RANGE_DAYS,
    ContactDayOut,
    DayChangeIn,
    DayChangeOut,
    RosteredDeputy,
    RuleSource,
    ScheduleIn,
    ScheduleOut,
    StationScheduleOut,
)
from shared.calendar import SHANGHAI
from shared.db.models import ContactDayChange, ContactSchedule, Station

# A range asked without an end runs this long.
DEFAULT_RANGE_DAYS = 90


def today() -> date:
    return datetime.now(SHANGHAI).date()


def checked_range(start: date | None, end: date | None) -> tuple[date, date]:
    """[from, to] of a listing: from defaults to today (Beijing), to to 90 days later; at most 366 days."""
    start = start or today()
    end = end or start + timedelta(days=DEFAULT_RANGE_DAYS)
    if not EARLIEST <= start <= LATEST:
        raise InvalidRange(f"开始日期应在 {EARLIEST} 至 {LATEST} 之间", "from")
    if not EARLIEST <= end <= LATEST:
        raise InvalidRange(f"结束日期应在 {EARLIEST} 至 {LATEST} 之间")
    if end < start:
        raise InvalidRange("结束日期不能早于开始日期")
    if (end - start).days > MAX_RANGE_DAYS:
        raise InvalidRange(f"查询范围最多 {MAX_RANGE_DAYS} 天")
    return start, end


# Rules --------------------------------------------------------------------------------------------------


def _scope(jurisdiction_id: int, station_id: int | None) -> ColumnElement[bool]:
    if station_id is None:
        return (ContactSchedule.jurisdiction_id == jurisdiction_id) & ContactSchedule.station_id.is_(None)
    return ContactSchedule.station_id == station_id


async def _schedule_row(
    session: AsyncSession, jurisdiction_id: int, station_id: int | None
) -> ContactSchedule | None:
    row: ContactSchedule | None = await session.scalar(
        select(ContactSchedule)
        .where(_scope(jurisdiction_id, station_id))
        .execution_options(populate_existing=True)
    )
    return row


def _rule(row: ContactSchedule) -> Rule:
    return Rule(row.nth, row.weekday, row.starts_at, row.ends_at, row.on_holiday)


def _out(rule: Rule, source: RuleSource, station_id: int | None, updated_at: datetime | None) -> ScheduleOut:
    return ScheduleOut(
        station_id=station_id,
        source=source,
        nth=rule.nth,
        weekday=rule.weekday,
        starts_at=rule.starts_at,
        ends_at=rule.ends_at,
        on_holiday=rule.on_holiday,
        description=rule.description(),
        updated_at=updated_at,
    )


async def jurisdiction_schedule(session: AsyncSession, jurisdiction_id: int) -> ScheduleOut:
    row = await _schedule_row(session, jurisdiction_id, None)
    if row is None:
        return _out(DEFAULT_RULE, "default", None, None)
    return _out(_rule(row), "jurisdiction", None, row.updated_at)


async def station_rule(session: AsyncSession, station: Station) -> ScheduleOut:
    """The rule in force at a station: its own, else the jurisdiction's, else the default."""
    own = await _schedule_row(session, station.jurisdiction_id, station.id)
    if own is not None:
        return _out(_rule(own), "station", station.id, own.updated_at)
    return await jurisdiction_schedule(session, station.jurisdiction_id)


def rule_of(out: ScheduleOut) -> Rule:
    return Rule(out.nth, out.weekday, out.starts_at, out.ends_at, out.on_holiday)


async def _upsert_schedule(
    session: AsyncSession, jurisdiction_id: int, station_id: int | None, data: ScheduleIn
) -> None:
    values = {
        "nth": data.nth,
        "weekday": data.weekday,
        "starts_at": data.starts_at,
        "ends_at": data.ends_at,
        "on_holiday": data.on_holiday.value,
    }
    statement = insert(ContactSchedule).values(
        jurisdiction_id=jurisdiction_id, station_id=station_id, **values
    )
    # The two partial unique indexes: one row per jurisdiction without a station, one per station.
    if station_id is None:
        keys, where = ["jurisdiction_id"], ContactSchedule.station_id.is_(None)
    else:
        keys, where = ["station_id"], ContactSchedule.station_id.is_not(None)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=keys, index_where=where, set_={**values, "updated_at": func.now()}
        )
    )


async def set_jurisdiction_schedule(
    session: AsyncSession, jurisdiction_id: int, data: ScheduleIn
) -> ScheduleOut:
    await _upsert_schedule(session, jurisdiction_id, None, data)
    return await jurisdiction_schedule(session, jurisdiction_id)


async def set_station_schedule(session: AsyncSession, station: Station, data: ScheduleIn) -> ScheduleOut:
    await _upsert_schedule(session, station.jurisdiction_id, station.id, data)
    return await station_rule(session, station)


async def delete_station_schedule(session: AsyncSession, station: Station) -> ScheduleOut:
    """Drops the station's own rule; the answer is the one now in force (the jurisdiction's or default)."""
    await session.execute(delete(ContactSchedule).where(ContactSchedule.station_id == station.id))
    return await station_rule(session, station)


# Added and cancelled dates --------------------------------------------------------------------------------


def _change_scope(jurisdiction_id: int, station_id: int | None) -> ColumnElement[bool]:
    if station_id is None:
        return (ContactDayChange.jurisdiction_id == jurisdiction_id) & ContactDayChange.station_id.is_(None)
    return ContactDayChange.station_id == station_id


def _change_out(row: ContactDayChange) -> DayChangeOut:
    return DayChangeOut(
        id=row.id,
        station_id=row.station_id,
        day=row.day,
        change=row.change,
        note=row.note,
        created_at=row.created_at,
    )


async def set_day_change(
    session: AsyncSession, jurisdiction_id: int, station_id: int | None, data: DayChangeIn
) -> DayChangeOut:
    """Adds or cancels a date for a station (or, without one, the whole jurisdiction); a change already
    recorded for that date is replaced."""
    values = {"change": data.change.value, "note": data.note}
    statement = insert(ContactDayChange).values(
        jurisdiction_id=jurisdiction_id, station_id=station_id, day=data.day, **values
    )
    if station_id is None:
        keys, where = ["jurisdiction_id", "day"], ContactDayChange.station_id.is_(None)
    else:
        keys, where = ["station_id", "day"], ContactDayChange.station_id.is_not(None)
    row_id = await session.scalar(
        statement.on_conflict_do_update(
            index_elements=keys, index_where=where, set_={**values, "created_at": func.now()}
        ).returning(ContactDayChange.id)
    )
    row = await session.scalar(
        select(ContactDayChange)
        .where(ContactDayChange.id == row_id)
        .execution_options(populate_existing=True)
    )
    assert row is not None  # just written
    return _change_out(row)


async def remove_day_change(
    session: AsyncSession, jurisdiction_id: int, station_id: int | None, day: date
) -> None:
    removed = await session.scalar(
        delete(ContactDayChange)
        .where(_change_scope(jurisdiction_id, station_id), ContactDayChange.day == day)
        .returning(ContactDayChange.id)
    )
    if removed is None:
        raise DayChangeNotFound()


async def list_day_changes(
    session: AsyncSession, jurisdiction_id: int, station_id: int | None, start: date, end: date
) -> list[DayChangeOut]:
    rows = await session.scalars(
        select(ContactDayChange)
        .where(_change_scope(jurisdiction_id, station_id), ContactDayChange.day.between(start, end))
        .order_by(ContactDayChange.day)
    )
    return [_change_out(row) for row in rows]


async def _changes(session: AsyncSession, station: Station, start: date, end: date) -> dict[date, Change]:
    rows = await session.execute(
        select(
            ContactDayChange.day, ContactDayChange.change, ContactDayChange.note, ContactDayChange.station_id
        ).where(
            ContactDayChange.jurisdiction_id == station.jurisdiction_id,
            (ContactDayChange.station_id == station.id) | ContactDayChange.station_id.is_(None),
            # A cancellation may name a rule date up to four weeks before the range that moved into it.
            ContactDayChange.day.between(start - timedelta(weeks=5), end),
        )
    )
    own: list[Change] = []
    shared: list[Change] = []
    for day, change, note, station_id in rows:
        (own if station_id is not None else shared).append(Change(day, change, note, station_id is not None))
    return effective_changes(shared, own)


# Contact days ---------------------------------------------------------------------------------------------


async def station_contact_days(
    session: AsyncSession, station: Station, start: date, end: date, *, rule: ScheduleOut | None = None
) -> list[ContactDay]:
    """The station's contact days in [start, end] (a range checked by the caller)."""
    rule = rule or await station_rule(session, station)
    calendar = await holiday_calendar(session, station.jurisdiction_id)
    changes = await _changes(session, station, start, end)
    return contact_days(rule_of(rule), changes, start, end, calendar.holiday_name)


async def next_contact_days(session: AsyncSession, station: Station, count: int) -> list[ContactDay]:
    """The next ``count`` contact days from today (Beijing) on, within a year."""
    start = today()
    found = await station_contact_days(session, station, start, start + timedelta(days=MAX_RANGE_DAYS))
    return found[:count]


def contact_day_out(day: ContactDay, deputies: list[RosteredDeputy]) -> ContactDayOut:
    return ContactDayOut(
        day=day.day,
        weekday_label=WEEKDAY_LABELS[day.day.weekday()],
        starts_at=day.starts_at,
        ends_at=day.ends_at,
        reason=day.reason,
        postponed_from=day.postponed_from,
        holiday=day.holiday,
        note=day.note,
        reason_label=day.reason_label(),
        deputies=deputies,
    )


async def station_schedule(
    session: AsyncSession, station: Station, start: date, end: date
) -> StationScheduleOut:
    rule = await station_rule(session, station)
    days = await station_contact_days(session, station, start, end, rule=rule)
    roster = await repository.rostered(session, station.id, start, end)
    return StationScheduleOut(
        station_id=station.id,
        rule=rule,
        items=[contact_day_out(day, roster.get(day.day, [])) for day in days],
    )
