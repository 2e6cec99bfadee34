"""Retention of the event plumbing: finished outbox, delivery and inbox rows pruned after N days.

Only finished rows go: a delivery that succeeded or was given up (``failed``), never a pending or retrying
one; an outbox event once it is fanned out and none of its deliveries is left (so never while one is still
pending); an inbox row (a message id already applied) once older than the window, when no sender retries it
any more. case_events are the record and are never touched here.

Each statement deletes at most ``batch`` rows (locked with SKIP LOCKED, so a relay or another worker is
never waited on) and a run stops after ``max_batches`` statements per table; the next run continues.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from shared.db.engine import transaction

BATCH = 5000
MAX_BATCHES = 20

_DELIVERIES = text(
    """
    DELETE FROM webhook_deliveries WHERE id = ANY(ARRAY(
        SELECT id FROM webhook_deliveries
        WHERE status <> 'pending' AND created_at < :cutoff
          AND coalesce(delivered_at, last_attempt_at, created_at) < :cutoff
        ORDER BY id LIMIT :batch FOR UPDATE SKIP LOCKED))
    """
)
_OUTBOX = text(
    """
    DELETE FROM outbox WHERE id = ANY(ARRAY(
        SELECT o.id FROM outbox o
        WHERE o.fanned_out_at IS NOT NULL AND o.created_at < :cutoff
          AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.outbox_id = o.id)
        ORDER BY o.id LIMIT :batch FOR UPDATE SKIP LOCKED))
    """
)
_INBOX = text(
    """
    DELETE FROM inbox_messages WHERE ctid = ANY(ARRAY(
        SELECT ctid FROM inbox_messages WHERE processed_at < :cutoff
        LIMIT :batch FOR UPDATE SKIP LOCKED))
    """
)

# "Rows due now", each count bounded so that `minyi status` stays quick on a big backlog.
_DUE = {
    "deliveries": "SELECT count(*) FROM (SELECT 1 FROM webhook_deliveries WHERE status <> 'pending'"
    " AND coalesce(delivered_at, last_attempt_at, created_at) < :cutoff AND created_at < :cutoff LIMIT :cap) t",
    "outbox": "SELECT count(*) FROM (SELECT 1 FROM outbox o WHERE o.fanned_out_at IS NOT NULL"
    " AND o.created_at < :cutoff AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d"
    " WHERE d.outbox_id = o.id AND (d.status = 'pending' OR d.created_at >= :cutoff)) LIMIT :cap) t",
    "inbox": "SELECT count(*) FROM (SELECT 1 FROM inbox_messages WHERE processed_at < :cutoff LIMIT :cap) t",
}


@dataclass
class Pruned:
    deliveries: int = 0
    outbox: int = 0
    inbox: int = 0

    @property
    def total(self) -> int:
        return self.deliveries + self.outbox + self.inbox


def cutoff(now: datetime, days: int) -> datetime:
    return now - timedelta(days=days)


async def _drain(engine: AsyncEngine, statement: object, params: dict[str, object], max_batches: int) -> int:
    removed = 0
    for _ in range(max_batches):
        async with transaction(engine) as session:
            result = await session.execute(statement, params)  # type: ignore[call-overload]
        removed += result.rowcount or 0
        if (result.rowcount or 0) < int(params["batch"]):  # type: ignore[call-overload]
            break
    return removed


async def prune_events(
    engine: AsyncEngine, now: datetime, days: int, *, batch: int = BATCH, max_batches: int = MAX_BATCHES
) -> Pruned:
    """One run: finished deliveries first (an outbox row goes only once its deliveries are gone), then
    outbox and inbox rows; each table at most ``batch * max_batches`` rows, one transaction per batch."""
    params: dict[str, object] = {"cutoff": cutoff(now, days), "batch": batch}
    done = Pruned()
    done.deliveries = await _drain(engine, _DELIVERIES, params, max_batches)
    done.outbox = await _drain(engine, _OUTBOX, params, max_batches)
    done.inbox = await _drain(engine, _INBOX, params, max_batches)
    return done


async def due_for_pruning(session: AsyncSession, now: datetime, days: int, *, cap: int = 100_000) -> Pruned:
    """How many rows a run could prune now, each count at most ``cap``."""
    params = {"cutoff": cutoff(now, days), "cap": cap}
    counts = {name: int(await session.scalar(text(sql), params) or 0) for name, sql in _DUE.items()}
    return Pruned(**counts)
