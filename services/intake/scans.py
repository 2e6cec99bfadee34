"""Scan counts of intake codes, counted in memory and written in batches.

A row update per scan would make every page view a write on one hot row per code. Instead each process
counts scans and adds them to ``intake_codes.scan_count`` in one statement about every second and when it
shuts down, so counts may lag by that interval and none are lost on a clean shutdown. The same statement
moves ``last_scanned_at`` forward to the batch's latest scan of each code (never back: another process's
batch may carry a later one).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import structlog
from sqlalchemy import bindparam, func, update
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db.models import IntakeCode

log = structlog.get_logger("minyi.intake.scans")

_ADD = (
    update(IntakeCode)
    .where(IntakeCode.id == bindparam("code_id"))
    .values(
        scan_count=IntakeCode.scan_count + bindparam("scans"),
        # GREATEST ignores NULL: the first scan sets it.
        last_scanned_at=func.greatest(IntakeCode.last_scanned_at, bindparam("at")),
    )
)


class ScanCounter:
    """One per process (kept on the app's state)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._pending: Counter[int] = Counter()
        self._latest: dict[int, datetime] = {}
        self._flushing = asyncio.Lock()

    def count(self, code_id: int) -> None:
        self._pending[code_id] += 1
        self._latest[code_id] = datetime.now(UTC)

    @property
    def pending(self) -> int:
        return sum(self._pending.values())

    async def flush(self) -> None:
        """Adds the counted scans to the database; on failure they stay counted for the next flush."""
        async with self._flushing:
            if not self._pending:
                return
            taken, self._pending = self._pending, Counter()
            latest, self._latest = self._latest, {}
            # Ordered by id so that two processes flushing at once lock the rows in the same order.
            rows = [
                {"code_id": code_id, "scans": n, "at": latest[code_id]}
                for code_id, n in sorted(taken.items())
            ]
            try:
                async with self._engine.begin() as connection:
                    await connection.execute(_ADD, rows)
            except BaseException:
                self._pending.update(taken)
                for code_id, at in latest.items():
                    self._latest[code_id] = max(at, self._latest.get(code_id, at))
                raise

    @asynccontextmanager
    async def flushing_every(self, seconds: float) -> AsyncIterator[None]:
        """Flushes periodically while the block runs, and once more when it ends."""
        task = asyncio.create_task(self._flush_forever(seconds))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await self.flush()

    async def _flush_forever(self, seconds: float) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                # Shielded: a shutdown arriving mid-write must not leave it unknown whether it committed.
                await asyncio.shield(self.flush())
            except Exception:
                # The database may be briefly away; the counts wait for the next round.
                log.warning("scan count flush failed", exc_info=True)
