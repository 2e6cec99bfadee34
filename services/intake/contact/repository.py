"""Queries the contact-day modules share: deputies by id, the roster by day."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.contact.schemas import RosteredDeputy
from services.intake.labels import DEPUTY_LEVEL_LABELS
from shared.db.models import Deputy, RosterEntry


def deputy_out(deputy: Deputy) -> RosteredDeputy:
    return RosteredDeputy(
        id=deputy.id,
        name=deputy.name,
        level=deputy.level,
        level_label=DEPUTY_LEVEL_LABELS.get(deputy.level, deputy.level),
    )


async def deputies_of(session: AsyncSession, jurisdiction_id: int, ids: Sequence[int]) -> dict[int, Deputy]:
    """The jurisdiction's deputies among ``ids`` (another jurisdiction's are simply not found)."""
    if not ids:
        return {}
    rows = await session.scalars(
        select(Deputy).where(Deputy.jurisdiction_id == jurisdiction_id, Deputy.id.in_(list(set(ids))))
    )
    return {deputy.id: deputy for deputy in rows}


async def rostered(
    session: AsyncSession, station_id: int, start: date, end: date, *, active_only: bool = False
) -> dict[date, list[RosteredDeputy]]:
    """Each rostered date in [start, end] with its deputies, in the deputies' id order; ``active_only``
    leaves out deputies no longer active (the public page announces only those who may still come)."""
    query = (
        select(RosterEntry.day, Deputy)
        .join(Deputy, Deputy.id == RosterEntry.deputy_id)
        .where(RosterEntry.station_id == station_id, RosterEntry.day.between(start, end))
        .order_by(RosterEntry.day, Deputy.id)
    )
    if active_only:
        query = query.where(Deputy.active.is_(True))
    rows = await session.execute(query)
    found: dict[date, list[RosteredDeputy]] = defaultdict(list)
    for day, deputy in rows:
        found[day].append(deputy_out(deputy))
    return dict(found)
