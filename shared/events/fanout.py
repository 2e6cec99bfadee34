"""Fan-out: each new outbox row becomes one delivery per subscribed, enabled endpoint.

Who hears what (``HEARS``, also used to recover an endpoint's missed events): our own services every
jurisdiction's events of the types they subscribed to; an integrator's endpoint its jurisdiction's events of
its types (none listed: every type). A department's endpoint hears only case events (``case.*``) of cases
assigned to its department at some point (so its own decline or withdrawal still reaches it), never an event
without a case. ``webhook.disabled`` goes to the endpoints admin keys created and, when listed explicitly, to
the other endpoints of the key whose endpoint was disabled; never to a department's or our own services'.

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

ENDPOINT_DISABLED_EVENT = "webhook.disabled"

# SQL: does endpoint ``e`` hear outbox event ``o`` (enabled or not)?
HEARS = f"""
    (e.jurisdiction_id = o.jurisdiction_id OR e.kind = 'internal')
    AND (cardinality(e.event_types) = 0 OR o.type = ANY(e.event_types))
    AND CASE
        WHEN e.department_id IS NOT NULL THEN
            o.case_id IS NOT NULL AND o.type LIKE 'case.%' AND EXISTS (
                SELECT 1 FROM assignments a WHERE a.case_id = o.case_id AND a.department_id = e.department_id)
        WHEN o.type = '{ENDPOINT_DISABLED_EVENT}' THEN
            e.kind = 'integrator' AND (
                EXISTS (SELECT 1 FROM api_keys k WHERE k.id = e.created_by_key_id AND k.role = 'admin')
                OR (o.type = ANY(e.event_types) AND EXISTS (
                    SELECT 1 FROM webhook_endpoints x
                    WHERE x.id = CAST(o.payload ->> 'endpoint_id' AS bigint)
                      AND x.created_by_key_id = e.created_by_key_id)))
        ELSE true
    END
"""  # noqa: S608 (constant SQL)

_FAN_OUT = text(
    f"""
    WITH batch AS (
        SELECT id, jurisdiction_id, case_id, type, payload FROM outbox
        WHERE fanned_out_at IS NULL ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED
    ), fanned AS (
        INSERT INTO webhook_deliveries (endpoint_id, outbox_id, case_id, event_type, internal, status,
                                        attempts, next_attempt_at)
        SELECT e.id, o.id, o.case_id, o.type, e.kind = 'internal', 'pending', 0, now()
        FROM batch o JOIN webhook_endpoints e ON e.enabled AND {HEARS}
        ORDER BY o.id
        ON CONFLICT (endpoint_id, outbox_id) DO NOTHING
        RETURNING 1
    )
    UPDATE outbox SET fanned_out_at = now() FROM batch WHERE outbox.id = batch.id
    RETURNING outbox.id, (SELECT count(*) FROM fanned) AS deliveries
    """  # noqa: S608 (constant SQL)
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
