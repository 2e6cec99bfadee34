"""What duty points take in and hand out: rules, ledger entries, adjustments, the ranking and the deputy's file."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from services.supervision.schemas import Text

# The years a ledger, a ranking or a file may be asked for.
FIRST_YEAR, LAST_YEAR = 2000, 2100
MAX_ADJUSTMENT = 100


def _not_blank(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("不能为空")
    return value


Line = Annotated[Text, AfterValidator(_not_blank)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- rules -------------------------------------------------------------------------------------------------


class DutyRuleOut(BaseModel):
    action: str = Field(
        description="reception, case_raised, suggestion_submitted, ... (no rule for adjustment)"
    )
    label: str = Field(description="The action's Chinese name")
    points: int = Field(description="Points the action earns now")
    default_points: int = Field(description="The points when the jurisdiction sets none")
    is_default: bool = Field(description="True when the jurisdiction has not set this action")
    updated_at: dt.datetime | None = Field(description="When the jurisdiction last set it")


class DutyRulesOut(BaseModel):
    items: list[DutyRuleOut]


# --- the ledger --------------------------------------------------------------------------------------------


class DeputyBrief(BaseModel):
    id: int
    name: str
    level: str
    level_label: str
    active: bool


class DutyEntryOut(BaseModel):
    id: int
    deputy_id: int
    action: str
    action_label: str
    points: int = Field(description="Points as the rule in force gave them when the entry was written")
    reason: str = Field(description="Why, in Chinese (e.g. 群众通过代表码反映问题 GS20261122-0042)")
    source: str = Field(
        description='What earned it: "case:<id>", "reception:<id>", "feedback:<id>", "follow_up:<id>" or '
        '"adjustment:<uuid>"; one entry per deputy, action and source'
    )
    case_id: int | None
    tracking_no: str | None
    reception_id: int | None
    occurred_at: dt.datetime = Field(description="When the action happened (the event's time)")
    created_by_type: str = Field(description="system (from an event) or admin (an adjustment)")
    created_at: dt.datetime


class ActionTotal(BaseModel):
    action: str
    label: str
    count: int = Field(description="Entries of this action in the year")
    points: int = Field(description="Their points")


class DutyPointsOut(BaseModel):
    deputy: DeputyBrief
    year: int
    total: int = Field(description="The year's points (Asia/Shanghai year)")
    actions: list[ActionTotal] = Field(description="Subtotals per action, every action listed")
    items: list[DutyEntryOut] = Field(description="The year's entries, newest written first")
    next_cursor: str | None = None


class AdjustmentIn(_Input):
    points: int = Field(
        ge=-MAX_ADJUSTMENT, le=MAX_ADJUSTMENT, description="Points to add (negative to take away), not 0"
    )
    reason: Line = Field(max_length=500, description="Why (required; shown in the deputy's ledger)")
    occurred_at: AwareDatetime | None = Field(
        default=None, description="The moment it counts for (its year); default now, never in the future"
    )

    @field_validator("points")
    @classmethod
    def _non_zero(cls, value: int) -> int:
        if value == 0:
            raise ValueError("调整积分不能为 0")
        return value

    @field_validator("occurred_at")
    @classmethod
    def _in_range(cls, value: dt.datetime | None) -> dt.datetime | None:
        if value is not None and not FIRST_YEAR <= value.year <= LAST_YEAR:
            raise ValueError(f"计入时间须在 {FIRST_YEAR} 至 {LAST_YEAR} 年之间")
        return value


# --- the ranking -------------------------------------------------------------------------------------------


class RankingRow(BaseModel):
    rank: int = Field(description="1 for the highest total; equal totals share a rank (1, 1, 3)")
    deputy_id: int
    name: str
    level: str
    level_label: str
    total: int
    actions: list[ActionTotal]


class RankingOut(BaseModel):
    year: int
    items: list[RankingRow] = Field(
        description="Every active deputy of the jurisdiction, highest total first"
    )


# --- the deputy's file (一人一档) ----------------------------------------------------------------------------


class ReceptionAttended(BaseModel):
    reception_id: int
    held_on: dt.date
    station_id: int
    station_name: str
    citizens_received: int
    answered_on_spot: int


class ReceptionsPart(BaseModel):
    count: int
    citizens_received: int = Field(description="Citizens received at the receptions the deputy attended")
    items: list[ReceptionAttended] = Field(description="Newest first")


class CodeCasesPart(BaseModel):
    """Citizens' cases that came in through the deputy's codes in the year (counts only: no personal data)."""

    total: int
    by_status: dict[str, int] = Field(description="Current state -> cases")
    replied: int = Field(description="Cases that have had a reply")
    closed: int
    rated: int = Field(description="Cases the citizen rated (the latest rating counts)")
    ratings: dict[str, int] = Field(description="satisfied / basically_satisfied / dissatisfied -> cases")
    unrated: int = Field(description="Closed without a rating (never counted as satisfied)")
    satisfaction_rate: float | None = Field(
        description="(satisfied + basically satisfied) / rated; null if none"
    )


class SuggestionLine(BaseModel):
    case_id: int
    tracking_no: str
    title: str | None
    role: str = Field(description="author (提出) or cosigner (联名)")
    status: str
    status_label: str
    created_at: dt.datetime
    replied_at: dt.datetime | None
    reply_classes: list[str] = Field(description="Reply classes of the latest round's replies (A/B/C/D)")
    rating: str | None = Field(description="The deputies' latest rating of a reply, if any")


class SuggestionsPart(BaseModel):
    authored: int
    cosigned: int
    by_status: dict[str, int]
    reply_classes: dict[str, int] = Field(description="A/B/C/D -> replies (latest round) to authored ones")
    ratings: dict[str, int] = Field(description="The deputy's ratings of replies to authored ones")
    items: list[SuggestionLine] = Field(description="Newest first")


class DeputyRecord(BaseModel):
    deputy: DeputyBrief
    year: int
    points: int = Field(description="The year's duty points")
    point_actions: list[ActionTotal]
    receptions: ReceptionsPart
    code_cases: CodeCasesPart
    suggestions: SuggestionsPart
