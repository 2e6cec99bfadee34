"""China's working-day calendar and deadline arithmetic.

National data comes from the ``chinesecalendar`` package (2004 up to the last year it knows); a jurisdiction's
override table wins over it and covers the years the package does not know yet. A year whose official schedule the
jurisdiction loaded is decided by its overrides alone (unlisted days follow the week). Past the package's range,
with neither, plain Monday-to-Friday is assumed and the caller is told so through ``WorkCalendar.assumed_days``.
"""

from __future__ import annotations

import calendar as _stdcal
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import chinese_calendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
DURATION_UNITS = ("working_days", "days", "months", "hours", "seconds")


class InvalidDuration(ValueError):
    pass


@cache
def nationally_known(year: int) -> bool:
    """Whether the installed ``chinesecalendar`` has the official schedule of ``year``."""
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


@cache
def national_years() -> tuple[int, int]:
    """The first and last year ``chinesecalendar`` knows (it knows every year in between)."""
    known = [year for year in range(1990, 2101) if nationally_known(year)]
    return known[0], known[-1]


@dataclass
class WorkCalendar:
    overrides: Mapping[date, bool] = field(default_factory=dict)
    assumed_days: set[date] = field(default_factory=set)
    # Years whose official schedule (holidays and make-up working days) is among the overrides: a date they do
    # not list is an ordinary weekday or weekend, known rather than assumed.
    loaded_years: frozenset[int] = frozenset()

    def counting(self) -> WorkCalendar:
        """The same calendar with an empty ``assumed_days``, so one computation can tell if it assumed."""
        return WorkCalendar(self.overrides, set(), self.loaded_years)

    def is_workday(self, day: date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        if day.year in self.loaded_years:
            return day.weekday() < 5
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            self.assumed_days.add(day)
            return day.weekday() < 5

    def add_working_days(self, start: date, count: int) -> date:
        """The ``count``-th working day after ``start`` (``start`` itself never counts)."""
        day = start
        remaining = count
        # Bounded: even a year of holidays cannot hide more than 366 days.
        for _ in range(count * 7 + 400):
            if remaining <= 0:
                return day
            day += timedelta(days=1)
            if self.is_workday(day):
                remaining -= 1
        raise InvalidDuration("no working day found within the search bound")


def validate_duration(duration: Mapping[str, Any]) -> tuple[str, float]:
    """Checks a tier policy ({"working_days": 5} ...) and returns its single (unit, amount)."""
    if len(duration) != 1:
        raise InvalidDuration("a duration has exactly one unit")
    ((unit, amount),) = duration.items()
    if unit not in DURATION_UNITS:
        raise InvalidDuration(f"unknown unit {unit!r}")
    if isinstance(amount, bool) or not isinstance(amount, int | float) or amount <= 0:
        raise InvalidDuration("the amount must be a positive number")
    if unit in ("working_days", "days", "months") and int(amount) != amount:
        raise InvalidDuration(f"{unit} must be a whole number")
    return unit, float(amount)


def add_months(moment: datetime, months: int) -> datetime:
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, _stdcal.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def due_at(
    start: datetime, duration: Mapping[str, Any], work_calendar: WorkCalendar, tz: ZoneInfo = SHANGHAI
) -> datetime:
    """When something started at ``start`` with the given duration is due, as an aware UTC time.

    Working days keep the local clock time on the n-th following working day; days and months are calendar
    arithmetic in local time; hours and seconds are elapsed time.
    """
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    unit, amount = validate_duration(duration)
    local = start.astimezone(tz)
    if unit == "working_days":
        day = work_calendar.add_working_days(local.date(), int(amount))
        result = datetime.combine(day, local.timetz().replace(tzinfo=None), tzinfo=tz)
    elif unit == "days":
        result = datetime.combine(local.date() + timedelta(days=int(amount)), local.time(), tzinfo=tz)
    elif unit == "months":
        result = add_months(local, int(amount))
    elif unit == "hours":
        result = local + timedelta(hours=amount)
    else:
        result = local + timedelta(seconds=amount)
    return result.astimezone(ZoneInfo("UTC"))


def fraction_point(start: datetime, due: datetime, fraction: float) -> datetime:
    """The moment a given fraction of the allowed time has passed (due-soon warnings at 0.75)."""
    return start + (due - start) * fraction
