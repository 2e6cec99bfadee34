"""Fan-out: each new outbox row becomes one delivery per subscribed, enabled endpoint.

One relay fans out at a time (a transaction-level advisory lock): two relays fanning out neighbouring batches
concurrently could commit a case's later event before its earlier one, and ordered endpoints would then see
them out of order.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db.engine import transaction
from shared.events.outbox import NOTIFY_CHANNEL

_FAN_OUT_LOCK = 0x6D696E7969  # any constant shared by every relay ("minyi")

_FAN_OUT = text(
    """
    WITH batch AS (
        SELECT id, jurisdiction_id, case_id, type FROM outbox
        WHERE fanned_out_at IS NULL ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED
    ), fanned AS (
        INSERT INTO webhook_deliveries (endpoint_id, outbox_id, case_id, event_type, internal, status,
                                        attempts, next_attempt_at)
        SELECT e.id, b.id, b.case_id, b.type, e.kind = 'internal', 'pending', 0, now()
        FROM batch b JOIN webhook_endpoints e
          ON (e.jurisdiction_id = b.jurisdiction_id OR e.kind = 'internal')
         AND (cardinality(e.event_types) = 0 OR b.type = ANY(e.event_types))
         AND e.enabled
        ON CONFLICT (endpoint_id, outbox_id) DO NOTHING
        RETURNING 1
    )
    UPDATE outbox SET fanned_out_at = now() FROM batch WHERE outbox.id = batch.id
    RETURNING outbox.id, (SELECT count(*) FROM fanned) AS deliveries
    """
)


async def fan_out(engine: AsyncEngine, limit: int) -> tuple[int, int]:
    """Fans out up to ``limit`` outbox rows; (rows, deliveries made). (0, 0) while another relay is at it."""
    async with transaction(engine) as session:
        locked = await session.scalar(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": _FAN_OUT_LOCK})
        if not locked:
            return 0, 0
        rows = (await session.execute(_FAN_OUT, {"limit": limit})).all()
        deliveries = int(rows[0].deliveries) if rows else 0
        if deliveries:
            # Wakes every relay's lanes once this commits.
            await session.execute(text("SELECT pg_notify(:c, '')"), {"c": NOTIFY_CHANNEL})
        return len(rows), deliveries
