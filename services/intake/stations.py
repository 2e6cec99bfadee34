"""Liaison stations (代表联络站 / 代表之家 / 联络点) and the grids they serve, per jurisdiction."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake import repository
from services.intake.errors import FieldErrors, StationCodeTaken, StationNotFound
from services.intake.labels import STATION_KIND_LABELS
from services.intake.schemas import StationIn, StationOut, StationPatch
from shared.db.models import Station, station_grids


async def get_station(session: AsyncSession, jurisdiction_id: int, station_id: int) -> Station:
    station = await session.get(Station, station_id)
    if station is None or station.jurisdiction_id != jurisdiction_id:
        raise StationNotFound()
    return station


def _out(station: Station, grid_codes: list[str]) -> StationOut:
    return StationOut(
        id=station.id,
        name=station.name,
        code=station.code,
        kind=station.kind,
        kind_label=STATION_KIND_LABELS.get(station.kind, station.kind),
        grid_codes=grid_codes,
        address=station.address,
        lat=station.lat,
        long=station.long,
        active=station.active,
        created_at=station.created_at,
    )


async def station_out(session: AsyncSession, station: Station) -> StationOut:
    grid_codes = await repository.grid_codes_of(session, [station.id])
    return _out(station, grid_codes[station.id])


async def _grid_ids(session: AsyncSession, jurisdiction_id: int, codes: Sequence[str]) -> list[int]:
    """The grids' ids in the given order (repeats dropped); unknown codes are a 422 on grid_codes."""
    ordered = list(dict.fromkeys(codes))
    grids = await repository.grids_by_code(session, jurisdiction_id, ordered)
    unknown = [code for code in ordered if code not in grids]
    errors = FieldErrors()
    if unknown:
        errors.add("grid_codes", f"网格编码不存在：{'、'.join(unknown)}")
    errors.raise_if_any()
    return [grids[code].id for code in ordered]


async def _set_grids(session: AsyncSession, station_id: int, grid_ids: list[int]) -> None:
    await session.execute(delete(station_grids).where(station_grids.c.station_id == station_id))
    if grid_ids:
        await session.execute(
            insert(station_grids),
            [
                {"station_id": station_id, "grid_id": grid_id, "position": position}
                for position, grid_id in enumerate(grid_ids)
            ],
        )


async def _ensure_code_free(session: AsyncSession, code: str, own_id: int | None = None) -> None:
    """Codes are unique across jurisdictions: /s/{code} names one station everywhere."""
    taken = await session.scalar(select(Station.id).where(Station.code == code))
    if taken is not None and taken != own_id:
        raise StationCodeTaken(code)


async def _flush_code(session: AsyncSession, code: str | None) -> None:
    """Flushes; a code taken by a concurrent request meanwhile is the same 409, not a 500."""
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        if code is not None and "uq_stations_code" in str(exc.orig):
            raise StationCodeTaken(code) from exc
        raise


async def create_station(session: AsyncSession, jurisdiction_id: int, data: StationIn) -> StationOut:
    grid_ids = await _grid_ids(session, jurisdiction_id, data.grid_codes)
    if data.code is not None:
        await _ensure_code_free(session, data.code)
    station = Station(
        jurisdiction_id=jurisdiction_id,
        name=data.name,
        kind=data.kind,
        address=data.address,
        lat=data.lat,
        long=data.long,
        active=data.active,
    )
    if data.code is not None:
        # Left unset otherwise: the database's trigger names it, and the insert returns the name.
        station.code = data.code
    session.add(station)
    await _flush_code(session, data.code)
    await _set_grids(session, station.id, grid_ids)
    return await station_out(session, station)


async def update_station(session: AsyncSession, station: Station, data: StationPatch) -> StationOut:
    given = data.model_fields_set
    grid_ids = (
        await _grid_ids(session, station.jurisdiction_id, data.grid_codes)
        if "grid_codes" in given and data.grid_codes is not None
        else None
    )
    if "code" in given and data.code is not None and data.code != station.code:
        await _ensure_code_free(session, data.code, station.id)
        station.code = data.code
    if "name" in given and data.name is not None:
        station.name = data.name
    if "kind" in given and data.kind is not None:
        station.kind = data.kind
    if "active" in given and data.active is not None:
        station.active = data.active
    for field in ("address", "lat", "long"):
        if field in given:
            setattr(station, field, getattr(data, field))
    if grid_ids is not None:
        await _set_grids(session, station.id, grid_ids)
    await _flush_code(session, data.code if "code" in given else None)
    return await station_out(session, station)


async def list_stations(
    session: AsyncSession,
    jurisdiction_id: int,
    *,
    limit: int,
    after_id: int | None = None,
    active: bool | None = None,
) -> list[StationOut]:
    """Up to ``limit + 1`` stations by id, so the caller can tell whether another page follows."""
    query = select(Station).where(Station.jurisdiction_id == jurisdiction_id)
    if after_id is not None:
        query = query.where(Station.id > after_id)
    if active is not None:
        query = query.where(Station.active.is_(active))
    stations = list((await session.execute(query.order_by(Station.id).limit(limit + 1))).scalars())
    grid_codes = await repository.grid_codes_of(session, [s.id for s in stations])
    return [_out(station, grid_codes[station.id]) for station in stations]
