"""The daily rollup (metric_days) and the worker job that keeps it: a trigger on case_events marks the received
day of a case whose log grew (metric_dirty_days); the job takes the marks, waits until every transaction that
was running when it took them has ended (one of them may have changed a case without a mark of its own: the
day was already marked), then recomputes each day from the facts (facts.py) in a transaction of its own. A day
that fails to recompute is marked again. The job also marks the days of cases whose reply deadline lapsed since
its last run, since the passing of time changes ``reply_due`` without any event."""

from __future__ import annotations

import asyncio
import contextlib
import time as monotonic
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.supervision.metrics.facts import (
    CASE_DIMS,
    FactScope,
    day_range,
    fact_ctes,
    sums,
    without_jit,
)
from shared.db.engine import transaction
from shared.db.models.metrics import METRIC_COUNTS
from shared.observability.metrics import job_finished

log = structlog.get_logger("minyi.metrics")

# Marks taken per round; several workers share the marks (SKIP LOCKED).
TAKE_BATCH = 50
# How long the job waits for the transactions that were running when it took its marks.
SETTLE_SECONDS = 10.0
# At start, deadlines that lapsed this long ago are looked at (alarms mark the rest when they raise overdue).
LAPSED_LOOKBACK = timedelta(days=2)

_COLUMNS = ", ".join(METRIC_COUNTS)
_DIM_CASE = " ".join(f"WHEN GROUPING({column}) = 0 THEN '{dim}'" for dim, column in CASE_DIMS.items())
_KEY_CASE = ", ".join(CASE_DIMS.values())
_SETS = ", ".join(f"(day, kind, {column})" for column in CASE_DIMS.values())
# The pair dims: a department's counts per top-level category and per grid (key2), for the dashboard's filters.
PAIR_DIMS: dict[str, str] = {
    "department_top_category": CASE_DIMS["top_category"],
    "department_grid": CASE_DIMS["grid"],
}

_TAKE = text(
    """
    DELETE FROM metric_dirty_days m
    USING (
        SELECT jurisdiction_id, day FROM metric_dirty_days
        ORDER BY day DESC LIMIT :limit FOR UPDATE SKIP LOCKED
    ) taken
    WHERE m.jurisdiction_id = taken.jurisdiction_id AND m.day = taken.day
    RETURNING m.jurisdiction_id, m.day
    """
)
_MARK = text(
    "INSERT INTO metric_dirty_days (jurisdiction_id, day) SELECT * FROM unnest("
    "CAST(:jurisdictions AS bigint[]), CAST(:days AS date[])) ON CONFLICT DO NOTHING"
)
_MARK_LAPSED = text(
    """
    INSERT INTO metric_dirty_days (jurisdiction_id, day)
    SELECT DISTINCT c.jurisdiction_id, (c.created_at AT TIME ZONE 'Asia/Shanghai')::date
    FROM deadlines d JOIN cases c ON c.id = d.case_id
    WHERE d.kind = 'reply' AND d.met_at IS NULL AND d.superseded_at IS NULL AND d.round = 0
        AND d.due_at > :since AND d.due_at <= :now
    ON CONFLICT DO NOTHING
    """
)
_MARK_ALL = text(
    """
    INSERT INTO metric_dirty_days (jurisdiction_id, day)
    SELECT DISTINCT jurisdiction_id, day FROM (
        SELECT jurisdiction_id, (created_at AT TIME ZONE 'Asia/Shanghai')::date AS day FROM cases
        WHERE CAST(:j AS bigint) IS NULL OR jurisdiction_id = :j
        UNION ALL
        SELECT jurisdiction_id, day FROM metric_days WHERE CAST(:j AS bigint) IS NULL OR jurisdiction_id = :j
    ) days
    ON CONFLICT DO NOTHING
    """
)
# The transactions of this database that hold a transaction id (they wrote something), besides our own.
_WRITERS = text(
    "SELECT pid, backend_xid::text FROM pg_stat_activity WHERE datname = current_database()"
    " AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()"
)
_LOCK_DAY = text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))")


@dataclass
class RefreshResult:
    days: int = 0
    failed: int = 0


_PAIRS = "".join(
    f"""
UNION ALL
SELECT :j, day, kind, '{dim}', department_key, {column}, {sums()}
FROM department_rows
GROUP BY day, kind, department_key, {column}"""  # noqa: S608 (constant names from PAIR_DIMS)
    for dim, column in PAIR_DIMS.items()
)


def _insert_sql(scope: FactScope, params: dict[str, Any]) -> str:
    ctes = fact_ctes(scope, ("case", "department"), params)
    return f"""{ctes}
INSERT INTO metric_days (jurisdiction_id, day, kind, dim, key, key2, {_COLUMNS})
SELECT :j, day, kind, CASE {_DIM_CASE} ELSE 'all' END, COALESCE({_KEY_CASE}, 0), 0, {sums()}
FROM case_rows
GROUP BY GROUPING SETS ((day, kind), {_SETS})
UNION ALL
SELECT :j, day, kind, 'department', department_key, 0, {sums()}
FROM department_rows
GROUP BY day, kind, department_key{_PAIRS}"""  # noqa: S608 (constant SQL; values are bound parameters)


async def recompute_day(session: AsyncSession, jurisdiction_id: int, day: date, now: datetime) -> None:
    """Replaces the rollup rows of one jurisdiction's day with counts from the raw rows (the caller commits).
    Two workers on the same day take turns (an advisory lock), so neither sees the other's half-done day."""
    await session.execute(_LOCK_DAY, {"name": f"metric_days:{jurisdiction_id}:{day.isoformat()}"})
    await session.execute(
        text("DELETE FROM metric_days WHERE jurisdiction_id = :j AND day = :day"),
        {"j": jurisdiction_id, "day": day},
    )
    start, end = day_range(day, day)
    params: dict[str, Any] = {}
    sql = _insert_sql(FactScope(jurisdiction_id=jurisdiction_id, start=start, end=end, now=now), params)
    await without_jit(session)
    await session.execute(text(sql), params)


async def mark_days(session: AsyncSession, days: list[tuple[int, date]]) -> None:
    if days:
        await session.execute(
            _MARK, {"jurisdictions": [j for j, _ in days], "days": [day for _, day in days]}
        )


async def mark_all(session: AsyncSession, jurisdiction_id: int | None = None) -> int:
    """Marks every day that has cases or rollup rows (of one jurisdiction, or all), so the job rebuilds them."""
    result = await session.execute(_MARK_ALL, {"j": jurisdiction_id})
    return int(getattr(result, "rowcount", 0) or 0)


async def _settle(engine: AsyncEngine, seconds: float) -> bool:
    """Waits until every transaction of the database that had written something by now has ended; False if
    some still run after ``seconds``. (Our connections all log in as one role, so they see each
    other's transaction ids.)"""
    async with engine.connect() as conn:
        running = set((await conn.execute(_WRITERS)).tuples().all())
        await conn.commit()
        deadline = monotonic.monotonic() + seconds
        while running:
            if monotonic.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.05)
            running &= set((await conn.execute(_WRITERS)).tuples().all())
            await conn.commit()
        return True


async def refresh(
    engine: AsyncEngine,
    *,
    now: datetime | None = None,
    lapsed_since: datetime | None = None,
    settle_seconds: float = SETTLE_SECONDS,
) -> RefreshResult:
    """One run of the job: marks the days whose reply deadlines lapsed in (lapsed_since, now], then takes and
    recomputes marked days, batch after batch, until a batch comes back short. ``now``: the moment reply
    deadlines are judged at."""
    result = RefreshResult()
    moment = now or datetime.now(UTC)
    if lapsed_since is not None:
        async with transaction(engine) as session:
            await session.execute(_MARK_LAPSED, {"since": lapsed_since, "now": moment})
    while True:
        async with transaction(engine) as session:
            taken = [(int(j), day) for j, day in (await session.execute(_TAKE, {"limit": TAKE_BATCH})).all()]
        if not taken:
            return result
        settled = await _settle(engine, settle_seconds)
        failed: list[tuple[int, date]] = []
        for jurisdiction_id, day in sorted(taken):
            try:
                async with transaction(engine) as session:
                    await recompute_day(session, jurisdiction_id, day, now or datetime.now(UTC))
                result.days += 1
            except Exception:
                log.exception("metrics_day_failed", jurisdiction_id=jurisdiction_id, day=day.isoformat())
                failed.append((jurisdiction_id, day))
        # A day that failed is tried again by the next run; an unsettled one (a transaction still open)
        # again too, since that transaction's changes may be missing from what was just counted.
        again = taken if not settled else failed
        if again:
            async with transaction(engine) as session:
                await mark_days(session, again)
        result.failed += len(failed)
        # A short batch drained the marks: days marked since (today's, on a busy system, again and again)
        # wait for the next run rather than keeping this one going.
        if failed or not settled or len(taken) < TAKE_BATCH:
            return result


async def rebuild(engine: AsyncEngine, jurisdiction_id: int | None = None) -> RefreshResult:
    """Recomputes every day of one jurisdiction (or all) now: for an existing database, or after editing the
    taxonomy (a category's committee or parent changes the rollup without any case event)."""
    async with transaction(engine) as session:
        await mark_all(session, jurisdiction_id)
    return await refresh(engine)


async def refresh_loop(engine: AsyncEngine, stop: asyncio.Event, *, interval: float) -> None:
    """The worker's job: a refresh every ``interval`` seconds."""
    since = datetime.now(UTC) - LAPSED_LOOKBACK
    while not stop.is_set():
        now = datetime.now(UTC)
        try:
            result = await refresh(engine, lapsed_since=since)
            since = now
            if result.days or result.failed:
                log.info("metrics_refreshed", days=result.days, failed=result.failed)
            job_finished("metrics_refresh", ok=True)
        except Exception:
            log.exception("scheduled_job_failed", job="metrics_refresh")
            job_finished("metrics_refresh", ok=False)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
