"""Fixed-window rate limits counted in PostgreSQL, so a limit holds across every process of a service.

PostgreSQL is already there and every anonymous request already talks to it; a separate store (Redis) would
be one more thing to run and secure for a counter that costs one UPSERT. A check counts one request in each
of its buckets' current windows and reads the new counts back in the same statement (one round trip); the
window starts are computed from the database's clock, so processes on different machines agree. Fixed
windows let a burst straddle a boundary (up to twice a limit in a short while); for abuse limits that is
acceptable and keeps a check to one row per bucket.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.types import Integer, String

from shared.observability.metrics import count_rate_limit


@dataclass(frozen=True)
class Rate:
    """``count`` requests per ``seconds``; parsed from settings written as "10/600"."""

    count: int
    seconds: int

    @classmethod
    def parse(cls, spec: str) -> Rate:
        count, _, seconds = spec.partition("/")
        rate = cls(int(count), int(seconds))
        if rate.count < 0 or rate.seconds <= 0:
            raise ValueError(f"a rate limit is 'count/seconds', got {spec!r}")
        return rate


@dataclass(frozen=True)
class Limit:
    bucket: str  # what is counted, e.g. "submit:addr:203.0.113.7"
    rate: Rate


# A window starts at a multiple of its length since the epoch, by the database's clock.
_HIT = text(
    """
INSERT INTO rate_limits AS r (bucket, window_start, count)
SELECT b.bucket, to_timestamp(floor(extract(epoch FROM now()) / b.seconds) * b.seconds), 1
FROM unnest(:buckets, :seconds) AS b(bucket, seconds)
ON CONFLICT (bucket, window_start) DO UPDATE SET count = r.count + 1
RETURNING r.bucket, r.count, extract(epoch FROM now() - r.window_start) AS elapsed
"""
).bindparams(bindparam("buckets", type_=ARRAY(String)), bindparam("seconds", type_=ARRAY(Integer)))

_PEEK = text(
    """
SELECT r.bucket, r.count, extract(epoch FROM now() - r.window_start) AS elapsed
FROM unnest(:buckets, :seconds) AS b(bucket, seconds)
JOIN rate_limits r ON r.bucket = b.bucket AND r.window_start = to_timestamp(floor(extract(epoch FROM now()) / b.seconds) * b.seconds)
"""
).bindparams(bindparam("buckets", type_=ARRAY(String)), bindparam("seconds", type_=ARRAY(Integer)))

_CLEAN = text("DELETE FROM rate_limits WHERE window_start < now() - make_interval(secs => :keep)")


async def _run(
    connection: AsyncConnection, statement: object, limits: Sequence[Limit], *, strict: bool
) -> int | None:
    active = [limit for limit in limits if limit.rate.count > 0]
    if not active:
        return None
    by_bucket = {limit.bucket: limit.rate for limit in active}
    params = {"buckets": list(by_bucket), "seconds": [rate.seconds for rate in by_bucket.values()]}
    rows = (await connection.execute(statement, params)).all()  # type: ignore[call-overload]
    retry_after: int | None = None
    refused: set[str] = set()
    for row in rows:
        rate = by_bucket[row.bucket]
        over = row.count > rate.count if strict else row.count >= rate.count
        if over:
            refused.add(row.bucket)
            wait = max(1, math.ceil(rate.seconds - float(row.elapsed)))
            retry_after = max(retry_after or 0, wait)
    for bucket in by_bucket:  # minyi_rate_limit_checks_total / _refusals_total, by limit (never the address)
        count_rate_limit(bucket, refused=bucket in refused)
    return retry_after


async def hit(connection: AsyncConnection, limits: Sequence[Limit]) -> int | None:
    """Counts this request in every limit's current window: None while all are within their rate, else the
    seconds until the last exceeded window ends (a Retry-After). A limit of 0 requests is no limit."""
    return await _run(connection, _HIT, limits, strict=True)


async def exhausted(connection: AsyncConnection, limits: Sequence[Limit]) -> int | None:
    """Without counting: the Retry-After if a limit's window is already full, else None."""
    return await _run(connection, _PEEK, limits, strict=False)


async def clean(connection: AsyncConnection, keep_seconds: int) -> int:
    """Deletes windows that started more than ``keep_seconds`` ago (at least the longest window)."""
    result = await connection.execute(_CLEAN, {"keep": keep_seconds})
    return int(result.rowcount or 0)
