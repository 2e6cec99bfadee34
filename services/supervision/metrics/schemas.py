"""The shapes of metrics: a query, its rows (counts, rates, score and rank), settings and traced cases."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.db.models.metrics import METRIC_COUNTS

GroupBy = Literal[
    "department", "category", "top_category", "station", "deputy", "grid", "committee", "month", "week"
]
GROUP_BYS: tuple[str, ...] = (
    "department",
    "category",
    "top_category",
    "station",
    "deputy",
    "grid",
    "committee",
    "month",
    "week",
)
# The rates of a row, each null when its denominator is 0 (see rates.py for the definitions).
RATE_NAMES: tuple[str, ...] = (
    "dispatch_rate",
    "on_time_accept_rate",
    "decline_rate",
    "on_time_reply_rate",
    "closure_rate",
    "satisfaction_rate",
    "unrated_share",
    "rework_rate",
    "meeting_rate",
    "response_rate",
    "resolution_rate",
)
COUNT_NAMES: tuple[str, ...] = METRIC_COUNTS


@dataclass(frozen=True)
class MetricsQuery:
    """What to count: cases received on Beijing days ``from_``..``to`` (inclusive), grouped by one dimension,
    a month, an ISO week, or not at all (``group_by=None``: one total row), with optional filters."""

    group_by: str | None
    from_: dt.date
    to: dt.date
    kind: str | None = None
    department_id: int | None = None
    category_code: str | None = None
    station_id: int | None = None
    deputy_id: int | None = None
    grid_code: str | None = None
    committee_id: int | None = None


class MetricsRow(BaseModel):
    key: str = Field(
        description="The group: the id of a department, category, station, deputy, grid or committee ('0' "
        "for cases without one), a month ('2026-11'), an ISO week ('2026-W47'), or 'all'"
    )
    label: str = Field(description="Its Chinese name (未指定 for none; 全部 for the total)")
    code: str | None = Field(
        default=None, description="The category, grid, committee or department code (for filters)"
    )
    period_start: dt.date | None = Field(
        default=None, description="The first day of the month or the Monday of the week"
    )
    counts: dict[str, int] = Field(description="The counts behind every rate (see docs/metrics.md)")
    rates: dict[str, float | None] = Field(
        description="Fractions 0..1, null when the denominator is 0 (see docs/metrics.md)"
    )
    score: float | None = Field(
        default=None,
        description="The 12345 triple's weighted score, 0..100, over the parts that are defined",
    )
    rank: int | None = Field(
        default=None, description="group_by=department: rank by score (ties share a rank), if sampled"
    )
    rank_note: str | None = Field(default=None, description="样本不足 when the sample is below the setting")


class MetricsResult(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    group_by: str | None
    from_: dt.date = Field(serialization_alias="from")
    to: dt.date
    source: Literal["rollup", "facts"] = Field(
        description="rollup: read from the daily rollup; facts: counted from the raw rows"
    )
    rows: list[MetricsRow]
    total: MetricsRow = Field(description="The same filters, not grouped")


# --- settings ---------------------------------------------------------------------------------------------


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WeightsIn(_Input):
    response: int = Field(ge=0, le=100, description="响应率 (on-time accept) weight, percent")
    resolution: int = Field(ge=0, le=100, description="解决率 (A-class replies) weight, percent")
    satisfaction: int = Field(ge=0, le=100, description="满意率 weight, percent")


class WeightsOut(BaseModel):
    response: int
    resolution: int
    satisfaction: int


class MetricSettingsIn(_Input):
    ranking_min_sample: int | None = Field(
        default=None, ge=1, le=100000, description="Rank a department only with this many dispatched cases"
    )
    weights: WeightsIn | None = Field(default=None, description="All three, summing to 100")
    hotspot_min_cases: int | None = Field(default=None, ge=2, le=10000)
    hotspot_window_days: int | None = Field(default=None, ge=1, le=90)


class MetricSettingsOut(BaseModel):
    ranking_min_sample: int = Field(description="Departments with fewer dispatched cases show 样本不足")
    weights: WeightsOut = Field(description="The 12345 triple's weights in percent (sum 100)")
    hotspot_min_cases: int = Field(description="A hot spot: at least this many cases ...")
    hotspot_window_days: int = Field(description="... of one category in one grid within this many days")


# --- traced cases -----------------------------------------------------------------------------------------


class TracedDepartment(BaseModel):
    id: int
    name: str
    role: str = Field(description="lead, co or separate")
    status: str = Field(description="The assignment's status")


class TracedCase(BaseModel):
    id: int
    tracking_no: str
    status: str
    kind: str
    category_code: str | None
    category_name: str | None
    departments: list[TracedDepartment] = Field(
        description="Departments handling it (declined ones left out)"
    )
    received_at: dt.datetime
    dispatched_at: dt.datetime | None
    replied_at: dt.datetime | None
    closed_at: dt.datetime | None
    count: int = Field(description="Its share of the count: 1, or its number of assignments for those counts")
