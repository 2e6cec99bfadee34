"""Cases joining a hot spot, by category (detect) or by text (similar)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_JOIN = text(
    """
    INSERT INTO hotspot_cases (hotspot_id, case_id)
    SELECT :hotspot_id, unnest(CAST(:case_ids AS bigint[]))
    ON CONFLICT DO NOTHING
    """
)

_RECOUNT = text(
    """
    UPDATE hotspots
    SET case_count = (SELECT count(*) FROM hotspot_cases WHERE hotspot_id = :hotspot_id),
        first_case_at = least(first_case_at, :first_at),
        last_case_at = greatest(last_case_at, :last_at)
    WHERE id = :hotspot_id
    """
)


async def join_cases(
    session: AsyncSession, hotspot_id: int, case_ids: list[int], first_at: datetime, last_at: datetime
) -> None:
    """Adds cases to a hot spot (locked by the caller) and brings its count and times up to date."""
    await session.execute(_JOIN, {"hotspot_id": hotspot_id, "case_ids": case_ids})
    await session.execute(_RECOUNT, {"hotspot_id": hotspot_id, "first_at": first_at, "last_at": last_at})
