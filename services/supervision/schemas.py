"""The data supervision takes in and hands out: calendar, tier policies, API keys, webhook deliveries, case
search."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from shared.db.enums import CaseStatus, Role
from shared.db.ids import MAX_ID

# The largest id a BIGINT column holds; larger numbers are refused before they reach the database.
# Dates and times outside these years are refused: deadline arithmetic and the database stay in range.
EARLIEST_YEAR, LATEST_YEAR = 1970, 2200


def _storable(value: str) -> str:
    # PostgreSQL text cannot hold NUL, and lone surrogates cannot be encoded as UTF-8.
    if "\x00" in value or any("\ud800" <= ch <= "\udfff" for ch in value):
        raise ValueError("含有无法保存的字符")
    return value


Text = Annotated[str, AfterValidator(_storable)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- calendar and tier policies ---------------------------------------------------------------------------


class DuePreview(BaseModel):
    due_at: dt.datetime = Field(description="When it would be due, in Asia/Shanghai time")
    tier: str
    from_: dt.datetime = Field(serialization_alias="from", description="The start, in Asia/Shanghai time")
    assumed: bool = Field(
        default=False,
        description="Counted over days the calendar does not cover yet: a case dispatched now would get a "
        "deadline recomputed when that year's official schedule is loaded",
    )
    assumed_days: list[dt.date] = Field(
        default_factory=list,
        description="Days the national calendar does not cover and no override decides: taken as Mon-Fri",
    )


class CalendarOverrideIn(_Input):
    date: dt.date
    is_workday: bool
    note: Text | None = Field(default=None, max_length=100)


class CalendarOverridesIn(_Input):
    items: list[CalendarOverrideIn] = Field(min_length=1, max_length=1000)

    @field_validator("items")
    @classmethod
    def _distinct_dates(cls, items: list[CalendarOverrideIn]) -> list[CalendarOverrideIn]:
        seen: set[dt.date] = set()
        for item in items:
            if item.date in seen:
                raise ValueError(f"日期 {item.date.isoformat()} 出现了多次")
            seen.add(item.date)
        return items


class CalendarOverrideOut(BaseModel):
    date: dt.date
    is_workday: bool
    note: str | None
    source: Literal["official", "local"] = Field(
        default="local",
        description="official: part of a loaded year's schedule (replaced when the year is loaded again); "
        "local: the jurisdiction's own edit (kept, and wins)",
    )


class CalendarOverrideList(BaseModel):
    items: list[CalendarOverrideOut]


class SlaPolicyIn(_Input):
    tier: Text = Field(min_length=1, max_length=32)
    duration: dict[Text, Any] | None = Field(
        description='e.g. {"working_days": 5}, {"days": 10}, {"months": 1}, {"hours": 24}, {"seconds": 30};'
        " null restores the default"
    )


class SlaPoliciesIn(_Input):
    items: list[SlaPolicyIn] = Field(min_length=1, max_length=100)

    @field_validator("items")
    @classmethod
    def _distinct_tiers(cls, items: list[SlaPolicyIn]) -> list[SlaPolicyIn]:
        tiers = [item.tier for item in items]
        for tier in tiers:
            if tiers.count(tier) > 1:
                raise ValueError(f"时限档次“{tier}”出现了多次")
        return items


class SlaPolicyOut(BaseModel):
    tier: str
    label: str
    duration: dict[str, Any]
    default_duration: dict[str, Any]
    is_default: bool


class SlaPolicyList(BaseModel):
    items: list[SlaPolicyOut]


# --- API keys ----------------------------------------------------------------------------------------------


class ApiKeyCreate(_Input):
    role: Role
    name: Text | None = Field(default=None, max_length=100)
    department_id: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="Required for role department"
    )
    deputy_id: int | None = Field(default=None, ge=1, le=MAX_ID, description="Required for role deputy")
    intake_code_id: int | None = Field(
        default=None,
        ge=1,
        le=MAX_ID,
        description="Role integrator only: the active intake code its Open311 requests are submitted through",
    )
    station_id: int | None = Field(
        default=None,
        ge=1,
        le=MAX_ID,
        description="Role integrator only, instead of intake_code_id: a station, whose own intake code takes "
        "its Open311 requests",
    )


class ApiKeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    role: str
    name: str | None
    prefix: str
    department_id: int | None
    deputy_id: int | None
    intake_code_id: int | None = None
    station_id: int | None = None
    created_at: dt.datetime
    revoked_at: dt.datetime | None = None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The whole key (mk_...), shown only in this answer")


# --- webhook deliveries (the endpoints' own schemas: services.supervision.webhooks.schemas) ----------------


class DeliveryOut(BaseModel):
    id: int
    event_type: str
    webhook_id: str = Field(description="The webhook-id header: the same for every retry")
    case_id: int | None
    status: str
    attempts: int
    next_attempt_at: dt.datetime
    last_attempt_at: dt.datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: dt.datetime | None
    created_at: dt.datetime


class OpsDeliveryOut(DeliveryOut):
    lane: Literal["internal", "integrator"] = Field(description="internal: to our own services, in batches")
    endpoint_id: int
    endpoint_name: str | None = Field(description="The internal subscription's name (routing, supervision)")


class BacklogOut(BaseModel):
    unfanned_events: int = Field(description="Committed events not yet turned into deliveries")
    oldest_unfanned_at: dt.datetime | None
    internal_pending: int
    integrator_pending: int
    oldest_internal_pending_at: dt.datetime | None
    oldest_integrator_pending_at: dt.datetime | None
    stuck_internal: int = Field(
        description="Internal deliveries pending longer than MINYI_INTERNAL_STUCK_SECONDS"
    )


# --- cases -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseFilters:
    tracking_no: str | None = None
    status: CaseStatus | None = None
    department_id: int | None = None
    category_code: str | None = None
    station_id: int | None = None
    deputy_id: int | None = None
    created_from: dt.datetime | None = None
    created_to: dt.datetime | None = None
    overdue: bool | None = None


class CaseSummary(BaseModel):
    id: int
    tracking_no: str
    status: str
    kind: str
    category_code: str | None
    urgency: str
    station_id: int | None
    deputy_id: int | None
    created_at: dt.datetime
    department_ids: list[int]
