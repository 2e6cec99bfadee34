"""The dashboard page's data, assembled for the template: its filters as plain links, the rate panels from
services.supervision.metrics drawn as charts, and the list panels from panels.py.

Supervisors and admins see the jurisdiction. A department key sees its own dashboard: metrics with its
department forced, its own reply deadlines and key items, and nothing of other departments (no difficult cases
or hot spots, which are the jurisdiction's business).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode

from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.supervision.dashboard import panels
from services.supervision.dashboard.charts import (
    Bar,
    Series,
    Step,
    bar_chart,
    funnel_chart,
    line_chart,
    percent,
    rate_text,
)
from services.supervision.dashboard.errors import FilterInvalid
from services.supervision.metrics.query import MetricsQuery, MetricsRow, metrics
from shared.calendar import SHANGHAI
from shared.db.enums import Role
from shared.db.models import Department, Jurisdiction
from shared.security.apikeys import Principal

PATH = "/dashboard"
PERIODS: dict[str, str] = {"month": "本月", "3m": "近三个月", "year": "今年", "lastyear": "去年"}
DEFAULT_PERIOD = "3m"
MAX_FILTER_CHARS = 64


@dataclass(frozen=True)
class Filters:
    period: str = DEFAULT_PERIOD
    category: str | None = None  # a top-level category's code
    grid: str | None = None  # a grid's code

    def href(self, **changes: str | None) -> str:
        """This page with some filters changed (None: dropped); defaults are left out of the address."""
        values = {"period": self.period, "category": self.category, "grid": self.grid, **changes}
        query = {
            name: value
            for name, value in values.items()
            if value is not None and not (name == "period" and value == DEFAULT_PERIOD)
        }
        return f"{PATH}?{urlencode(query)}" if query else PATH


def parse_filters(params: Mapping[str, str]) -> Filters:
    """The page's query string; an unknown period is a 422 (categories and grids are checked in build)."""
    period = params.get("period") or DEFAULT_PERIOD
    if period not in PERIODS:
        raise FilterInvalid("period", "未知的统计期间，可选：本月、近三个月、今年、去年")
    category = params.get("category") or None
    grid = params.get("grid") or None
    for name, value in (("category", category), ("grid", grid)):
        if value is not None and len(value) > MAX_FILTER_CHARS:
            raise FilterInvalid(name, "筛选条件过长")
    return Filters(period=period, category=category, grid=grid)


def period_range(period: str, today: date) -> tuple[date, date]:
    """The Beijing days a period covers, up to today; 近三个月 is this month and the two before it."""
    if period == "month":
        return today.replace(day=1), today
    if period == "3m":
        month = today.month - 2
        year = today.year + (month - 1) // 12
        month = (month - 1) % 12 + 1
        return date(year, month, 1), today
    if period == "year":
        return date(today.year, 1, 1), today
    return date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)


def mondays(first: date, last: date) -> list[date]:
    start = first - timedelta(days=first.weekday())
    return [start + timedelta(weeks=n) for n in range((last - start).days // 7 + 1)]


@dataclass(frozen=True)
class Link:
    label: str
    href: str
    current: bool


@dataclass(frozen=True)
class FilterGroup:
    title: str
    links: list[Link]


@dataclass(frozen=True)
class RateRow:
    department: str
    rate: str
    sample: int
    rank: str


@dataclass(frozen=True)
class WeekRow:
    week: str
    received: int
    replied: int
    closed: int


@dataclass(frozen=True)
class ShareRow:
    label: str
    count: int
    share: str


@dataclass
class DashboardView:
    title: str
    scope_label: str
    department_view: bool
    period_label: str
    first_day: date
    last_day: date
    filters: list[FilterGroup]
    rates_chart: Markup
    rate_rows: list[RateRow]
    weekly_chart: Markup
    week_rows: list[WeekRow]
    funnel_chart: Markup
    funnel_rows: list[ShareRow]
    satisfaction_chart: Markup
    satisfaction_rows: list[ShareRow]
    satisfaction_rate: str
    overdue: panels.Overdue
    key_items: list[panels.KeyItemRow]
    key_year: int
    difficult: panels.Difficult | None
    hotspots: list[panels.HotspotRow] | None
    calendar_missing: list[int]
    generated_at: datetime


def _filter_groups(
    filters: Filters, categories: list[tuple[str, str]], grids: list[tuple[str, str, int]]
) -> list[FilterGroup]:
    def group(
        title: str, name: str, options: list[tuple[str | None, str]], current: str | None
    ) -> FilterGroup:
        return FilterGroup(
            title,
            [Link(label, filters.href(**{name: value}), value == current) for value, label in options],
        )

    return [
        group("统计期间", "period", list(PERIODS.items()), filters.period),
        group("问题分类", "category", [(None, "全部"), *categories], filters.category),
        group("网格", "grid", [(None, "全部"), *((code, name) for code, name, _ in grids)], filters.grid),
    ]


def _rates(rows: list[MetricsRow], department_id: int | None) -> tuple[Markup, list[RateRow]]:
    """On-time reply rate per department, the best first and the unranked (样本不足) last; a department key
    only ever gets its own row."""
    mine = [
        row for row in rows if row.key != "0" and (department_id is None or row.key == str(department_id))
    ]
    mine.sort(
        key=lambda r: (
            r.rank_note is not None,
            -(r.rates.get("on_time_reply_rate") or 0.0),
            r.label,
        )
    )
    bars: list[Bar] = []
    table: list[RateRow] = []
    for row in mine:
        rate = row.rates.get("on_time_reply_rate")
        sample = row.counts.get("reply_due", 0)
        if row.rank_note:
            bars.append(Bar(row.label, None, f"{row.rank_note}（应答复 {sample} 件）"))
        elif rate is None:
            bars.append(Bar(row.label, None, "尚无到期事项"))
        else:
            bars.append(Bar(row.label, rate, f"{rate_text(rate)}（应答复 {sample} 件）"))
        rank = row.rank_note or (str(row.rank) if row.rank is not None else "—")
        table.append(RateRow(department=row.label, rate=rate_text(rate), sample=sample, rank=rank))
    chart = bar_chart("chart-rates", "各承办单位按期答复率", bars, scale=1.0)
    return chart, table


def _weekly(rows: list[MetricsRow], first: date, last: date) -> tuple[Markup, list[WeekRow]]:
    by_week = {row.period_start: row for row in rows if row.period_start is not None}
    weeks = mondays(first, last)
    table = [
        WeekRow(
            week=f"{monday:%m/%d}",
            received=(by_week[monday].counts.get("received", 0) if monday in by_week else 0),
            replied=(by_week[monday].counts.get("replied", 0) if monday in by_week else 0),
            closed=(by_week[monday].counts.get("closed", 0) if monday in by_week else 0),
        )
        for monday in weeks
    ]
    chart = line_chart(
        "chart-weekly",
        "每周受理、答复、办结件数（按受理周统计）",
        [row.week for row in table],
        [
            Series("受理", [row.received for row in table]),
            Series("答复", [row.replied for row in table]),
            Series("办结", [row.closed for row in table]),
        ],
    )
    return chart, table


def _funnel(total: MetricsRow) -> tuple[Markup, list[ShareRow]]:
    counts = total.counts
    steps = [
        Step("受理", counts.get("received", 0)),
        Step("交办", counts.get("dispatched", 0)),
        Step("答复", counts.get("replied", 0)),
        Step("办结", counts.get("closed", 0)),
    ]
    rows = [
        ShareRow(step.label, step.count, "—" if i == 0 else percent(step.count, steps[i - 1].count))
        for i, step in enumerate(steps)
    ]
    return funnel_chart("chart-funnel", "办理进度漏斗：受理→交办→答复→办结", steps), rows


def _satisfaction(total: MetricsRow) -> tuple[Markup, list[ShareRow], str]:
    counts = total.counts
    satisfied = counts.get("satisfied", 0)
    basically = counts.get("basically_satisfied", 0)
    dissatisfied = max(0, counts.get("rated", 0) - satisfied)
    unrated = counts.get("unrated", 0)
    parts = [
        ("满意", satisfied - basically),
        ("基本满意", basically),
        ("不满意", dissatisfied),
        ("未评价（已办结）", unrated),
    ]
    whole = sum(count for _, count in parts)
    rows = [ShareRow(label, count, percent(count, whole)) for label, count in parts]
    bars = [Bar(row.label, float(row.count), f"{row.count} 件（{row.share}）") for row in rows]
    chart = bar_chart("chart-satisfaction", "满意度评价分布", bars, scale=float(whole) if whole else None)
    return chart, rows, rate_text(total.rates.get("satisfaction_rate"))


async def build(
    session: AsyncSession, principal: Principal, filters: Filters, *, now: datetime | None = None
) -> DashboardView:
    """Everything the page shows, for the caller's scope and the page's filters."""
    now = now or datetime.now(UTC)
    today = now.astimezone(SHANGHAI).date()
    jid = principal.jurisdiction_id
    department_id = principal.department_id if principal.role == Role.department else None
    categories = await panels.top_categories(session, jid)
    grids = await panels.grids(session, jid)
    category_ids = None
    if filters.category is not None:
        category_ids = await panels.category_family(session, jid, filters.category)
        if category_ids is None:
            raise FilterInvalid("category", "未找到该问题分类")
    grid_id = None
    if filters.grid is not None:
        grid_id = next((gid for code, _, gid in grids if code == filters.grid), None)
        if grid_id is None:
            raise FilterInvalid("grid", "未找到该网格")
    scope = panels.Scope(jid, department_id=department_id, category_ids=category_ids, grid_id=grid_id)
    first, last = period_range(filters.period, today)

    def query(group_by: str | None) -> MetricsQuery:
        return MetricsQuery(
            group_by=group_by,
            from_=first,
            to=last,
            department_id=department_id,
            category_code=filters.category,
            grid_code=filters.grid,
        )

    by_department = await metrics(session, jid, query("department"))
    by_week = await metrics(session, jid, query("week"))
    rates_chart, rate_rows = _rates(by_department.rows, department_id)
    weekly_chart, week_rows = _weekly(by_week.rows, first, last)
    funnel, funnel_rows = _funnel(by_week.total)
    satisfaction, satisfaction_rows, satisfaction_rate = _satisfaction(by_week.total)

    jurisdiction = await session.scalar(select(Jurisdiction.name).where(Jurisdiction.id == jid)) or ""
    if department_id is not None:
        department = await session.scalar(select(Department.name).where(Department.id == department_id))
        title, scope_label = f"{department or ''} 办理看板", f"{jurisdiction} · 本单位承办事项"
    else:
        title, scope_label = f"{jurisdiction} 督办看板", f"{jurisdiction} · 全辖区"
    staff = department_id is None
    return DashboardView(
        title=title,
        scope_label=scope_label,
        department_view=not staff,
        period_label=PERIODS[filters.period],
        first_day=first,
        last_day=last,
        filters=_filter_groups(filters, categories, grids),
        rates_chart=rates_chart,
        rate_rows=rate_rows,
        weekly_chart=weekly_chart,
        week_rows=week_rows,
        funnel_chart=funnel,
        funnel_rows=funnel_rows,
        satisfaction_chart=satisfaction,
        satisfaction_rows=satisfaction_rows,
        satisfaction_rate=satisfaction_rate,
        overdue=await panels.overdue_replies(session, scope, now),
        key_items=await panels.key_items(session, scope, today.year),
        key_year=today.year,
        difficult=await panels.difficult_cases(session, scope) if staff else None,
        hotspots=await panels.open_hotspots(session, scope) if staff else None,
        calendar_missing=await panels.calendar_missing(session, jid, today) if staff else [],
        generated_at=now,
    )
