"""Queries intake reads with: stations' grids, deputies' stations, codes with their counts, categories."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db.models import (
    Case,
    Category,
    Deputy,
    Grid,
    IntakeCode,
    RetiredIntakeToken,
    Station,
    deputy_stations,
    station_grids,
)


async def grid_codes_of(session: AsyncSession, station_ids: Sequence[int]) -> dict[int, list[str]]:
    """Each station's grid codes in their order (the first is the station's default grid)."""
    if not station_ids:
        return {}
    rows = await session.execute(
        select(station_grids.c.station_id, Grid.code)
        .join(Grid, Grid.id == station_grids.c.grid_id)
        .where(station_grids.c.station_id.in_(station_ids))
        .order_by(station_grids.c.station_id, station_grids.c.position, Grid.id)
    )
    found: dict[int, list[str]] = {station_id: [] for station_id in station_ids}
    for station_id, code in rows:
        found[station_id].append(code)
    return found


async def station_ids_of(session: AsyncSession, deputy_ids: Sequence[int]) -> dict[int, list[int]]:
    """Each deputy's stations in their order (the first receives the deputy's cases)."""
    if not deputy_ids:
        return {}
    rows = await session.execute(
        select(deputy_stations.c.deputy_id, deputy_stations.c.station_id)
        .where(deputy_stations.c.deputy_id.in_(deputy_ids))
        .order_by(deputy_stations.c.deputy_id, deputy_stations.c.position, deputy_stations.c.station_id)
    )
    found: dict[int, list[int]] = {deputy_id: [] for deputy_id in deputy_ids}
    for deputy_id, station_id in rows:
        found[deputy_id].append(station_id)
    return found


async def grids_by_code(session: AsyncSession, jurisdiction_id: int, codes: Sequence[str]) -> dict[str, Grid]:
    if not codes:
        return {}
    rows = await session.execute(
        select(Grid).where(Grid.jurisdiction_id == jurisdiction_id, Grid.code.in_(codes))
    )
    return {grid.code: grid for grid in rows.scalars()}


async def existing_station_ids(session: AsyncSession, jurisdiction_id: int, ids: Sequence[int]) -> set[int]:
    if not ids:
        return set()
    rows = await session.execute(
        select(Station.id).where(Station.jurisdiction_id == jurisdiction_id, Station.id.in_(ids))
    )
    return set(rows.scalars())


async def station_grids_ordered(session: AsyncSession, station_id: int) -> list[Grid]:
    rows = await session.execute(
        select(Grid)
        .join(station_grids, station_grids.c.grid_id == Grid.id)
        .where(station_grids.c.station_id == station_id)
        .order_by(station_grids.c.position, Grid.id)
    )
    return list(rows.scalars())


async def first_station_of(session: AsyncSession, deputy_id: int) -> Station | None:
    """The deputy's first station by position, preferring active ones."""
    return (
        await session.execute(
            select(Station)
            .join(deputy_stations, deputy_stations.c.station_id == Station.id)
            .where(deputy_stations.c.deputy_id == deputy_id)
            .order_by(Station.active.desc(), deputy_stations.c.position, Station.id)
            .limit(1)
        )
    ).scalar_one_or_none()


@dataclass(frozen=True)
class CodeRow:
    code: IntakeCode
    owner_name: str
    submission_count: int
    rotated_at: datetime | None


def codes_query(jurisdiction_id: int) -> Select[tuple[IntakeCode, str, int, datetime | None]]:
    """Codes with their owner's name, how many cases came in through each (counted by the database) and
    when its token last changed."""
    submissions = (
        select(func.count(Case.id))
        .where(Case.intake_code_id == IntakeCode.id)
        .correlate(IntakeCode)
        .scalar_subquery()
    )
    rotated = (
        select(func.max(RetiredIntakeToken.retired_at))
        .where(RetiredIntakeToken.intake_code_id == IntakeCode.id)
        .correlate(IntakeCode)
        .scalar_subquery()
    )
    return (
        select(IntakeCode, func.coalesce(Deputy.name, Station.name, ""), submissions, rotated)
        .outerjoin(Deputy, Deputy.id == IntakeCode.deputy_id)
        .outerjoin(Station, Station.id == IntakeCode.station_id)
        .where(IntakeCode.jurisdiction_id == jurisdiction_id)
    )


async def code_rows(
    session: AsyncSession, query: Select[tuple[IntakeCode, str, int, datetime | None]]
) -> list[CodeRow]:
    rows = await session.execute(query)
    return [
        CodeRow(code=code, owner_name=name, submission_count=count, rotated_at=rotated)
        for code, name, count, rotated in rows
    ]


async def code_by_token(session: AsyncSession, token: str) -> IntakeCode | None:
    return (await session.execute(select(IntakeCode).where(IntakeCode.token == token))).scalar_one_or_none()


async def token_was_retired(session: AsyncSession, token: str) -> bool:
    found = await session.execute(select(RetiredIntakeToken.token).where(RetiredIntakeToken.token == token))
    return found.first() is not None


async def active_categories(session: AsyncSession, jurisdiction_id: int) -> list[Category]:
    rows = await session.execute(
        select(Category)
        .where(Category.jurisdiction_id == jurisdiction_id, Category.active.is_(True))
        .order_by(Category.id)
    )
    return list(rows.scalars())
