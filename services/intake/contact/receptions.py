"""Reception records (接待登记): a station's reception on a day, the deputies present, how many citizens came
and what was settled on the spot, linked to the cases raised. Each record sends ``reception.recorded``."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import ColumnElement, Select, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.contact import repository
from services.intake.contact.errors import NotPresentAtReception
from services.intake.contact.schedule import today
from services.intake.contact.schemas import (
    ReceptionCase,
    ReceptionIn,
    ReceptionOut,
    RecordedBy,
    RosteredDeputy,
)
from services.intake.errors import FieldErrors
from services.workflow import jurisdiction_code
from shared.calendar import SHANGHAI
from shared.db.enums import CaseKind, Role
from shared.db.models import Case, Deputy, Reception, Station, reception_cases, reception_deputies
from shared.events.outbox import emit
from shared.security.apikeys import Principal

EVENT_TYPE = "reception.recorded"


@dataclass(frozen=True)
class ReceptionFilters:
    station_id: int | None = None
    deputy_id: int | None = None
    held_from: date | None = None  # inclusive
    held_to: date | None = None  # inclusive


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The Beijing-time day as a half-open UTC interval."""
    start = datetime.combine(day, time(0), tzinfo=SHANGHAI)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


async def _that_days_cases(session: AsyncSession, station: Station, day: date) -> list[int]:
    """Citizens' cases that came in through the station's codes on that day (Beijing time): those of the
    station's own codes and of its deputies' codes, which file their cases under the station."""
    start, end = day_bounds(day)
    rows = await session.scalars(
        select(Case.id).where(
            Case.jurisdiction_id == station.jurisdiction_id,
            Case.station_id == station.id,
            Case.kind == CaseKind.citizen,
            Case.intake_code_id.is_not(None),
            Case.created_at >= start,
            Case.created_at < end,
        )
    )
    return list(rows)


async def _checked(session: AsyncSession, principal: Principal, station: Station, data: ReceptionIn) -> None:
    if principal.role == Role.deputy and principal.deputy_id not in data.deputy_ids:
        raise NotPresentAtReception()
    errors = FieldErrors()
    if data.held_on > today():
        errors.add("held_on", "接待日期不能晚于今天")
    deputy_ids = list(dict.fromkeys(data.deputy_ids))
    found = await repository.deputies_of(session, station.jurisdiction_id, deputy_ids)
    unknown = [str(d) for d in deputy_ids if d not in found]
    if unknown:
        errors.add("deputy_ids", f"代表不存在或不属于本辖区：{'、'.join(unknown)}")
    case_ids = list(dict.fromkeys(data.case_ids))
    if case_ids:
        known = set(
            await session.scalars(
                select(Case.id).where(Case.jurisdiction_id == station.jurisdiction_id, Case.id.in_(case_ids))
            )
        )
        missing = [str(c) for c in case_ids if c not in known]
        if missing:
            errors.add("case_ids", f"受理事项不存在或不属于本辖区：{'、'.join(missing)}")
    errors.raise_if_any()


async def record_reception(
    session: AsyncSession, principal: Principal, station: Station, data: ReceptionIn
) -> ReceptionOut:
    """Records a reception; a deputy key records only one its deputy was at (403 otherwise)."""
    await _checked(session, principal, station, data)
    now = datetime.now(UTC)
    reception = Reception(
        jurisdiction_id=station.jurisdiction_id,
        station_id=station.id,
        held_on=data.held_on,
        citizens_received=data.citizens_received,
        answered_on_spot=data.answered_on_spot,
        note=data.note,
        recorded_by_type=principal.role,
        recorded_by_id=principal.key_id,
    )
    session.add(reception)
    await session.flush()
    deputy_ids = list(dict.fromkeys(data.deputy_ids))
    case_ids = sorted({*await _that_days_cases(session, station, data.held_on), *data.case_ids})
    await session.execute(
        insert(reception_deputies), [{"reception_id": reception.id, "deputy_id": d} for d in deputy_ids]
    )
    if case_ids:
        await session.execute(
            insert(reception_cases), [{"reception_id": reception.id, "case_id": c} for c in case_ids]
        )
    # Counts and ids only: the note may name citizens, so it stays out of every event.
    await emit(
        session,
        type=EVENT_TYPE,
        jurisdiction_id=station.jurisdiction_id,
        case_id=None,
        payload={
            "reception_id": reception.id,
            "station_id": station.id,
            "jurisdiction": await jurisdiction_code(session, station.jurisdiction_id),
            "held_on": data.held_on.isoformat(),
            "deputy_ids": deputy_ids,
            "citizens_received": data.citizens_received,
            "answered_on_spot": data.answered_on_spot,
            "case_ids": case_ids,
        },
        occurred_at=now,
    )
    (out,) = await reception_outs(session, [(reception, station.name)])
    return out


# Reading --------------------------------------------------------------------------------------------------


def _where(jurisdiction_id: int, filters: ReceptionFilters) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [Reception.jurisdiction_id == jurisdiction_id]
    if filters.station_id is not None:
        where.append(Reception.station_id == filters.station_id)
    if filters.held_from is not None:
        where.append(Reception.held_on >= filters.held_from)
    if filters.held_to is not None:
        where.append(Reception.held_on <= filters.held_to)
    if filters.deputy_id is not None:
        where.append(
            Reception.id.in_(
                select(reception_deputies.c.reception_id).where(
                    reception_deputies.c.deputy_id == filters.deputy_id
                )
            )
        )
    return where


def receptions_query(jurisdiction_id: int, filters: ReceptionFilters) -> Select[tuple[Reception, str]]:
    return (
        select(Reception, Station.name)
        .join(Station, Station.id == Reception.station_id)
        .where(*_where(jurisdiction_id, filters))
    )


async def reception_outs(session: AsyncSession, rows: Sequence[tuple[Reception, str]]) -> list[ReceptionOut]:
    ids = [reception.id for reception, _ in rows]
    deputies: dict[int, list[RosteredDeputy]] = defaultdict(list)
    cases: dict[int, list[ReceptionCase]] = defaultdict(list)
    if ids:
        for reception_id, deputy in await session.execute(
            select(reception_deputies.c.reception_id, Deputy)
            .join(Deputy, Deputy.id == reception_deputies.c.deputy_id)
            .where(reception_deputies.c.reception_id.in_(ids))
            .order_by(reception_deputies.c.reception_id, Deputy.id)
        ):
            deputies[reception_id].append(repository.deputy_out(deputy))
        for reception_id, case_id, tracking_no in await session.execute(
            select(reception_cases.c.reception_id, Case.id, Case.tracking_no)
            .join(Case, Case.id == reception_cases.c.case_id)
            .where(reception_cases.c.reception_id.in_(ids))
            .order_by(reception_cases.c.reception_id, Case.id)
        ):
            cases[reception_id].append(ReceptionCase(id=case_id, tracking_no=tracking_no))
    return [
        ReceptionOut(
            id=reception.id,
            station_id=reception.station_id,
            station_name=station_name,
            held_on=reception.held_on,
            deputies=deputies[reception.id],
            citizens_received=reception.citizens_received,
            answered_on_spot=reception.answered_on_spot,
            cases=cases[reception.id],
            note=reception.note,
            recorded_by=RecordedBy(type=reception.recorded_by_type, id=reception.recorded_by_id),
            created_at=reception.created_at,
        )
        for reception, station_name in rows
    ]


async def list_receptions(
    session: AsyncSession,
    jurisdiction_id: int,
    filters: ReceptionFilters,
    *,
    limit: int,
    before_id: int | None = None,
) -> list[ReceptionOut]:
    """Up to ``limit + 1`` receptions, newest recorded first (the cursor continues below ``before_id``)."""
    query = receptions_query(jurisdiction_id, filters)
    if before_id is not None:
        query = query.where(Reception.id < before_id)
    rows = (await session.execute(query.order_by(Reception.id.desc()).limit(limit + 1))).tuples().all()
    return await reception_outs(session, rows)
