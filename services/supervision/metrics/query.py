"""The metrics query other modules build on (the routes, the exports, the dashboard): ``metrics(session,
jurisdiction_id, MetricsQuery(...))``. Reads the daily rollup when at most one dimension is involved, else
counts the facts of the filtered cases directly; both give the same numbers."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.supervision.metrics.schemas import MetricsQuery, MetricsResult, MetricsRow

__all__ = ["MetricsQuery", "MetricsResult", "MetricsRow", "metrics"]


async def metrics(session: AsyncSession, jurisdiction_id: int, query: MetricsQuery) -> MetricsResult:
    """The rows of ``query`` (sorted by group; departments by rank) and their total."""
    raise NotImplementedError  # filled in by the next commit
