"""What a metrics row is called: the Chinese name (and code) of a department, category, committee, station,
deputy or grid, 未指定 for cases without one; months as "2026-11", ISO weeks as "2026-W47"."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db.models import Category, Committee, Department, Deputy, Grid, Station

NONE_LABEL = "未指定"
_MODELS: dict[str, Any] = {
    "department": Department,
    "category": Category,
    "top_category": Category,
    "committee": Committee,
    "station": Station,
    "deputy": Deputy,
    "grid": Grid,
}
_MONTH = re.compile(r"^([0-9]{4})-([0-9]{2})$")
_WEEK = re.compile(r"^([0-9]{4})-W([0-9]{2})$")


@dataclass(frozen=True)
class Label:
    label: str
    code: str | None = None


async def resolve_labels(
    session: AsyncSession, jurisdiction_id: int, dim: str, keys: list[int]
) -> dict[int, Label]:
    model = _MODELS[dim]
    labels = {0: Label(NONE_LABEL)}
    wanted = [key for key in keys if key]
    if wanted:
        code = getattr(model, "code", None)
        columns = [model.id, model.name] + ([code] if code is not None else [])
        rows = await session.execute(
            select(*columns).where(model.id.in_(wanted), model.jurisdiction_id == jurisdiction_id)
        )
        for row in rows:
            labels[row[0]] = Label(row[1], row[2] if code is not None else None)
    return {key: labels.get(key, Label(f"#{key}")) for key in keys}


def period_key(group_by: str, start: date) -> str:
    if group_by == "month":
        return f"{start.year:04d}-{start.month:02d}"
    year, week, _ = start.isocalendar()
    return f"{year:04d}-W{week:02d}"


def period_label(group_by: str, start: date) -> str:
    """The month as "2026-11"; the week as "2026-W47（11-16 起）" (its Monday)."""
    key = period_key(group_by, start)
    return key if group_by == "month" else f"{key}（{start.month:02d}-{start.day:02d} 起）"


def period_start(group_by: str, key: str) -> date | None:
    """The first day of the month or the Monday of the ISO week a key names; None if it names none."""
    try:
        if group_by == "month" and (match := _MONTH.match(key)):
            return date(int(match[1]), int(match[2]), 1)
        if group_by == "week" and (match := _WEEK.match(key)):
            return date.fromisocalendar(int(match[1]), int(match[2]), 1)
    except ValueError:
        return None
    return None


def periods(group_by: str, first: date, last: date) -> Iterator[date]:
    """The first day of every month, or the Monday of every week, that [first, last] touches."""
    if group_by == "month":
        current = first.replace(day=1)
        while current <= last:
            yield current
            current = date(current.year + current.month // 12, current.month % 12 + 1, 1)
    else:
        current = first - timedelta(days=first.weekday())
        while current <= last:
            yield current
            current += timedelta(days=7)
