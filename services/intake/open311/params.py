"""Reading the query parameters GeoReport clients send: the jurisdiction, ISO 8601 times, comma lists and
the request window. Everything arrives as text and is checked here, so bad input is a 400, never a 500."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.open311.errors import BadRequest, JurisdictionNotFound, JurisdictionRequired
from shared.calendar import SHANGHAI
from shared.db.models import Jurisdiction

# The spec's limits on GET requests: a window of at most 90 days (the last 90 by default), 1,000 results.
WINDOW = timedelta(days=90)
MAX_RESULTS = 1000

_PRINTABLE = re.compile(r"^[\x21-\x7e]+$")


@dataclass(frozen=True)
class JurisdictionRef:
    id: int
    code: str


def has_bad_chars(value: str) -> bool:
    """Text PostgreSQL cannot hold (NUL) or UTF-8 cannot encode (lone surrogates)."""
    return "\x00" in value or any("\ud800" <= ch <= "\udfff" for ch in value)


def code_like(value: str | None, name: str, max_length: int) -> str | None:
    """A code or an id: visible ASCII, at most ``max_length`` characters; blank is None."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if len(value) > max_length or not _PRINTABLE.match(value):
        raise BadRequest(f"{name} 格式有误")
    return value


def comma_list(value: str | None, name: str, *, max_items: int, max_length: int) -> list[str] | None:
    """``a,b,c`` as a list without blanks or repeats; None when absent or blank."""
    if value is None:
        return None
    items = [item.strip() for item in value.split(",") if item.strip()]
    if not items:
        return None
    if len(items) > max_items:
        raise BadRequest(f"{name} 最多 {max_items} 个")
    return list(dict.fromkeys(code_like(item, name, max_length) or "" for item in items))


def parse_time(value: str | None, name: str) -> datetime | None:
    """ISO 8601 (2026-11-30T08:00:00+08:00, ...Z, or a date); without an offset it is Beijing time."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if len(text) > 40:
        raise BadRequest(f"{name} 时间格式有误，应为 ISO 8601，例如 2026-11-30T08:00:00+08:00")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise BadRequest(f"{name} 时间格式有误，应为 ISO 8601，例如 2026-11-30T08:00:00+08:00") from None
    # Far enough from the calendar's ends that a 90-day window and the time zones stay representable.
    if not 1900 <= moment.year <= 9000:
        raise BadRequest(f"{name} 超出可查询的时间范围")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=SHANGHAI)
    return moment.astimezone(UTC)


def window(start: datetime | None, end: datetime | None, now: datetime) -> tuple[datetime, datetime]:
    """The requested_datetime range [start, end]: the last 90 days by default; one bound given, the 90 days
    after the start or before the end; both given, at most 90 days apart."""
    if start is None and end is None:
        return now - WINDOW, now
    if start is None:
        assert end is not None
        return end - WINDOW, end
    if end is None:
        return start, start + WINDOW
    if start > end:
        raise BadRequest("start_date 不能晚于 end_date")
    if end - start > WINDOW:
        raise BadRequest("start_date 与 end_date 相隔不能超过 90 天")
    return start, end


async def jurisdiction(
    session: AsyncSession, code: str | None, *, required: bool = True
) -> JurisdictionRef | None:
    """The jurisdiction named by ``jurisdiction_id`` (our jurisdiction code). Left out, it is the only
    jurisdiction there is; with several, it must be given (400) unless not ``required`` (then None: ids
    that are unique across jurisdictions, like tracking numbers, are looked up everywhere)."""
    wanted = code_like(code, "jurisdiction_id", 16)
    if wanted is not None:
        row = (
            await session.execute(
                select(Jurisdiction.id, Jurisdiction.code).where(Jurisdiction.code == wanted)
            )
        ).one_or_none()
        if row is None:
            raise JurisdictionNotFound()
        return JurisdictionRef(row.id, row.code)
    if not required:
        return None
    rows = (
        await session.execute(select(Jurisdiction.id, Jurisdiction.code).order_by(Jurisdiction.id).limit(2))
    ).all()
    if not rows:
        raise JurisdictionNotFound()
    if len(rows) > 1:
        raise JurisdictionRequired()
    return JurisdictionRef(rows[0].id, rows[0].code)


def beijing(moment: datetime) -> datetime:
    """As answered: Beijing time, to the second."""
    return moment.astimezone(SHANGHAI).replace(microsecond=0)
