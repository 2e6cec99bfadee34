"""Official schedules loaded per year and jurisdiction, and whether the calendar covers the days ahead.

A year is covered for a jurisdiction when the built-in national data (chinesecalendar) knows it or the
jurisdiction has loaded its official schedule. Loading a year replaces that year's official overrides, keeps the
jurisdiction's own (local) ones, which still win, and recomputes the deadlines that were counted on assumed days.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from sqlalchemy import and_, delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.supervision.assumed_deadlines import recompute_assumed
from services.supervision.calendar_admin import override_out
from services.supervision.calendar_schedule import Schedule
from services.supervision.calendar_year_schemas import (
    CalendarYearList,
    CalendarYearLoaded,
    CalendarYearOut,
    YearStatus,
)
from services.supervision.errors import FieldInvalid
from services.supervision.schemas import EARLIEST_YEAR, LATEST_YEAR
from services.workflow.deadlines import forget_policies
from shared.calendar import SHANGHAI, national_years, nationally_known
from shared.db.enums import CalendarSource
from shared.db.models import CalendarOverride, CalendarYear, Deadline, Jurisdiction

# How far ahead the calendar must be covered: the longest common tier (a month) with room for the notice,
# which the State Council publishes in November or December.
COVERAGE_DAYS = 60


def today() -> date:
    return datetime.now(SHANGHAI).date()


def _year_range(year: int) -> tuple[date, date]:
    return date(year, 1, 1), date(year, 12, 31)


async def load_year(
    session: AsyncSession,
    jurisdiction_id: int,
    schedule: Schedule,
    *,
    source: str | None,
    loaded_by: str,
    now: datetime,
) -> CalendarYearLoaded:
    """Makes ``schedule`` the jurisdiction's official calendar of its year, then recomputes the open deadlines
    that were counted on assumed days (each that moves raises case.deadline_changed)."""
    year = schedule.year
    if not EARLIEST_YEAR <= year <= LATEST_YEAR:
        raise FieldInvalid("year", f"年份须在 {EARLIEST_YEAR} 至 {LATEST_YEAR} 年之间")
    forget_policies(session)
    # The year's row first: two loads of one year queue on it instead of interleaving their overrides.
    statement = pg_insert(CalendarYear).values(
        jurisdiction_id=jurisdiction_id, year=year, source=source, loaded_at=now, loaded_by=loaded_by
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[CalendarYear.jurisdiction_id, CalendarYear.year],
            set_={"source": source, "loaded_at": now, "loaded_by": loaded_by},
        )
    )
    first, last = _year_range(year)
    in_year = and_(
        CalendarOverride.jurisdiction_id == jurisdiction_id, CalendarOverride.day.between(first, last)
    )
    await session.execute(
        delete(CalendarOverride).where(in_year, CalendarOverride.source == CalendarSource.official)
    )
    await session.execute(
        pg_insert(CalendarOverride)
        .values(
            [
                {
                    "jurisdiction_id": jurisdiction_id,
                    "day": d.day,
                    "is_workday": d.is_workday,
                    "note": d.name,
                    "source": CalendarSource.official,
                }
                for d in schedule.days
            ]
        )
        .on_conflict_do_nothing(index_elements=[CalendarOverride.jurisdiction_id, CalendarOverride.day])
    )
    official = {d.day: d.is_workday for d in schedule.days}
    local = await session.scalars(
        select(CalendarOverride)
        .where(in_year, CalendarOverride.source == CalendarSource.local, CalendarOverride.day.in_(official))
        .order_by(CalendarOverride.day)
    )
    kept = [override_out(row) for row in local if row.is_workday != official[row.day]]
    recomputed = await recompute_assumed(session, jurisdiction_id, now)
    years = await _loaded(session, jurisdiction_id, [year])
    return CalendarYearLoaded(
        year=years[year],
        local_overrides_kept=kept,
        deadlines_recomputed=recomputed.looked_at,
        deadlines_changed=len(recomputed.changes),
        deadlines_still_assumed=recomputed.still_assumed,
    )


async def _loaded(
    session: AsyncSession, jurisdiction_id: int, years: Iterable[int] | None = None
) -> dict[int, CalendarYearOut]:
    """The jurisdiction's loaded years (all, or the given ones) with their counts of official days."""
    official = and_(
        CalendarOverride.jurisdiction_id == CalendarYear.jurisdiction_id,
        CalendarOverride.source == CalendarSource.official,
        func.extract("year", CalendarOverride.day) == CalendarYear.year,
    )
    query = (
        select(
            CalendarYear,
            func.count(CalendarOverride.id).filter(CalendarOverride.is_workday.is_(False)).label("holidays"),
            func.count(CalendarOverride.id).filter(CalendarOverride.is_workday.is_(True)).label("workdays"),
        )
        .outerjoin(CalendarOverride, official)
        .where(CalendarYear.jurisdiction_id == jurisdiction_id)
        .group_by(CalendarYear.id)
    )
    if years is not None:
        query = query.where(CalendarYear.year.in_(list(years)))
    return {
        row.year: CalendarYearOut(
            year=row.year,
            status="loaded",
            source=row.source,
            loaded_at=row.loaded_at,
            loaded_by=row.loaded_by,
            holidays=holidays,
            workdays=workdays,
        )
        for row, holidays, workdays in await session.execute(query)
    }


async def list_years(session: AsyncSession, jurisdiction_id: int, on: date) -> CalendarYearList:
    """The years the jurisdiction loaded, plus the year of ``on`` and the next, each with its status."""
    loaded = await _loaded(session, jurisdiction_id)
    for year in (on.year, on.year + 1):
        if year not in loaded:
            status: YearStatus = "national" if nationally_known(year) else "assumed"
            loaded[year] = CalendarYearOut(year=year, status=status)
    assumed = await session.scalar(
        select(func.count()).where(
            Deadline.jurisdiction_id == jurisdiction_id,
            Deadline.met_at.is_(None),
            Deadline.superseded_at.is_(None),
            Deadline.assumed.is_(True),
        )
    )
    return CalendarYearList(
        items=[loaded[year] for year in sorted(loaded)],
        national_years=national_years(),
        assumed_deadlines=assumed or 0,
    )


async def missing_years(session: AsyncSession, on: date, days: int = COVERAGE_DAYS) -> dict[int, list[str]]:
    """Each year among the ``days`` days from ``on`` that the national data does not know, with the codes of
    the jurisdictions that have not loaded it. Empty when the calendar covers them all everywhere."""
    years = sorted({on.year, (on + timedelta(days=days)).year})
    wanted = [year for year in years if not nationally_known(year)]
    if not wanted:
        return {}
    missing: dict[int, list[str]] = {}
    for year in wanted:
        has_year = select(CalendarYear.id).where(
            CalendarYear.jurisdiction_id == Jurisdiction.id, CalendarYear.year == year
        )
        codes = list(
            await session.scalars(
                select(Jurisdiction.code).where(~has_year.exists()).order_by(Jurisdiction.code)
            )
        )
        if codes:
            missing[year] = codes
    return missing


def coverage_text(missing: dict[int, list[str]]) -> str:
    """What /readyz says about the calendar: ``ok`` or ``missing 2027``."""
    if not missing:
        return "ok"
    return "missing " + ", ".join(str(year) for year in sorted(missing))
