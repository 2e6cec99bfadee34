"""People's-congress deputies (人大代表) and the stations they sit in, per jurisdiction."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake import repository
from services.intake.errors import DeputyNotFound, FieldErrors
from services.intake.labels import DEPUTY_LEVEL_LABELS
from services.intake.schemas import DeputyIn, DeputyOut, DeputyPatch
from shared.db.models import Deputy, deputy_stations


async def get_deputy(session: AsyncSession, jurisdiction_id: int, deputy_id: int) -> Deputy:
    deputy = await session.get(Deputy, deputy_id)
    if deputy is None or deputy.jurisdiction_id != jurisdiction_id:
        raise DeputyNotFound()
    return deputy


def _out(deputy: Deputy, station_ids: list[int]) -> DeputyOut:
    return DeputyOut(
        id=deputy.id,
        name=deputy.name,
        level=deputy.level,
        level_label=DEPUTY_LEVEL_LABELS.get(deputy.level, deputy.level),
        station_ids=station_ids,
        active=deputy.active,
        created_at=deputy.created_at,
    )


async def deputy_out(session: AsyncSession, deputy: Deputy) -> DeputyOut:
    station_ids = await repository.station_ids_of(session, [deputy.id])
    return _out(deputy, station_ids[deputy.id])


async def _checked_station_ids(session: AsyncSession, jurisdiction_id: int, ids: Sequence[int]) -> list[int]:
    ordered = list(dict.fromkeys(ids))
    known = await repository.existing_station_ids(session, jurisdiction_id, ordered)
    unknown = [str(station_id) for station_id in ordered if station_id not in known]
    errors = FieldErrors()
    if unknown:
        errors.add("station_ids", f"联络站不存在：{'、'.join(unknown)}")
    errors.raise_if_any()
    return ordered


async def _set_stations(session: AsyncSession, deputy_id: int, station_ids: list[int]) -> None:
    await session.execute(delete(deputy_stations).where(deputy_stations.c.deputy_id == deputy_id))
    if station_ids:
        await session.execute(
            insert(deputy_stations),
            [
                {"deputy_id": deputy_id, "station_id": station_id, "position": position}
                for position, station_id in enumerate(station_ids)
            ],
        )


async def create_deputy(session: AsyncSession, jurisdiction_id: int, data: DeputyIn) -> DeputyOut:
    station_ids = await _checked_station_ids(session, jurisdiction_id, data.station_ids)
    deputy = Deputy(jurisdiction_id=jurisdiction_id, name=data.name, level=data.level, active=data.active)
    session.add(deputy)
    await session.flush()
    await _set_stations(session, deputy.id, station_ids)
    return _out(deputy, station_ids)


async def update_deputy(session: AsyncSession, deputy: Deputy, data: DeputyPatch) -> DeputyOut:
    given = data.model_fields_set
    station_ids = (
        await _checked_station_ids(session, deputy.jurisdiction_id, data.station_ids)
        if "station_ids" in given and data.station_ids is not None
        else None
    )
    if "name" in given and data.name is not None:
        deputy.name = data.name
    if "level" in given and data.level is not None:
        deputy.level = data.level
    if "active" in given and data.active is not None:
        deputy.active = data.active
    if station_ids is not None:
        await _set_stations(session, deputy.id, station_ids)
    await session.flush()
    return await deputy_out(session, deputy)


async def list_deputies(
    session: AsyncSession,
    jurisdiction_id: int,
    *,
    limit: int,
    after_id: int | None = None,
    active: bool | None = None,
    station_id: int | None = None,
) -> list[DeputyOut]:
    """Up to ``limit + 1`` deputies by id, so the caller can tell whether another page follows."""
    query = select(Deputy).where(Deputy.jurisdiction_id == jurisdiction_id)
    if after_id is not None:
        query = query.where(Deputy.id > after_id)
    if active is not None:
        query = query.where(Deputy.active.is_(active))
    if station_id is not None:
        query = query.where(
            Deputy.id.in_(
                select(deputy_stations.c.deputy_id).where(deputy_stations.c.station_id == station_id)
            )
        )
    deputies = list((await session.execute(query.order_by(Deputy.id).limit(limit + 1))).scalars())
    station_ids = await repository.station_ids_of(session, [d.id for d in deputies])
    return [_out(deputy, station_ids[deputy.id]) for deputy in deputies]
