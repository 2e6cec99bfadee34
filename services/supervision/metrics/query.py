"""The metrics query other modules build on (the routes, the exports, the dashboard): ``metrics(session,
jurisdiction_id, MetricsQuery(...))``. Reads the daily rollup when at most one dimension is involved (the
group and the filters together; kind and the period are always in the rollup), or a pair it holds (a
department with a top-level category or a grid), else counts the facts of the
filtered cases directly; both give the same numbers."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.supervision.errors import FieldInvalid
from services.supervision.metrics.errors import DepartmentOutOfScope, UnknownFilter
from services.supervision.metrics.facts import (
    DIM_COLUMNS,
    FactScope,
    day_range,
    fact_ctes,
    sums,
    without_jit,
)
from services.supervision.metrics.labels import (
    period_key,
    period_label,
    period_start,
    periods,
    resolve_labels,
)
from services.supervision.metrics.rates import Weights, rank, rates, score
from services.supervision.metrics.schemas import GROUP_BYS, MetricsQuery, MetricsResult, MetricsRow
from services.supervision.metrics.settings import get_metric_settings, weights_of
from shared.db.enums import CaseKind
from shared.db.models import Category, Committee, Department, Deputy, Grid, Station
from shared.db.models.metrics import METRIC_COUNTS

__all__ = ["MetricsQuery", "MetricsResult", "MetricsRow", "Resolved", "metrics", "resolve", "scoped_to"]

Source = Literal["auto", "facts"]
DIMENSIONS = ("department", "category", "top_category", "station", "deputy", "grid", "committee")
EARLIEST, LATEST = date(2000, 1, 1), date(2100, 12, 31)
MAX_DAYS = 5 * 366
TOTAL_LABEL = "全部"


@dataclasses.dataclass(frozen=True)
class Resolved:
    """A query with its codes turned into keys: ``filters`` maps a dimension to the key it must have."""

    group_by: str | None
    first: date
    last: date
    kind: str | None
    filters: dict[str, int]

    @property
    def dims(self) -> set[str]:
        dims = set(self.filters)
        if self.group_by in DIMENSIONS:
            dims.add(self.group_by)
        return dims

    def scope(self, jurisdiction_id: int, now: datetime) -> FactScope:
        start, end = day_range(self.first, self.last)
        return FactScope(jurisdiction_id, start, end, now, kind=self.kind, filters=dict(self.filters))


def scoped_to(query: MetricsQuery, department_id: int | None) -> MetricsQuery:
    """A department key's query: its own department, whatever it asked (another department: 404)."""
    if department_id is None:
        return query
    if query.department_id not in (None, department_id):
        raise DepartmentOutOfScope()
    return dataclasses.replace(query, department_id=department_id)


async def _exists(session: AsyncSession, model: Any, jurisdiction_id: int, key: int) -> bool:
    found = await session.scalar(
        select(model.id).where(model.id == key, model.jurisdiction_id == jurisdiction_id)
    )
    return found is not None


async def resolve(session: AsyncSession, jurisdiction_id: int, query: MetricsQuery) -> Resolved:
    """Checks the query (422 in Chinese) and looks its codes up in the jurisdiction."""
    group_by = None if query.group_by in (None, "", "none") else query.group_by
    if group_by is not None and group_by not in GROUP_BYS:
        raise FieldInvalid("group_by", "分组方式须为 " + "、".join((*GROUP_BYS, "none")) + " 之一")
    for field, day in (("from", query.from_), ("to", query.to)):
        if not EARLIEST <= day <= LATEST:
            raise FieldInvalid(field, f"日期须在 {EARLIEST.year} 至 {LATEST.year} 年之间")
    if query.from_ > query.to:
        raise FieldInvalid("from", "开始日期不能晚于结束日期")
    if (query.to - query.from_).days >= MAX_DAYS:
        raise FieldInvalid("to", "统计区间不能超过 5 年")
    if query.kind is not None and query.kind not in tuple(CaseKind):
        raise FieldInvalid("kind", "类别须为 citizen 或 deputy_suggestion")
    filters: dict[str, int] = {}
    for field, model, dim, what in (
        ("department_id", Department, "department", "承办单位"),
        ("station_id", Station, "station", "联络站"),
        ("deputy_id", Deputy, "deputy", "代表"),
        ("committee_id", Committee, "committee", "对口委办"),
    ):
        key = getattr(query, field)
        if key is not None:
            if not await _exists(session, model, jurisdiction_id, key):
                raise UnknownFilter(field, what)
            filters[dim] = key
    if query.category_code:
        category = (
            await session.execute(
                select(Category.id, Category.parent_id).where(
                    Category.jurisdiction_id == jurisdiction_id, Category.code == query.category_code
                )
            )
        ).first()
        if category is None:
            raise UnknownFilter("category_code", "问题分类")
        filters["top_category" if category.parent_id is None else "category"] = category.id
    if query.grid_code:
        grid_id = await session.scalar(
            select(Grid.id).where(Grid.jurisdiction_id == jurisdiction_id, Grid.code == query.grid_code)
        )
        if grid_id is None:
            raise UnknownFilter("grid_code", "网格")
        filters["grid"] = grid_id
    return Resolved(group_by, query.from_, query.to, query.kind, filters)


def _group_expression(group_by: str | None, dim_column: str | None) -> str:
    if group_by == "month":
        return "date_trunc('month', day)::date"
    if group_by == "week":
        return "date_trunc('week', day)::date"
    if group_by is None:
        return "0"
    return dim_column or DIM_COLUMNS[group_by]


# Two dimensions the rollup holds together (metric_days' pair dims): the department, and key2's dimension.
PAIRS: dict[frozenset[str], tuple[str, str]] = {
    frozenset({"department", "top_category"}): ("department_top_category", "top_category"),
    frozenset({"department", "grid"}): ("department_grid", "grid"),
}


def uses_rollup(resolved: Resolved, source: Source = "auto") -> bool:
    return source == "auto" and (len(resolved.dims) <= 1 or frozenset(resolved.dims) in PAIRS)


async def _rollup_counts(
    session: AsyncSession, jurisdiction_id: int, resolved: Resolved
) -> dict[Any, dict[str, int]]:
    pair = PAIRS.get(frozenset(resolved.dims)) if len(resolved.dims) == 2 else None
    dim = pair[0] if pair else next(iter(resolved.dims), "all")
    params: dict[str, Any] = {
        "j": jurisdiction_id,
        "dim": dim,
        "first": resolved.first,
        "last": resolved.last,
    }
    where = ["jurisdiction_id = :j", "dim = :dim", "day >= :first", "day <= :last"]
    if resolved.kind is not None:
        where.append("kind = :kind")
        params["kind"] = resolved.kind
    # A pair row's key is the department, key2 the other dimension's value.
    first_dim, second_dim = ("department", pair[1]) if pair else (dim, None)
    if first_dim in resolved.filters:
        where.append("key = :key")
        params["key"] = resolved.filters[first_dim]
    if second_dim is not None and second_dim in resolved.filters:
        where.append("key2 = :key2")
        params["key2"] = resolved.filters[second_dim]
    key_column = "key2" if second_dim is not None and resolved.group_by == second_dim else "key"
    group = _group_expression(resolved.group_by, key_column)
    # Constant SQL fragments only; values are bound parameters.
    sql = f"SELECT {group} AS grp, {sums()} FROM metric_days WHERE {' AND '.join(where)} GROUP BY grp"  # noqa: S608
    return _by_group(await session.execute(text(sql), params))


async def _fact_counts(
    session: AsyncSession, jurisdiction_id: int, resolved: Resolved, now: datetime
) -> dict[Any, dict[str, int]]:
    mode: Literal["case", "department"] = "department" if "department" in resolved.dims else "case"
    params: dict[str, Any] = {}
    ctes = fact_ctes(resolved.scope(jurisdiction_id, now), (mode,), params)
    group = _group_expression(resolved.group_by, None)
    await without_jit(session)
    sql = f"{ctes}\nSELECT {group} AS grp, {sums()} FROM {mode}_rows GROUP BY grp"
    return _by_group(await session.execute(text(sql), params))


def _by_group(result: Any) -> dict[Any, dict[str, int]]:
    return {row.grp: {name: int(getattr(row, name) or 0) for name in METRIC_COUNTS} for row in result}


async def counts(
    session: AsyncSession,
    jurisdiction_id: int,
    resolved: Resolved,
    *,
    source: Source = "auto",
    now: datetime | None = None,
) -> dict[Any, dict[str, int]]:
    """The counts per group of ``resolved.group_by`` (a dimension key, the first day of a month or week, or 0
    without a group)."""
    if uses_rollup(resolved, source):
        return await _rollup_counts(session, jurisdiction_id, resolved)
    return await _fact_counts(session, jurisdiction_id, resolved, now or datetime.now(UTC))


def _zero() -> dict[str, int]:
    return dict.fromkeys(METRIC_COUNTS, 0)


def _row(key: str, label: str, row_counts: dict[str, int], weights: Weights, **extra: Any) -> MetricsRow:
    row_rates = rates(row_counts)
    return MetricsRow(
        key=key, label=label, counts=row_counts, rates=row_rates, score=score(row_rates, weights), **extra
    )


async def metrics(
    session: AsyncSession,
    jurisdiction_id: int,
    query: MetricsQuery,
    *,
    source: Source = "auto",
    now: datetime | None = None,
) -> MetricsResult:
    """The rows of ``query`` and their total (the same filters, not grouped). Dimension rows come with the
    most cases first, departments by rank; months and weeks in order, with the empty ones between ``from``
    and ``to`` included. ``source="facts"`` counts from the raw rows even when the rollup could answer;
    ``now`` is the moment reply deadlines are judged at (the facts path only)."""
    resolved = await resolve(session, jurisdiction_id, query)
    settings = await get_metric_settings(session, jurisdiction_id)
    weights = weights_of(settings)
    grouped = await counts(session, jurisdiction_id, resolved, source=source, now=now)
    # The total is not the rows' sum: a case with two departments is one case.
    ungrouped = dataclasses.replace(resolved, group_by=None)
    totals = (
        grouped
        if resolved.group_by is None
        else await counts(session, jurisdiction_id, ungrouped, source=source, now=now)
    )
    total = _row("all", TOTAL_LABEL, totals.get(0, _zero()), weights)
    group_by = resolved.group_by
    if group_by is None:
        rows = [total]
    elif group_by in ("month", "week"):
        rows = [
            _row(
                period_key(group_by, start),
                period_label(group_by, start),
                grouped.get(start, _zero()),
                weights,
                period_start=start,
            )
            for start in periods(group_by, resolved.first, resolved.last)
        ]
    else:
        labels = await resolve_labels(session, jurisdiction_id, group_by, [int(k) for k in grouped])
        rows = [
            _row(str(key), labels[int(key)].label, row_counts, weights, code=labels[int(key)].code)
            for key, row_counts in grouped.items()
        ]
        rows.sort(key=lambda r: (-r.counts["received"], -r.counts["assignments"], r.label, r.key))
        if group_by == "department":
            rank(rows, settings.ranking_min_sample)
            rows.sort(key=lambda r: (r.rank is None, r.rank or 0, -(r.score or -1.0)))
    return MetricsResult(
        group_by=group_by,
        from_=resolved.first,
        to=resolved.last,
        source="rollup" if uses_rollup(resolved, source) else "facts",
        rows=rows,
        total=total,
    )


def period_bounds(group_by: str, key: str, first: date, last: date) -> tuple[date, date] | None:
    """The days of a month or week row's key ("2026-11", "2026-W47") within [first, last]; None if unknown."""
    start = period_start(group_by, key)
    if start is None:
        return None
    if group_by == "month":
        following = date(start.year + start.month // 12, start.month % 12 + 1, 1)
        end = following - timedelta(days=1)
    else:
        end = start + timedelta(days=6)
    lower, upper = max(start, first), min(end, last)
    return (lower, upper) if lower <= upper else None
