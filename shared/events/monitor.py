"""How far behind the relay is: the outbox backlog, pending deliveries per lane, and internal deliveries
stuck for longer than ``internal_stuck_seconds`` (the operational alarm). Read by `minyi status` and the
ops API; ``jurisdiction_id`` narrows the figures to one tenant's events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_BACKLOG = text(
    """
    SELECT
      (SELECT count(*) FROM outbox o
        WHERE o.fanned_out_at IS NULL AND (CAST(:j AS bigint) IS NULL OR o.jurisdiction_id = :j)) AS unfanned,
      (SELECT min(o.created_at) FROM outbox o
        WHERE o.fanned_out_at IS NULL AND (CAST(:j AS bigint) IS NULL OR o.jurisdiction_id = :j)) AS oldest_unfanned,
      count(*) FILTER (WHERE d.internal) AS internal_pending,
      count(*) FILTER (WHERE NOT d.internal) AS integrator_pending,
      min(d.created_at) FILTER (WHERE d.internal) AS oldest_internal,
      min(d.created_at) FILTER (WHERE NOT d.internal) AS oldest_integrator,
      count(*) FILTER (WHERE d.internal AND d.created_at < now() - make_interval(secs => :stuck)) AS stuck
    FROM webhook_deliveries d JOIN outbox o ON o.id = d.outbox_id
    WHERE d.status = 'pending' AND (CAST(:j AS bigint) IS NULL OR o.jurisdiction_id = :j)
    """
)


@dataclass(frozen=True)
class Backlog:
    unfanned_events: int
    oldest_unfanned_at: datetime | None
    internal_pending: int
    integrator_pending: int
    oldest_internal_pending_at: datetime | None
    oldest_integrator_pending_at: datetime | None
    stuck_internal: int


async def backlog(
    session: AsyncSession, *, stuck_seconds: float, jurisdiction_id: int | None = None
) -> Backlog:
    row = (await session.execute(_BACKLOG, {"j": jurisdiction_id, "stuck": stuck_seconds})).one()
    return Backlog(
        unfanned_events=row.unfanned,
        oldest_unfanned_at=row.oldest_unfanned,
        internal_pending=row.internal_pending,
        integrator_pending=row.integrator_pending,
        oldest_internal_pending_at=row.oldest_internal,
        oldest_integrator_pending_at=row.oldest_integrator,
        stuck_internal=row.stuck,
    )
