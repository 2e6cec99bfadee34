"""Which dates are statutory holidays for a jurisdiction, and their Chinese names, for the contact-day rule.

The same sources as the working-day calendar (docs/calendar.md, shared.calendar), read from the tables here
because intake does not import supervision: the jurisdiction's overrides first (a day off there is a holiday,
named by its note; a worked day is not), then a year it loaded (a date it does not list is an ordinary day),
then the ``chinesecalendar`` package. Past the package's years with nothing loaded, no date is a holiday: the
rule's dates stand, and move once the year is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import chinese_calendar
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db.models import CalendarOverride, CalendarYear

DEFAULT_HOLIDAY_NAME = "法定节假日"

# chinesecalendar's Chinese names, completed the way the State Council's notices write them.
_FULL_NAMES = {"清明": "清明节", "端午": "端午节", "中秋": "中秋节"}


def national_holiday_name(day: date) -> str | None:
    """The statutory holiday ``day`` lies in by the national data (weekends inside a holiday included), or
    None: an ordinary day, a make-up working day, or a year the package does not know."""
    try:
        is_holiday, english = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        return None
    if not is_holiday or english is None:
        return None
    try:
        chinese = str(chinese_calendar.Holiday(english).chinese)
    except ValueError:
        return DEFAULT_HOLIDAY_NAME
    return _FULL_NAMES.get(chinese, chinese)


@dataclass(frozen=True)
class HolidayCalendar:
    # date -> (is_workday, note) from the jurisdiction's overrides
    overrides: dict[date, tuple[bool, str | None]] = field(default_factory=dict)
    loaded_years: frozenset[int] = frozenset()

    def holiday_name(self, day: date) -> str | None:
        if day in self.overrides:
            is_workday, note = self.overrides[day]
            return None if is_workday else (note or DEFAULT_HOLIDAY_NAME)
        if day.year in self.loaded_years:
            return None
        return national_holiday_name(day)


async def holiday_calendar(session: AsyncSession, jurisdiction_id: int) -> HolidayCalendar:
    rows = await session.execute(
        select(CalendarOverride.day, CalendarOverride.is_workday, CalendarOverride.note).where(
            CalendarOverride.jurisdiction_id == jurisdiction_id
        )
    )
    years = await session.scalars(
        select(CalendarYear.year).where(CalendarYear.jurisdiction_id == jurisdiction_id)
    )
    return HolidayCalendar(
        overrides={day: (is_workday, note) for day, is_workday, note in rows}, loaded_years=frozenset(years)
    )
