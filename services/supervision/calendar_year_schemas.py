"""What the calendar-year endpoints take and give: a year's official schedule and which years are covered."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.supervision.calendar_schedule import MAX_NAME
from services.supervision.schemas import CalendarOverrideOut, Text

YearStatus = Literal["national", "loaded", "assumed"]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ScheduleDayIn(_Input):
    date: dt.date
    kind: Literal["holiday", "workday"] = Field(
        description="holiday: a day off (放假, weekends inside a holiday included); workday: a make-up working "
        "Saturday or Sunday (调休上班)"
    )
    name: Text | None = Field(
        default=None, max_length=MAX_NAME, description="e.g. 元旦; stored as the date's note"
    )


class CalendarYearIn(_Input):
    """A year's official schedule; dates it does not list follow the week (Mon-Fri work, Sat-Sun rest)."""

    source: Text | None = Field(
        default=None, max_length=200, description="Where the dates come from, e.g. 国办发明电〔2026〕7号"
    )
    days: list[ScheduleDayIn] = Field(min_length=1, max_length=366)


class CalendarYearOut(BaseModel):
    year: int
    status: YearStatus = Field(
        description="national: the built-in national data knows the year; loaded: the jurisdiction loaded "
        "its official schedule (which then decides); assumed: neither, Mon-Fri is assumed"
    )
    source: str | None = None
    loaded_at: dt.datetime | None = None
    loaded_by: str | None = None
    holidays: int = Field(default=0, description="Official days off loaded for the year")
    workdays: int = Field(default=0, description="Official make-up working days loaded for the year")


class CalendarYearList(BaseModel):
    items: list[CalendarYearOut] = Field(
        description="The years the jurisdiction loaded, and this year and the next whatever their status"
    )
    national_years: tuple[int, int] = Field(
        description="First and last year the built-in national data knows"
    )
    assumed_deadlines: int = Field(description="Open deadlines counted over assumed days")


class CalendarYearLoaded(BaseModel):
    year: CalendarYearOut
    local_overrides_kept: list[CalendarOverrideOut] = Field(
        description="The jurisdiction's own overrides on dates the schedule lists differently; they still win"
    )
    deadlines_recomputed: int = Field(
        description="Open deadlines counted again: the assumed ones and the co-handlers' opinions that follow them"
    )
    deadlines_changed: int = Field(
        description="Of those, how many got a new due time (case.deadline_changed)"
    )
    deadlines_still_assumed: int = Field(description="Still counted over a year not covered yet")
