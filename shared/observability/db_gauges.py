"""The worker's gauges read from the database: the outbox backlog, pending deliveries per lane, how long the
oldest due delivery of each lane has waited, and stuck internal deliveries. Refreshed by a small periodic
task (not at each scrape), each figure from an index: the outbox's partial index on unfanned rows, the
deliveries' partial index on pending rows by (internal, next_attempt_at)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.observability.metrics import (
    DELIVERIES_PENDING,
    DELIVERY_OLDEST_DUE,
    GAUGES_REFRESHED,
    INTERNAL_STUCK,
    OUTBOX_BACKLOG,
)

log = structlog.get_logger("minyi.metrics")

REFRESH_SECONDS = 5.0

OUTBOX_BACKLOG_SQL = text("SELECT count(*) FROM outbox WHERE fanned_out_at IS NULL")
PENDING_SQL = text(
    "SELECT count(*) FROM webhook_deliveries WHERE status = 'pending' AND internal = :internal"
)
# The relay sends only enabled endpoints' deliveries; a disabled one's wait until it is enabled again.
OLDEST_DUE_SQL = text(
    """
    SELECT extract(epoch FROM now() - d.next_attempt_at)
    FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
    WHERE d.status = 'pending' AND d.internal = :internal AND d.next_attempt_at <= now() AND e.enabled
    ORDER BY d.next_attempt_at
    LIMIT 1
    """
)
STUCK_SQL = text(
    "SELECT count(*) FROM webhook_deliveries WHERE status = 'pending' AND internal"
    " AND created_at < now() - make_interval(secs => :stuck)"
)
LANES = {"internal": True, "integrators": False}


@dataclass(frozen=True)
class Figures:
    outbox_backlog: int
    pending: dict[str, int]
    oldest_due_seconds: dict[str, float]
    stuck_internal: int


async def read_figures(engine: AsyncEngine, stuck_seconds: float) -> Figures:
    async with engine.connect() as connection:
        backlog = int(await connection.scalar(OUTBOX_BACKLOG_SQL) or 0)
        pending: dict[str, int] = {}
        oldest: dict[str, float] = {}
        for lane, internal in LANES.items():
            pending[lane] = int(await connection.scalar(PENDING_SQL, {"internal": internal}) or 0)
            waited = await connection.scalar(OLDEST_DUE_SQL, {"internal": internal})
            oldest[lane] = max(float(waited or 0), 0.0)
        stuck = int(await connection.scalar(STUCK_SQL, {"stuck": stuck_seconds}) or 0)
    return Figures(backlog, pending, oldest, stuck)


async def refresh(engine: AsyncEngine, stuck_seconds: float) -> Figures:
    figures = await read_figures(engine, stuck_seconds)
    OUTBOX_BACKLOG.set(figures.outbox_backlog)
    for lane in LANES:
        DELIVERIES_PENDING.labels(lane).set(figures.pending[lane])
        DELIVERY_OLDEST_DUE.labels(lane).set(figures.oldest_due_seconds[lane])
    INTERNAL_STUCK.set(figures.stuck_internal)
    GAUGES_REFRESHED.set(time.time())
    return figures


async def refresh_loop(
    engine: AsyncEngine, stuck_seconds: float, stop: asyncio.Event, *, interval: float = REFRESH_SECONDS
) -> None:
    """Refreshes the gauges every ``interval`` until stopped; a failed read keeps the last figures (their
    age shows in minyi_db_gauges_refreshed_timestamp_seconds)."""
    while not stop.is_set():
        try:
            await refresh(engine, stuck_seconds)
        except Exception as exc:
            log.warning("metrics_gauges_failed", error=f"{type(exc).__name__}: {exc}"[:300])
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
