"""What the contact-day, roster and reception routes take in and hand out."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from services.intake.schemas import text
from shared.db.enums import ContactDayChangeKind, HolidayRule
from shared.db.ids import DbId

# Dates this far apart at most in one schedule, roster or listing (a year's plan, leap years included).
MAX_RANGE_DAYS = 366
# Dates the calendar arithmetic takes (date.max would overflow a postponement).
EARLIEST = date(2000, 1, 1)
LATEST = date(2100, 12, 31)
MAX_DEPUTIES_PER_DAY = 50
MAX_ROSTER_ENTRIES = 400
MAX_CASES_PER_RECEPTION = 200

_Note = Annotated[str | None, Field(max_length=200), text("备注", 200)]


def _in_bounds(value: date | None) -> date | None:
    if value is not None and not EARLIEST <= value <= LATEST:
        raise ValueError(f"日期应在 {EARLIEST} 至 {LATEST} 之间")
    return value


def _clock(value: time) -> time:
    if value.tzinfo is not None:
        raise ValueError("时间不带时区，按北京时间填写，例如 09:00")
    if value.second or value.microsecond:
        raise ValueError("时间精确到分钟，例如 09:00")
    return value


# A time of day in Beijing, to the minute: "09:00" (JSON Schema's "time" format would demand an offset).
ClockTime = Annotated[
    time,
    AfterValidator(_clock),
    PlainSerializer(lambda value: value.strftime("%H:%M"), return_type=str),
    WithJsonSchema(
        {"type": "string", "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9](:00)?$", "examples": ["09:00"]}
    ),
]


# Schedules ------------------------------------------------------------------------------------------------


class ScheduleIn(BaseModel):
    """The rule that gives contact days: the nth weekday of every month, its hours, and what a holiday does."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"nth": 2, "weekday": 6, "starts_at": "09:00", "ends_at": "11:30", "on_holiday": "postpone"}
            ]
        }
    )

    nth: Literal[1, 2, 3, 4, -1] = Field(description="Which one in the month: 1-4, or -1 for the last")
    weekday: int = Field(ge=0, le=6, description="0 Monday ... 6 Sunday")
    starts_at: ClockTime = Field(description="Reception starts (Beijing time), e.g. 09:00")
    ends_at: ClockTime = Field(description="Reception ends, after starts_at, e.g. 11:30")
    on_holiday: HolidayRule = Field(
        HolidayRule.postpone,
        description="A rule date on a statutory holiday: postpone (the same weekday a week later, again while "
        "still a holiday), skip (none that month) or keep",
    )

    @model_validator(mode="after")
    def _hours(self) -> ScheduleIn:
        if self.ends_at <= self.starts_at:
            raise ValueError("结束时间应晚于开始时间")
        return self


RuleSource = Literal["station", "jurisdiction", "default"]


class ScheduleOut(BaseModel):
    station_id: int | None = Field(description="The station whose own rule this is; null: the jurisdiction's")
    source: RuleSource = Field(
        description="Where the rule in force comes from: the station's own, the jurisdiction's, or the "
        "built-in default (2nd Sunday, 09:00-11:30, postponed on holidays)"
    )
    nth: int
    weekday: int
    starts_at: ClockTime
    ends_at: ClockTime
    on_holiday: str
    description: str = Field(
        description="The rule in words, e.g. 每月第二个星期日 09:00-11:30，遇法定节假日顺延一周"
    )
    updated_at: datetime | None = Field(
        description="When the row in force was last set; null for the default"
    )


# Added and cancelled dates ----------------------------------------------------------------------------------


class DayChangeIn(BaseModel):
    day: date = Field(description="The date added or cancelled")
    change: ContactDayChangeKind = Field(description="added or cancelled")
    note: _Note = Field(None, description="Why, e.g. 台风停止接待; shown with an added date")

    _check_day = field_validator("day")(_in_bounds)


class DayChangeOut(BaseModel):
    id: int
    station_id: int | None = Field(description="null: jurisdiction-wide (every station)")
    day: date
    change: str
    note: str | None
    created_at: datetime


class DayChangeList(BaseModel):
    items: list[DayChangeOut]


# The schedule -----------------------------------------------------------------------------------------------


class RosteredDeputy(BaseModel):
    id: int
    name: str
    level: str
    level_label: str


class ContactDayOut(BaseModel):
    day: date
    weekday_label: str = Field(description="星期日 …")
    starts_at: ClockTime
    ends_at: ClockTime
    reason: Literal["rule", "postponed", "added"] = Field(
        description="rule: the rule gives it; postponed: moved off a statutory holiday; added: added by hand"
    )
    postponed_from: date | None = Field(description="For a postponed day: the rule's date it replaces")
    holiday: str | None = Field(
        description="The statutory holiday the rule's date fell on (e.g. 国庆节): why it was postponed, or, "
        "with reason rule, the holiday it is kept on"
    )
    note: str | None = Field(description="An added date's note")
    reason_label: str = Field(description="The reason in words, e.g. 因国庆节顺延（原定10月4日）")
    deputies: list[RosteredDeputy] = Field(description="The deputies rostered to receive that day")


class StationScheduleOut(BaseModel):
    station_id: int
    rule: ScheduleOut
    items: list[ContactDayOut]


# The roster ------------------------------------------------------------------------------------------------


class RosterEntryIn(BaseModel):
    day: date
    deputy_ids: Annotated[list[DbId], Field(max_length=MAX_DEPUTIES_PER_DAY)] = Field(
        description="Deputies receiving that day (active, of the same jurisdiction); empty: nobody"
    )

    _check_day = field_validator("day")(_in_bounds)


class RosterIn(BaseModel):
    """The plan for [from, to]: replaces every roster entry of the station in that range."""

    model_config = ConfigDict(
        populate_by_name=True,
        json_schema_extra={
            "examples": [
                {
                    "from": "2027-01-01",
                    "to": "2027-12-31",
                    "entries": [{"day": "2027-01-10", "deputy_ids": [1, 2]}],
                }
            ]
        },
    )

    from_: date = Field(alias="from", description="First date the plan covers")
    to: date = Field(description="Last date it covers (at most 366 days after from)")
    entries: Annotated[list[RosterEntryIn], Field(max_length=MAX_ROSTER_ENTRIES)] = Field(
        description="One per date, each inside [from, to]"
    )

    _check_range = field_validator("from_", "to")(_in_bounds)

    @model_validator(mode="after")
    def _range(self) -> RosterIn:
        if self.to < self.from_:
            raise ValueError("结束日期不能早于开始日期")
        if (self.to - self.from_).days > MAX_RANGE_DAYS:
            raise ValueError(f"一次最多安排 {MAX_RANGE_DAYS} 天")
        return self


class RosterDay(BaseModel):
    day: date
    deputies: list[RosteredDeputy]


class RosterWarning(BaseModel):
    day: date
    message: str


class RosterOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    station_id: int
    from_: date = Field(alias="from")
    to: date
    entries: list[RosterDay]
    warnings: list[RosterWarning] = Field(
        description="Dates rostered that are not contact days of the station (kept: a plan may come before the "
        "day is added)"
    )


# Receptions ------------------------------------------------------------------------------------------------


class ReceptionIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "held_on": "2026-11-08",
                    "deputy_ids": [1],
                    "citizens_received": 12,
                    "answered_on_spot": 5,
                    "note": "主要反映老旧小区加装电梯、停车难等问题",
                }
            ]
        }
    )

    held_on: date = Field(description="The day of the reception (Beijing time); not in the future")
    deputy_ids: Annotated[list[DbId], Field(min_length=1, max_length=MAX_DEPUTIES_PER_DAY)] = Field(
        description="The deputies present (of the same jurisdiction); a deputy key must be among them"
    )
    citizens_received: int = Field(ge=0, le=100_000, description="Citizens received (接待群众人数)")
    answered_on_spot: int = Field(0, ge=0, le=100_000, description="Matters answered on the spot (当场答复)")
    case_ids: Annotated[list[DbId], Field(max_length=MAX_CASES_PER_RECEPTION)] = Field(
        default_factory=list,
        description="Further cases raised on the spot to link (of this jurisdiction); cases submitted through the "
        "station's codes that day are linked without being listed",
    )
    note: Annotated[str | None, Field(max_length=2000), text("备注", 2000)] = None

    _check_day = field_validator("held_on")(_in_bounds)


class ReceptionCase(BaseModel):
    id: int
    tracking_no: str


class RecordedBy(BaseModel):
    type: str = Field(description="The recording key's role: admin, supervisor or deputy")
    id: int | None = Field(description="The API key's id")


class ReceptionOut(BaseModel):
    id: int
    station_id: int
    station_name: str
    held_on: date
    deputies: list[RosteredDeputy]
    citizens_received: int
    answered_on_spot: int
    cases: list[ReceptionCase] = Field(
        description="Linked cases: that day's through the station, and those listed"
    )
    note: str | None
    recorded_by: RecordedBy
    created_at: datetime
