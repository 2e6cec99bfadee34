"""Deadline policies per jurisdiction: the tier durations and the working-day calendar they are counted on.

Routing reads these for the decline window and supervision for every deadline it records, so both count
the same way.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.calendar import WorkCalendar, due_at
from shared.db.models import CalendarOverride, CalendarYear, SlaPolicy

# Tier -> duration. Handling tiers come from the liaison stations' practice; the rest are windows.
DEFAULT_POLICIES: dict[str, dict[str, Any]] = {
    "immediate": {"working_days": 1},  # 即收即办
    "week": {"working_days": 5},  # 即收周办
    "month": {"months": 1},  # 即收月办
    "critical": {"hours": 24},  # 特急
    "deputy_suggestion": {"months": 3},  # 代表建议, statutory
    "rework": {"months": 1},  # 重新办理
    # 代表建议重新办理: a suggestion its deputy was dissatisfied with (2 months is a common local rule).
    "suggestion_rework": {"months": 1},
    "accept": {"working_days": 1},  # 签收
    "decline": {"working_days": 3},  # 退回 window
    "rating": {"days": 10},  # 满意度评价 window
}

TIER_LABELS = {
    "immediate": "即收即办",
    "week": "即收周办",
    "month": "即收月办",
    "critical": "特急",
    "deputy_suggestion": "代表建议",
    "rework": "重新办理",
    "suggestion_rework": "建议重新办理",
    "accept": "签收时限",
    "decline": "退回时限",
    "rating": "评价时限",
}

HANDLING_TIERS = ("immediate", "week", "month", "critical", "deputy_suggestion")


# A batch of events is applied in one session: its deadlines all read the same policies and calendar, so
# they are read once per session. Writers of either call forget_policies, so a session never sees its own
# change late.
_CACHE_KEY = "minyi.deadline_policies"


def _session_cache(session: AsyncSession) -> dict[tuple[str, int], Any]:
    cache: dict[tuple[str, int], Any] = session.info.setdefault(_CACHE_KEY, {})
    return cache


def forget_policies(session: AsyncSession) -> None:
    session.info.pop(_CACHE_KEY, None)


async def work_calendar(session: AsyncSession, jurisdiction_id: int) -> WorkCalendar:
    cache = _session_cache(session)
    found: WorkCalendar | None = cache.get(("calendar", jurisdiction_id))
    if found is None:
        rows = await session.execute(
            select(CalendarOverride.day, CalendarOverride.is_workday).where(
                CalendarOverride.jurisdiction_id == jurisdiction_id
            )
        )
        years = await session.scalars(
            select(CalendarYear.year).where(CalendarYear.jurisdiction_id == jurisdiction_id)
        )
        found = cache[("calendar", jurisdiction_id)] = WorkCalendar(
            overrides={day: is_workday for day, is_workday in rows}, loaded_years=frozenset(years)
        )
    return found


async def policies(session: AsyncSession, jurisdiction_id: int) -> dict[str, dict[str, Any]]:
    """Every tier's duration for a jurisdiction: its own policies over the defaults."""
    cache = _session_cache(session)
    found: dict[str, dict[str, Any]] | None = cache.get(("policies", jurisdiction_id))
    if found is None:
        rows = await session.execute(
            select(SlaPolicy.tier, SlaPolicy.duration).where(SlaPolicy.jurisdiction_id == jurisdiction_id)
        )
        found = cache[("policies", jurisdiction_id)] = {
            **DEFAULT_POLICIES,
            **{tier: dict(duration) for tier, duration in rows},
        }
    return found


async def policy(session: AsyncSession, jurisdiction_id: int, tier: str) -> dict[str, Any] | None:
    return (await policies(session, jurisdiction_id)).get(tier)


async def compute_due(
    session: AsyncSession,
    jurisdiction_id: int,
    start: datetime,
    tier: str,
    *,
    calendar: WorkCalendar | None = None,
) -> datetime | None:
    """When something of the given tier that started at ``start`` is due; None for an unknown tier."""
    duration = await policy(session, jurisdiction_id, tier)
    if duration is None:
        return None
    return due_at(start, duration, calendar or await work_calendar(session, jurisdiction_id))
