"""A jurisdiction's working-day overrides and deadline tier policies, and the due-date preview built on them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, extract, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.supervision.errors import FieldInvalid, OverrideNotFound, UnknownTier
from services.supervision.schemas import (
    EARLIEST_YEAR,
    LATEST_YEAR,
    CalendarOverrideIn,
    CalendarOverrideOut,
    DuePreview,
    SlaPolicyIn,
    SlaPolicyOut,
)
from services.workflow.deadlines import (
    DEFAULT_POLICIES,
    TIER_LABELS,
    compute_due,
    forget_policies,
    policies,
    work_calendar,
)
from shared.calendar import SHANGHAI, InvalidDuration, validate_duration
from shared.db.enums import CalendarSource
from shared.db.models import CalendarOverride, SlaPolicy
from shared.errors import Unprocessable

# Upper bounds keep deadline arithmetic finite and inside the calendar (a statutory extension reaches 6 months).
DURATION_LIMITS = {"working_days": 500, "days": 730, "months": 24, "hours": 17_520, "seconds": 63_072_000}
UNIT_LABELS = {"working_days": "个工作日", "days": "天", "months": "个月", "hours": "小时", "seconds": "秒"}
WHOLE_NUMBER_LABELS = {"working_days": "工作日数", "days": "天数", "months": "月数"}


def duration_problem(duration: Mapping[str, Any]) -> str | None:
    """Why a tier duration is unacceptable, in Chinese; None when it is fine."""
    try:
        unit, amount = validate_duration(duration)
    except InvalidDuration:
        if len(duration) != 1:
            return "时限须且只能包含一个单位：working_days、days、months、hours 或 seconds"
        ((unit, amount),) = duration.items()
        if unit not in DURATION_LIMITS:
            return f"未知的时限单位“{unit}”，应为 working_days、days、months、hours 或 seconds"
        if isinstance(amount, bool) or not isinstance(amount, int | float) or amount <= 0:
            return "时限数值须为正数"
        return f"{WHOLE_NUMBER_LABELS.get(unit, unit)}须为整数"
    if amount > DURATION_LIMITS[unit]:
        return f"时限过长：最多 {DURATION_LIMITS[unit]} {UNIT_LABELS[unit]}"
    return None


async def preview_due(session: AsyncSession, jurisdiction_id: int, start: datetime, tier: str) -> DuePreview:
    """The due time something of ``tier`` started at ``start`` would get in this jurisdiction."""
    if start.tzinfo is None:
        raise FieldInvalid("from", "时间须带时区，例如 2026-09-30T10:00:00+08:00")
    if not EARLIEST_YEAR <= start.year <= LATEST_YEAR:
        raise FieldInvalid("from", f"时间须在 {EARLIEST_YEAR} 至 {LATEST_YEAR} 年之间")
    if tier not in await policies(session, jurisdiction_id):
        raise UnknownTier(tier)
    calendar = (await work_calendar(session, jurisdiction_id)).counting()
    try:
        due = await compute_due(session, jurisdiction_id, start, tier, calendar=calendar)
    except (InvalidDuration, OverflowError, ValueError) as exc:
        raise Unprocessable("无法按该时限档次计算期限") from exc
    if due is None:
        raise UnknownTier(tier)
    return DuePreview(
        due_at=due.astimezone(SHANGHAI),
        tier=tier,
        from_=start.astimezone(SHANGHAI),
        assumed=bool(calendar.assumed_days),
        assumed_days=sorted(calendar.assumed_days),
    )


# --- overrides ---------------------------------------------------------------------------------------------


def override_out(row: CalendarOverride) -> CalendarOverrideOut:
    return CalendarOverrideOut(date=row.day, is_workday=row.is_workday, note=row.note, source=row.source)


async def list_overrides(
    session: AsyncSession, jurisdiction_id: int, year: int | None = None
) -> list[CalendarOverrideOut]:
    query = select(CalendarOverride).where(CalendarOverride.jurisdiction_id == jurisdiction_id)
    if year is not None:
        query = query.where(extract("year", CalendarOverride.day) == year)
    rows = await session.execute(query.order_by(CalendarOverride.day))
    return [override_out(row) for row in rows.scalars()]


async def upsert_overrides(
    session: AsyncSession, jurisdiction_id: int, items: Sequence[CalendarOverrideIn]
) -> list[CalendarOverrideOut]:
    """Sets each date's working-day status (and note), replacing what the date had; returns all overrides.

    A hand edit is the jurisdiction's own (local), even on a date a loaded official schedule set: loading that
    year again keeps it.
    """
    for index, item in enumerate(items):
        if not EARLIEST_YEAR <= item.date.year <= LATEST_YEAR:
            raise FieldInvalid(f"items.{index}.date", f"日期须在 {EARLIEST_YEAR} 至 {LATEST_YEAR} 年之间")
    forget_policies(session)
    statement = pg_insert(CalendarOverride).values(
        [
            {
                "jurisdiction_id": jurisdiction_id,
                "day": item.date,
                "is_workday": item.is_workday,
                "note": item.note,
                "source": CalendarSource.local,
            }
            for item in items
        ]
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[CalendarOverride.jurisdiction_id, CalendarOverride.day],
            set_={
                "is_workday": statement.excluded.is_workday,
                "note": statement.excluded.note,
                "source": statement.excluded.source,
            },
        )
    )
    return await list_overrides(session, jurisdiction_id)


async def delete_override(session: AsyncSession, jurisdiction_id: int, day: date) -> None:
    forget_policies(session)
    result = await session.execute(
        delete(CalendarOverride)
        .where(CalendarOverride.jurisdiction_id == jurisdiction_id, CalendarOverride.day == day)
        .returning(CalendarOverride.id)
    )
    if result.first() is None:
        raise OverrideNotFound()


# --- tier policies -----------------------------------------------------------------------------------------


async def list_policies(session: AsyncSession, jurisdiction_id: int) -> list[SlaPolicyOut]:
    """Every tier with its effective duration, the built-in default and whether the default applies."""
    own = {
        tier: dict(duration)
        for tier, duration in await session.execute(
            select(SlaPolicy.tier, SlaPolicy.duration).where(SlaPolicy.jurisdiction_id == jurisdiction_id)
        )
    }
    return [
        SlaPolicyOut(
            tier=tier,
            label=TIER_LABELS.get(tier, tier),
            duration=own.get(tier, default),
            default_duration=default,
            is_default=tier not in own,
        )
        for tier, default in DEFAULT_POLICIES.items()
    ]


async def set_policies(
    session: AsyncSession, jurisdiction_id: int, items: Sequence[SlaPolicyIn]
) -> list[SlaPolicyOut]:
    """Sets the given tiers' durations (null restores the default); all or nothing."""
    problems = []
    for index, item in enumerate(items):
        if item.tier not in DEFAULT_POLICIES:
            problems.append({"field": f"items.{index}.tier", "message": f"未知的时限档次“{item.tier}”"})
        elif item.duration is not None and (problem := duration_problem(item.duration)) is not None:
            problems.append({"field": f"items.{index}.duration", "message": problem})
    if problems:
        raise Unprocessable(problems[0]["message"], details=problems)
    forget_policies(session)
    for item in items:
        if item.duration is None:
            await session.execute(
                delete(SlaPolicy).where(
                    SlaPolicy.jurisdiction_id == jurisdiction_id, SlaPolicy.tier == item.tier
                )
            )
            continue
        unit, amount = validate_duration(item.duration)
        duration = {unit: int(amount) if amount == int(amount) else amount}
        statement = pg_insert(SlaPolicy).values(
            jurisdiction_id=jurisdiction_id,
            tier=item.tier,
            duration=duration,
            name=TIER_LABELS.get(item.tier),
        )
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=[SlaPolicy.jurisdiction_id, SlaPolicy.tier],
                set_={"duration": statement.excluded.duration},
            )
        )
    await session.flush()
    return await list_policies(session, jurisdiction_id)
