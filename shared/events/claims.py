"""Claiming due deliveries for one lane of the relay, under a lease.

A claim marks its rows with a fresh token and a lease (``locked_until``). Another relay may take a row only
once the lease has expired (its worker died or hung), and an outcome is recorded only under the token that
still holds the row (shared.events.outcomes). Ordered endpoints receive a case's events one at a time: a
delivery is claimable only while no earlier one for the same endpoint and case is pending.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db.engine import transaction

_CLAIM = text(
    """
    WITH candidates AS (
        SELECT c.id, c.endpoint_id FROM webhook_deliveries c
        JOIN webhook_endpoints ce ON ce.id = c.endpoint_id AND ce.enabled
        WHERE c.status = 'pending' AND c.internal = :internal AND c.next_attempt_at <= now()
          AND (c.locked_until IS NULL OR c.locked_until < now())
          AND c.endpoint_id <> ALL(CAST(:full AS bigint[]))
          AND (NOT ce.ordered OR c.case_id IS NULL OR NOT EXISTS (
                SELECT 1 FROM webhook_deliveries p
                WHERE p.endpoint_id = c.endpoint_id AND p.case_id = c.case_id
                  AND p.outbox_id < c.outbox_id AND p.status = 'pending'))
        ORDER BY c.next_attempt_at, c.id
        LIMIT :scan
        FOR UPDATE OF c SKIP LOCKED
    ), ranked AS (
        SELECT id, endpoint_id, row_number() OVER (PARTITION BY endpoint_id ORDER BY id) AS n
        FROM candidates
    ), picked AS (
        SELECT r.id FROM ranked r
        LEFT JOIN unnest(CAST(:room_ids AS bigint[]), CAST(:room_left AS int[])) AS room(endpoint_id, n)
          ON room.endpoint_id = r.endpoint_id
        WHERE r.n <= coalesce(room.n, :per_endpoint)
        ORDER BY r.id
        LIMIT :limit
    )
    UPDATE webhook_deliveries d
    SET locked_until = now() + make_interval(secs => :lease), claim_token = :token
    FROM picked, outbox o, webhook_endpoints e
    WHERE d.id = picked.id AND o.id = d.outbox_id AND e.id = d.endpoint_id
    RETURNING d.id, d.attempts, d.created_at, o.id AS outbox_id, o.event_id, o.type, o.payload,
              o.occurred_at, o.request_id, e.id AS endpoint_id, e.kind, e.name, e.url, e.secret_enc,
              e.department_id,
              CASE WHEN e.previous_secret_expires_at > now() THEN e.previous_secret_enc END
                  AS previous_secret_enc
    """
)


@dataclass(frozen=True)
class Claimed:
    delivery_id: int
    token: uuid.UUID
    attempts: int
    created_at: datetime
    outbox_id: int
    event_id: uuid.UUID
    type: str
    payload: dict[str, Any]
    occurred_at: datetime
    endpoint_id: int
    endpoint_kind: str
    endpoint_name: str | None
    url: str
    secret_enc: bytes | None
    # During a rotation's grace period: the previous secret, which signs too.
    previous_secret_enc: bytes | None = None
    request_id: str | None = None
    # A department's endpoint: the payload it is sent names no other department.
    department_id: int | None = None

    @property
    def internal(self) -> bool:
        return self.endpoint_kind == "internal"


async def claim(
    engine: AsyncEngine,
    *,
    internal: bool,
    limit: int,
    per_endpoint: int,
    room: Mapping[int, int],
    lease_seconds: float,
) -> list[Claimed]:
    """Up to ``limit`` due deliveries of the lane, at most ``per_endpoint`` for one endpoint, or
    ``room[endpoint_id]`` for an endpoint this relay is already busy with (0 skips it)."""
    if limit <= 0:
        return []
    token = uuid.uuid4()
    full = [endpoint_id for endpoint_id, left in room.items() if left <= 0]
    partial = {endpoint_id: left for endpoint_id, left in room.items() if left > 0}
    params = {
        "internal": internal,
        "full": full,
        "room_ids": list(partial),
        "room_left": list(partial.values()),
        "per_endpoint": per_endpoint,
        "limit": limit,
        # Looks a little past the limit so that one busy endpoint's backlog does not hide the others'.
        "scan": max(limit * 4, per_endpoint),
        "lease": lease_seconds,
        "token": token,
    }
    async with transaction(engine) as session:
        rows = (await session.execute(_CLAIM, params)).all()
    claimed = [
        Claimed(
            delivery_id=r.id,
            token=token,
            attempts=r.attempts,
            created_at=r.created_at,
            outbox_id=r.outbox_id,
            event_id=r.event_id,
            type=r.type,
            payload=r.payload,
            occurred_at=r.occurred_at,
            endpoint_id=r.endpoint_id,
            endpoint_kind=r.kind,
            endpoint_name=r.name,
            url=r.url,
            secret_enc=r.secret_enc,
            previous_secret_enc=r.previous_secret_enc,
            request_id=r.request_id,
            department_id=r.department_id,
        )
        for r in rows
    ]
    return sorted(claimed, key=lambda c: c.outbox_id)


_NEXT_DUE = text(
    """
    SELECT min(greatest(d.next_attempt_at, coalesce(d.locked_until, d.next_attempt_at)))
    FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id AND e.enabled
    WHERE d.status = 'pending' AND d.internal = :internal
    """
)


async def next_due(engine: AsyncEngine, *, internal: bool) -> datetime | None:
    """When the lane's earliest pending delivery becomes due (a retry, or a lease running out)."""
    async with transaction(engine) as session:
        due: datetime | None = await session.scalar(_NEXT_DUE, {"internal": internal})
    return due
