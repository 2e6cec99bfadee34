"""Scenario 'limits': what the abuse limits cost a citizen's submission.

Two measures. First, shared.ratelimit.hit timed directly against the bench's PostgreSQL with the two buckets a
submission counts (its address, a new one each time as when many citizens come by, and its code, the same row
for all): on one connection beside a bare `SELECT 1` (the round trip it cannot beat), then from
limit_concurrency connections at once, which queue on the code's row as a busy code's submissions do (and,
to tell that queue from a busy machine, the same with a code per connection and with bare round trips).
Second, the JSON submission rate through two intake services side by side: one counting every submission as
deployed (limits too high to refuse the load) and one with the limits off (a rate of 0 is no limit: no
statement at all), in wrk rounds that alternate between them so that the machine's noise falls on both.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from bench import loadgen, stack
from bench.scenarios.intake import BODY, intake_stack
from bench.settings import Settings
from shared import ratelimit
from shared.db.engine import async_url, connect_args
from shared.ratelimit import Limit, Rate

# As intake_api.abuse names them; limits no load reaches, so every check counts and none refuses.
_PER_ADDRESS = Rate(1_000_000_000, 600)
_PER_CODE = Rate(1_000_000_000, 3600)
LIMITS_OFF = {"MINYI_LIMIT_SUBMISSIONS_PER_ADDRESS": "0/600", "MINYI_LIMIT_SUBMISSIONS_PER_CODE": "0/3600"}


def _limits(worker: int, i: int, code: str = "1") -> list[Limit]:
    return [Limit(f"submit:addr:bench-{worker}-{i}", _PER_ADDRESS), Limit(f"submit:code:{code}", _PER_CODE)]


def _us(values: list[float]) -> dict[str, Any]:
    def r(q: float) -> float | None:
        v = loadgen.percentile(values, q)
        return None if v is None else round(v * 1e6, 1)

    return {"n": len(values), "p50_us": r(50), "p95_us": r(95), "p99_us": r(99)}


async def _timed(
    connection: AsyncConnection, n: int, worker: int, check: bool, code: str = "1"
) -> list[float]:
    out: list[float] = []
    select_one = text("SELECT 1")
    for i in range(n):
        started = time.perf_counter()
        if check:
            if await ratelimit.hit(connection, _limits(worker, i, code)) is not None:
                raise RuntimeError("a bench limit refused a check")
        else:
            await connection.execute(select_one)
        out.append(time.perf_counter() - started)
    return out


async def _measure_checks(database_url: str, n: int, concurrency: int) -> dict[str, Any]:
    engine = create_async_engine(
        async_url(database_url),
        isolation_level="AUTOCOMMIT",  # as the intake's autocommit engine: one statement, one transaction
        pool_size=concurrency,
        max_overflow=0,
        connect_args=connect_args("minyi-bench-limits"),
    )
    try:
        async with engine.connect() as conn:
            await _timed(conn, 50, -1, check=True)  # warm-up: prepared statements, the table's pages
            await _timed(conn, 50, -1, check=False)
            round_trip = await _timed(conn, n, 0, check=False)
            serial = await _timed(conn, n, 0, check=True)

        async def together(check: bool, own_code: bool) -> dict[str, Any]:
            async def one(worker: int) -> list[float]:
                code = f"bench-{worker}" if own_code else "1"
                async with engine.connect() as conn:
                    return await _timed(conn, max(n // concurrency, 1), worker + 1, check, code)

            started = time.perf_counter()
            parts = await asyncio.gather(*(one(w) for w in range(concurrency)))
            elapsed = time.perf_counter() - started
            values = [v for part in parts for v in part]
            return {**_us(values), "connections": concurrency, "per_second": round(len(values) / elapsed, 1)}

        # All at once on one code's row (as a busy code), then each on a code of its own (no row shared) and
        # bare round trips: what is the row lock's, what is only a busy machine's.
        shared_code = await together(check=True, own_code=False)
        own_codes = await together(check=True, own_code=True)
        select_together = await together(check=False, own_code=False)
        async with engine.connect() as conn:
            rows = (await conn.execute(text("SELECT count(*) FROM rate_limits"))).scalar_one()
    finally:
        await engine.dispose()
    return {
        "select_1": _us(round_trip),
        "hit_serial": _us(serial),
        "hit_concurrent": shared_code,
        "hit_concurrent_own_codes": own_codes,
        "select_1_concurrent": select_together,
        "rate_limits_rows_after": rows,
        "buckets_per_check": 2,
    }


def _ab_rounds(
    urls: dict[str, str], settings: Settings, work: Any, rounds: int, seconds: float
) -> dict[str, list[dict[str, Any]]]:
    runs: dict[str, list[dict[str, Any]]] = {label: [] for label in urls}
    for url in urls.values():
        loadgen.wrk(url, seconds=settings.warmup_seconds, connections=16, work_dir=work, body=BODY)
    for round_no in range(rounds):
        order = list(urls) if round_no % 2 == 0 else list(reversed(urls))
        for label in order:
            runs[label].append(
                loadgen.wrk(urls[label], seconds=seconds, connections=16, work_dir=work, body=BODY)
            )
    return runs


def _median(runs: list[dict[str, Any]], key: str) -> float | None:
    values = [float(r[key]) for r in runs if r.get(key) is not None]
    return round(statistics.median(values), 2) if values else None


def run(server: stack.Server, settings: Settings) -> dict[str, Any]:
    n, concurrency = settings.limit_checks, settings.limit_concurrency
    with (
        intake_stack(server, settings) as counted,
        intake_stack(server, settings, LIMITS_OFF) as off,
    ):
        settings.log(f"limits: {n} checks on one connection, {n} more from {concurrency} at once")
        # On the database of the service without limits, so the counted service's table stays as small as
        # its own load makes it.
        checks = asyncio.run(_measure_checks(off.database_url, n, concurrency))
        settings.log(
            f"limits: wrk {settings.limit_ab_rounds} x {settings.limit_ab_seconds}s rounds per service,"
            " alternating (limits counted / off)"
        )
        urls = {
            "counted": f"{counted.url}/v1/public/codes/{counted.token}/cases",
            "off": f"{off.url}/v1/public/codes/{off.token}/cases",
        }
        runs = _ab_rounds(urls, settings, counted.work, settings.limit_ab_rounds, settings.limit_ab_seconds)
        workers = counted.workers
    submissions: dict[str, Any] = {}
    for label, label_runs in runs.items():
        submissions[label] = {
            "rate_median": _median(label_runs, "rate"),
            "p50_ms_median": _median(label_runs, "p50_ms"),
            "p99_ms_median": _median(label_runs, "p99_ms"),
            "non_2xx": sum(int(r.get("non_2xx") or 0) for r in label_runs),
            "runs": label_runs,
        }
    on, free = submissions["counted"]["rate_median"], submissions["off"]["rate_median"]
    return {
        "limits": {
            "checks": checks,
            "submissions": {
                "service_workers": workers,
                "connections": 16,
                "rounds": settings.limit_ab_rounds,
                "seconds_per_round": settings.limit_ab_seconds,
                **submissions,
                "ratio_counted_to_off": round(on / free, 3) if on and free else None,
                # The machine time a check adds to each submission, at full load (both cores busy).
                "added_ms_per_submission": round(1000 / on - 1000 / free, 3) if on and free else None,
            },
        }
    }
