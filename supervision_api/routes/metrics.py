"""Metrics (DOMAIN.md): the rows of counts and rates, their CSV and Excel exports, the cases behind a count,
the jurisdiction's metric settings and the rollup's rebuild. Supervisors and admins see the jurisdiction; a
department key sees only its own department."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal, get_args

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field

from services.supervision.metrics import rollup, settings, traces
from services.supervision.metrics.exports import metrics_csv, metrics_download_name, metrics_xlsx
from services.supervision.metrics.query import MetricsQuery, MetricsResult, metrics, scoped_to
from services.supervision.metrics.schemas import MetricSettingsIn, MetricSettingsOut, TracedCase
from shared.db.enums import CaseKind, Role
from shared.db.ids import MAX_ID
from shared.db.models.metrics import METRIC_COUNTS
from shared.security.apikeys import Principal
from shared.web.auth import require_roles
from shared.web.pagination import Page
from supervision_api.deps import Admin, Pagination, Session, Staff

router = APIRouter(tags=["metrics"])

Reader = Annotated[Principal, Depends(require_roles(Role.supervisor, Role.admin, Role.department))]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
OptionalId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
GroupBy = Literal[
    "department",
    "category",
    "top_category",
    "station",
    "deputy",
    "grid",
    "committee",
    "month",
    "week",
    "none",
]
Source = Literal["auto", "facts"]


def _metrics_query(
    from_: Annotated[date, Query(alias="from", description="First Beijing day of receipt (inclusive)")],
    to: Annotated[date, Query(description="Last Beijing day of receipt (inclusive)")],
    group_by: Annotated[
        GroupBy | None, Query(description="category = the sub-category; none (default) = one total row")
    ] = None,
    kind: CaseKind | None = None,
    department_id: OptionalId = None,
    category_code: Annotated[
        str | None,
        Query(
            max_length=64, pattern=PRINTABLE, description="A top-level code also matches its subcategories"
        ),
    ] = None,
    station_id: OptionalId = None,
    deputy_id: OptionalId = None,
    grid_code: Annotated[str | None, Query(max_length=32, pattern=PRINTABLE)] = None,
    committee_id: OptionalId = None,
) -> MetricsQuery:
    return MetricsQuery(
        group_by=group_by,
        from_=from_,
        to=to,
        kind=kind.value if kind else None,
        department_id=department_id,
        category_code=category_code,
        station_id=station_id,
        deputy_id=deputy_id,
        grid_code=grid_code,
        committee_id=committee_id,
    )


QueryParams = Annotated[MetricsQuery, Depends(_metrics_query)]
SourceParam = Annotated[
    Source,
    Query(description="facts: count from the raw rows even when the daily rollup could answer (slower)"),
]


def _own(principal: Principal, query: MetricsQuery) -> MetricsQuery:
    return scoped_to(query, principal.department_id if principal.role == Role.department else None)


async def _result(
    principal: Principal, session: Session, query: MetricsQuery, source: Source
) -> MetricsResult:
    return await metrics(session, principal.jurisdiction_id, _own(principal, query), source=source)


@router.get(
    "/v1/metrics",
    summary="Counts and rates (DOMAIN.md) per department, category, station, deputy, grid, committee, month or week",
    description="Cases received on the Beijing days from..to. Each row: the counts behind every rate and the "
    "rates (null when the denominator is 0); group_by=department adds the 12345 score's rank where the sample "
    "(dispatched cases) reaches the jurisdiction's ranking_min_sample, else rank_note 样本不足. `total` has the "
    "same filters, ungrouped. A department key sees only its own department (another department_id: 404). "
    "See docs/metrics.md for every definition.",
)
async def get_metrics(
    principal: Reader, session: Session, query: QueryParams, source: SourceParam = "auto"
) -> MetricsResult:
    return await _result(principal, session, query, source)


@router.get(
    "/v1/metrics.csv",
    summary="The same view as CSV (UTF-8 with BOM, Chinese headers, a 合计 line)",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
async def get_metrics_csv(
    principal: Reader, session: Session, query: QueryParams, source: SourceParam = "auto"
) -> Response:
    result = await _result(principal, session, query, source)
    return Response(
        content=metrics_csv(result),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": metrics_download_name(result, "csv"), "Cache-Control": "no-store"},
    )


@router.get(
    "/v1/metrics.xlsx",
    summary="The same view as an Excel workbook",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}}},
)
async def get_metrics_xlsx(
    principal: Reader, session: Session, query: QueryParams, source: SourceParam = "auto"
) -> Response:
    result = await _result(principal, session, query, source)
    return Response(
        content=metrics_xlsx(result),
        media_type=XLSX,
        headers={"Content-Disposition": metrics_download_name(result, "xlsx"), "Cache-Control": "no-store"},
    )


MetricName = Literal[
    "received",
    "excluded",
    "dispatched",
    "replied",
    "reply_due",
    "replied_on_time",
    "closed",
    "rated",
    "satisfied",
    "basically_satisfied",
    "unrated",
    "reworked",
    "resolved",
    "suggestions_replied",
    "met",
    "assignments",
    "accepted_on_time",
    "declined",
]
# The route's enumeration (for the OpenAPI document) is the rollup's counts, no more and no less.
assert set(get_args(MetricName)) == set(METRIC_COUNTS)


@router.get(
    "/v1/metrics/cases",
    summary="The cases behind one count, newest first",
    description="The same parameters as GET /v1/metrics, the count's name in `metric`, and the row in `key` "
    "(its `key` in that view: an id, 0 for 未指定, a month 2026-11 or a week 2026-W47); without `key`, the "
    "total's cases. Counted from the same facts as the metrics, so the `count` of the items adds up to the "
    "number shown.",
)
async def get_metric_cases(
    principal: Reader,
    session: Session,
    query: QueryParams,
    page: Pagination,
    metric: Annotated[MetricName, Query(description="One of the counts of a metrics row")],
    key: Annotated[str | None, Query(max_length=32, pattern=PRINTABLE)] = None,
) -> Page[TracedCase]:
    rows = await traces.traced_cases(
        session,
        principal.jurisdiction_id,
        _own(principal, query),
        metric,
        key=key,
        limit=page.limit,
        before_id=page.after_id,
    )
    return page.page_of(rows)


@router.get("/v1/metric-settings", summary="The jurisdiction's metric settings")
async def get_metric_settings(principal: Staff, session: Session) -> MetricSettingsOut:
    return await settings.get_metric_settings(session, principal.jurisdiction_id)


@router.put(
    "/v1/metric-settings",
    summary="Set metric settings (omitted fields keep their value)",
    description="`weights` gives all three parts, summing to 100 (422 otherwise).",
)
async def put_metric_settings(
    principal: Admin, session: Session, body: MetricSettingsIn
) -> MetricSettingsOut:
    return await settings.put_metric_settings(session, principal.jurisdiction_id, body)


class RebuildOut(BaseModel):
    days: int = Field(description="Days marked for the worker to recompute (about 5 seconds apart)")


@router.post(
    "/v1/metrics/rebuild",
    status_code=202,
    summary="Have the worker recompute the whole rollup of the jurisdiction",
    description="For an existing database, or after a taxonomy change (a category's committee or parent) that "
    "no case event reports. Answers at once; the worker recomputes the marked days.",
)
async def rebuild(principal: Admin, session: Session) -> RebuildOut:
    return RebuildOut(days=await rollup.mark_all(session, principal.jurisdiction_id))
