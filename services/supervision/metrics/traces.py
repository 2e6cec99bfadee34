"""Every number traceable: the cases behind one count of a metrics row, read from the same facts as the count
(so the list always adds up to it), newest first in keyset pages."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.supervision.errors import FieldInvalid
from services.supervision.metrics.facts import Mode, fact_ctes, without_jit
from services.supervision.metrics.query import DIMENSIONS, Resolved, period_bounds, resolve
from services.supervision.metrics.schemas import MetricsQuery, TracedCase, TracedDepartment
from shared.db.enums import GONE_ASSIGNMENT_STATUSES
from shared.db.models import Assignment, Case, Category, Department
from shared.db.models.metrics import METRIC_COUNTS


async def resolve_traced(
    session: AsyncSession, jurisdiction_id: int, query: MetricsQuery, key: str | None
) -> Resolved:
    """The query narrowed to one row of its grouping (``key`` as in MetricsRow.key), or its total without a
    key."""
    resolved = await resolve(session, jurisdiction_id, query)
    group_by = resolved.group_by
    narrowed = dataclasses.replace(resolved, group_by=None)
    if key is None or group_by is None:
        return narrowed
    if group_by in DIMENSIONS:
        if not (key.isascii() and key.isdigit()) or len(key) > 18:
            raise FieldInvalid("key", "分组键须为该分组中的编号（0 表示未指定）")
        value = int(key)
        if resolved.filters.get(group_by, value) != value:
            raise FieldInvalid("key", "分组键与筛选条件矛盾")
        return dataclasses.replace(narrowed, filters={**resolved.filters, group_by: value})
    bounds = period_bounds(group_by, key, resolved.first, resolved.last)
    if bounds is None:
        raise FieldInvalid("key", "分组键须为统计区间内的月份（如 2026-11）或周（如 2026-W47）")
    return dataclasses.replace(narrowed, first=bounds[0], last=bounds[1])


async def traced_ids(
    session: AsyncSession,
    jurisdiction_id: int,
    resolved: Resolved,
    metric: str,
    *,
    limit: int,
    before_id: int | None = None,
    now: datetime | None = None,
) -> list[tuple[int, int]]:
    """Up to ``limit + 1`` (case id, its share of the count) with a share above 0, newest first."""
    if metric not in METRIC_COUNTS:
        raise FieldInvalid("metric", "指标须为 " + "、".join(METRIC_COUNTS) + " 之一")
    mode: Mode = "department" if "department" in resolved.filters else "case"
    params: dict[str, Any] = {"limit": limit + 1}
    ctes = fact_ctes(resolved.scope(jurisdiction_id, now or datetime.now(UTC)), (mode,), params)
    where = f"{metric} > 0"
    if before_id is not None:
        where += " AND id < :before"
        params["before"] = before_id
    # Constant SQL fragments only (metric is one of METRIC_COUNTS); values are bound parameters.
    sql = f"{ctes}\nSELECT id, {metric} AS n FROM {mode}_rows WHERE {where} ORDER BY id DESC LIMIT :limit"
    await without_jit(session)
    return [(int(row.id), int(row.n)) for row in await session.execute(text(sql), params)]


async def traced_cases(
    session: AsyncSession,
    jurisdiction_id: int,
    query: MetricsQuery,
    metric: str,
    *,
    key: str | None = None,
    limit: int,
    before_id: int | None = None,
    now: datetime | None = None,
) -> list[TracedCase]:
    """The cases behind ``metric`` in the row ``key`` of ``query`` (its total without a key): up to
    ``limit + 1``, newest first, each with its share of the count."""
    resolved = await resolve_traced(session, jurisdiction_id, query, key)
    found = await traced_ids(
        session, jurisdiction_id, resolved, metric, limit=limit, before_id=before_id, now=now
    )
    return await _describe(session, found)


async def _describe(session: AsyncSession, found: list[tuple[int, int]]) -> list[TracedCase]:
    if not found:
        return []
    ids = [case_id for case_id, _ in found]
    rows = {
        row.id: row
        for row in await session.execute(
            select(
                Case.id,
                Case.tracking_no,
                Case.status,
                Case.kind,
                Category.code.label("category_code"),
                Category.name.label("category_name"),
                Case.created_at,
                Case.dispatched_at,
                Case.replied_at,
                Case.closed_at,
            )
            .outerjoin(Category, Category.id == Case.category_id)
            .where(Case.id.in_(ids))
        )
    }
    departments: dict[int, list[TracedDepartment]] = defaultdict(list)
    for case_id, department_id, name, role, status in await session.execute(
        select(Assignment.case_id, Department.id, Department.name, Assignment.role, Assignment.status)
        .join(Department, Department.id == Assignment.department_id)
        .where(Assignment.case_id.in_(ids), Assignment.status.not_in(GONE_ASSIGNMENT_STATUSES))
        .order_by(Assignment.id)
    ):
        departments[case_id].append(TracedDepartment(id=department_id, name=name, role=role, status=status))
    return [
        TracedCase(
            id=case_id,
            tracking_no=rows[case_id].tracking_no,
            status=rows[case_id].status,
            kind=rows[case_id].kind,
            category_code=rows[case_id].category_code,
            category_name=rows[case_id].category_name,
            departments=departments.get(case_id, []),
            received_at=rows[case_id].created_at,
            dispatched_at=rows[case_id].dispatched_at,
            replied_at=rows[case_id].replied_at,
            closed_at=rows[case_id].closed_at,
            count=share,
        )
        for case_id, share in found
    ]
