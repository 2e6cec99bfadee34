"""Receptions as CSV for Excel on Chinese Windows: UTF-8 with a BOM, Chinese headers, by date. Streamed in
chunks read in one read-only transaction of its own, so a year of records never sits in memory at once."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterable
from datetime import date

from sqlalchemy import and_, or_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.intake.contact.receptions import ReceptionFilters, reception_outs, receptions_query
from services.intake.contact.schemas import ReceptionOut
from shared.db.models import Reception

HEADERS = (
    "日期",
    "联络站",
    "接待代表",
    "接待群众人数",
    "现场提出问题数",
    "当场答复数",
    "备注",
    "关联受理编号",
)
CHUNK = 500
# A cell starting with one of these is a formula to Excel: prefixed with ' it is shown as typed.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _safe(text: str | None) -> str:
    if not text:
        return ""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _cells(reception: ReceptionOut) -> list[str]:
    return [
        reception.held_on.isoformat(),
        _safe(reception.station_name),
        _safe("、".join(d.name for d in reception.deputies)),
        str(reception.citizens_received),
        str(len(reception.cases)),
        str(reception.answered_on_spot),
        _safe(reception.note),
        " ".join(c.tracking_no for c in reception.cases),
    ]


def _lines(rows: Iterable[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode("utf-8")


async def reception_csv(
    sessions: async_sessionmaker[AsyncSession], jurisdiction_id: int, filters: ReceptionFilters
) -> AsyncIterator[bytes]:
    """The header (after the BOM), then the receptions by date and id, a chunk at a time."""
    yield "\ufeff".encode() + _lines([list(HEADERS)])
    async with sessions() as session, session.begin():
        last: tuple[date, int] | None = None
        while True:
            query = receptions_query(jurisdiction_id, filters)
            if last is not None:
                held_on, last_id = last
                query = query.where(
                    or_(
                        Reception.held_on > held_on,
                        and_(Reception.held_on == held_on, Reception.id > last_id),
                    )
                )
            rows = (
                (await session.execute(query.order_by(Reception.held_on, Reception.id).limit(CHUNK)))
                .tuples()
                .all()
            )
            if not rows:
                return
            yield _lines(_cells(out) for out in await reception_outs(session, rows))
            last = (rows[-1][0].held_on, rows[-1][0].id)
            if len(rows) < CHUNK:
                return
