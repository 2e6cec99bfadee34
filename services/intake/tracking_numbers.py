"""Tracking numbers (受理编号) such as ``GS20261122-0042``: jurisdiction code, date in Asia/Shanghai, a suffix.

Submissions must not queue on one counter row inside their own transactions, so each process reserves a
block of suffixes (hi/lo) from ``tracking_counters`` in a short transaction of its own and hands the block
out from memory. Numbers are unique across processes; they are not gapless: a block a process does not use
up (a restart, a new day, a submission that fails after taking its number) leaves a gap, which is fine for a
receipt number and is what keeps submissions from serializing.

A service reserves blocks through a small pool of its own (``with_own_pool``): requests waiting for the
next block hold connections of the main pool, so borrowing from that pool could wait for them forever.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from shared.db.engine import connect_args
from shared.db.models import TrackingCounter

SHANGHAI = ZoneInfo("Asia/Shanghai")


def format_tracking_no(jurisdiction_code: str, day: date, suffix: int) -> str:
    """Four digits at least; the 10,000th case of a day gets five."""
    return f"{jurisdiction_code}{day:%Y%m%d}-{suffix:04d}"


def local_day(moment: datetime | None = None) -> date:
    return (moment or datetime.now(UTC)).astimezone(SHANGHAI).date()


@dataclass
class _Block:
    next: int
    end: int  # exclusive


class TrackingNumbers:
    """One per process (kept on the app's state); safe for any number of concurrent requests."""

    def __init__(self, engine: AsyncEngine, block_size: int = 10, *, owns_engine: bool = False) -> None:
        if block_size < 1:
            raise ValueError("block_size must be at least 1")
        self._engine = engine
        self._owns_engine = owns_engine
        self._block_size = block_size
        self._blocks: dict[tuple[int, date], _Block] = {}
        self._locks: dict[tuple[int, date], asyncio.Lock] = {}

    @classmethod
    def with_own_pool(cls, engine: AsyncEngine, block_size: int = 10) -> TrackingNumbers:
        """An allocator reserving blocks on the engine's database through its own two-connection pool;
        ``aclose`` releases it."""
        own = create_async_engine(
            engine.url,
            pool_size=1,
            max_overflow=1,
            pool_pre_ping=True,
            connect_args=connect_args("minyi-tracking-numbers"),
        )
        return cls(own, block_size, owns_engine=True)

    async def aclose(self) -> None:
        if self._owns_engine:
            await self._engine.dispose()

    async def next(self, jurisdiction_id: int, jurisdiction_code: str, moment: datetime | None = None) -> str:
        day = local_day(moment)
        key = (jurisdiction_id, day)
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            block = self._blocks.get(key)
            if block is None or block.next >= block.end:
                end = await self._reserve(jurisdiction_id, day)
                block = _Block(next=end - self._block_size, end=end)
                self._blocks[key] = block
                self._forget_before(day - timedelta(days=1))
            suffix = block.next
            block.next += 1
        return format_tracking_no(jurisdiction_code, day, suffix)

    async def _reserve(self, jurisdiction_id: int, day: date) -> int:
        """Reserves [end - block_size, end) and returns end; the first block of a day starts at 1."""
        statement = (
            insert(TrackingCounter)
            .values(jurisdiction_id=jurisdiction_id, day=day, next_value=1 + self._block_size)
            .on_conflict_do_update(
                index_elements=[TrackingCounter.jurisdiction_id, TrackingCounter.day],
                set_={"next_value": TrackingCounter.next_value + self._block_size},
            )
            .returning(TrackingCounter.next_value)
        )
        # Its own transaction, committed at once: the row lock is held for one statement, not a request.
        async with self._engine.begin() as connection:
            end: int = (await connection.execute(statement)).scalar_one()
        return end

    def _forget_before(self, day: date) -> None:
        for key in [key for key in self._blocks if key[1] < day]:
            del self._blocks[key]
            self._locks.pop(key, None)
