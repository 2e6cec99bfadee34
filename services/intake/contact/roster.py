"""The roster (接待计划): which deputies receive citizens at a station on which date, usually planned for the
whole year at its start (年初排出全年代表接待计划) and replaced range by range."""

from __future__ import annotations

from datetime import date

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.contact import repository
from services.intake.contact.schedule import station_contact_days
from services.intake.contact.schemas import RosterDay, RosterIn, RosterOut, RosterWarning
from services.intake.errors import FieldErrors
from shared.db.models import RosterEntry, Station

NOT_A_CONTACT_DAY = "该日不是本站的联系日（按当前规则及增减安排），已保存；如需在该日接待，请增加联系日"


async def _checked(session: AsyncSession, station: Station, data: RosterIn) -> None:
    """Every date inside [from, to] and given once; every deputy an active one of the jurisdiction."""
    errors = FieldErrors()
    seen: dict[date, int] = {}
    for index, entry in enumerate(data.entries):
        if not data.from_ <= entry.day <= data.to:
            errors.add(f"entries.{index}.day", f"{entry.day} 不在 {data.from_} 至 {data.to} 之间")
        elif entry.day in seen:
            errors.add(f"entries.{index}.day", f"{entry.day} 重复，已见于第 {seen[entry.day] + 1} 条")
        else:
            seen[entry.day] = index
    wanted = list(dict.fromkeys(d for entry in data.entries for d in entry.deputy_ids))
    found = await repository.deputies_of(session, station.jurisdiction_id, wanted)
    unknown = [str(d) for d in wanted if d not in found]
    if unknown:
        errors.add("entries", f"代表不存在或不属于本辖区：{'、'.join(unknown)}")
    inactive = [f"{found[d].name}（{d}）" for d in wanted if d in found and not found[d].active]
    if inactive:
        errors.add("entries", f"代表已停用，不能排班：{'、'.join(inactive)}")
    errors.raise_if_any()


async def _warnings(
    session: AsyncSession, station: Station, start: date, end: date, days: list[date]
) -> list[RosterWarning]:
    contact = {d.day for d in await station_contact_days(session, station, start, end)}
    return [RosterWarning(day=day, message=NOT_A_CONTACT_DAY) for day in days if day not in contact]


async def get_roster(session: AsyncSession, station: Station, start: date, end: date) -> RosterOut:
    roster = await repository.rostered(session, station.id, start, end)
    days = sorted(roster)
    return RosterOut(
        station_id=station.id,
        from_=start,
        to=end,
        entries=[RosterDay(day=day, deputies=roster[day]) for day in days],
        warnings=await _warnings(session, station, start, end, days),
    )


async def put_roster(session: AsyncSession, station: Station, data: RosterIn) -> RosterOut:
    """Replaces the station's roster in [from, to] with the entries given (a date with no deputies has none).

    A date that is not a contact day of the station is kept and answered with a warning: the yearly plan is
    often made before a date is added, and refusing it would make the admin enter the plan twice.
    """
    await _checked(session, station, data)
    # Two plans for overlapping ranges at once are taken one after the other, never interleaved.
    await session.execute(select(Station.id).where(Station.id == station.id).with_for_update())
    await session.execute(
        delete(RosterEntry).where(
            RosterEntry.station_id == station.id, RosterEntry.day.between(data.from_, data.to)
        )
    )
    rows = [
        {
            "station_id": station.id,
            "day": entry.day,
            "deputy_id": deputy_id,
            "jurisdiction_id": station.jurisdiction_id,
        }
        for entry in data.entries
        for deputy_id in dict.fromkeys(entry.deputy_ids)
    ]
    if rows:
        await session.execute(insert(RosterEntry), rows)
    return await get_roster(session, station, data.from_, data.to)
