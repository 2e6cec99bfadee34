"""What key supervision (重点督办) takes in and hands out: key items, their three checks and the year's report."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from services.supervision.schemas import Text
from shared.db.ids import MAX_ID
from shared.db.models.key_items import KEY_ITEM_YEARS, KeyCheckRating, KeyCheckStage


def _not_blank(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("不能为空")
    return value


Line = Annotated[Text, AfterValidator(_not_blank)]
Year = Annotated[int, Field(ge=KEY_ITEM_YEARS[0], le=KEY_ITEM_YEARS[1], description="The supervision year")]
Outcome = Literal["kept", "missed", "open"]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- key items and checks ----------------------------------------------------------------------------------


class KeyCheckFields(_Input):
    checked_on: dt.date = Field(description="The day the check was done (within a year of the item's year)")
    findings: Line = Field(max_length=4000, description="What the check found")
    rating: KeyCheckRating | None = Field(
        default=None,
        description="good 好, fair 较好, average 一般, poor 差; required for the mid and end checks",
    )


class KeyCheckIn(KeyCheckFields):
    stage: KeyCheckStage = Field(
        description="start 年初确定, mid 年中督查, end 年终评估; recorded in this order, each once"
    )


class KeyItemIn(_Input):
    year: Year
    case_id: int = Field(ge=1, le=MAX_ID, description="A case or deputy suggestion of the jurisdiction")
    lead_supervisor: Line = Field(
        max_length=50, description="The congress leader who owns the item (领衔督办)"
    )
    goal: Line = Field(max_length=2000, description="What the item should achieve this year (督办目标)")
    committee_id: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="The following committee; default: the category's"
    )
    start_check: KeyCheckFields | None = Field(
        default=None, description="The start check (年初确定), when it is recorded as the item is chosen"
    )


class KeyItemUpdate(_Input):
    lead_supervisor: Line | None = Field(default=None, max_length=50)
    goal: Line | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _something(self) -> Self:
        if self.lead_supervisor is None and self.goal is None:
            raise ValueError("请至少修改领衔督办人或督办目标之一")
        return self


class KeyCheckOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    stage: str
    checked_on: dt.date
    findings: str
    rating: str | None
    created_at: dt.datetime


class KeyItemOut(BaseModel):
    id: int
    year: int
    case_id: int
    tracking_no: str
    case_status: str
    kind: str = Field(description="citizen (a citizen's case) or deputy_suggestion (代表建议)")
    lead_supervisor: str
    goal: str
    committee_id: int | None
    created_at: dt.datetime
    updated_at: dt.datetime
    checks: list[KeyCheckOut] = Field(description="The checks recorded so far, start, mid, end")


# --- the year's report -------------------------------------------------------------------------------------


class ReportDepartment(BaseModel):
    department_id: int
    name: str
    role: str = Field(description="lead, co or separate")
    status: str = Field(description="The assignment's status: pending, accepted, replied")


class ReportDeadline(BaseModel):
    department_id: int | None
    department_name: str | None
    round: int = Field(description="0, or the rework round the reply was due in")
    due_at: dt.datetime
    met_at: dt.datetime | None
    outcome: Outcome = Field(
        description="kept: met by its due time; missed: met late, or still open past due; open: not due yet"
    )


class ReportReply(BaseModel):
    department_id: int
    department_name: str
    round: int
    reply_class: str
    created_at: dt.datetime


class ReportFeedback(BaseModel):
    source: str = Field(description="citizen or deputy")
    rating: str
    round: int
    created_at: dt.datetime


class ReportItem(BaseModel):
    id: int
    case_id: int
    tracking_no: str
    title: str | None
    excerpt: str = Field(description="The start of the description")
    category_code: str | None
    category_name: str | None
    kind: str
    status: str
    lead_supervisor: str
    goal: str
    committee_name: str | None
    departments: list[ReportDepartment] = Field(description="The departments handling the case now")
    reply_deadlines: list[ReportDeadline] = Field(description="The reply deadlines in force, by round")
    deadlines_kept: int
    deadlines_missed: int
    deadlines_open: int
    replies: list[ReportReply]
    feedback: list[ReportFeedback]
    latest_rating: str | None = Field(description="The rating of the latest rated round, the deputy's first")
    checks: list[KeyCheckOut]


class ReportSummary(BaseModel):
    items: int
    by_status: dict[str, int] = Field(description="Items by their case's status")
    by_kind: dict[str, int]
    deadlines_kept: int
    deadlines_missed: int
    deadlines_open: int
    ratings: dict[str, int] = Field(description="Items by latest rating; unrated ones under 'unrated'")
    checks_recorded: dict[str, int] = Field(description="How many items have each check recorded")
    check_ratings: dict[str, dict[str, int]] = Field(description="Per stage, the checks by grade")


class KeyReport(BaseModel):
    year: int
    generated_at: dt.datetime
    summary: ReportSummary
    items: list[ReportItem]
