"""The year's duty-point ranking of a jurisdiction's active deputies, as JSON rows and as CSV (UTF-8 with a
BOM, so Excel on Chinese Windows reads it right)."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.supervision.duty import ledger
from services.supervision.duty.labels import ACTION_LABELS, LEVEL_LABELS
from services.supervision.duty.schemas import RankingOut, RankingRow
from shared.db.enums import DutyAction
from shared.db.models import Deputy

CSV_HEADERS = ("排名", "代表", "层级", "总积分", *(ACTION_LABELS[a] for a in DutyAction))
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


async def ranking(session: AsyncSession, jurisdiction_id: int, year: int) -> RankingOut:
    """Every active deputy, highest total first (then by name); equal totals share a rank and the next
    rank skips as many (1, 1, 3). Deputies without an entry are listed with 0."""
    deputies = list(
        await session.scalars(
            select(Deputy)
            .where(Deputy.jurisdiction_id == jurisdiction_id, Deputy.active.is_(True))
            .order_by(Deputy.id)
        )
    )
    per_deputy = await ledger.subtotals(session, jurisdiction_id, year)
    totals = {d.id: ledger.total(per_deputy.get(d.id, {})) for d in deputies}
    ordered = sorted(deputies, key=lambda d: (-totals[d.id], d.name, d.id))
    rows: list[RankingRow] = []
    for position, deputy in enumerate(ordered, start=1):
        tied = bool(rows) and rows[-1].total == totals[deputy.id]
        rows.append(
            RankingRow(
                rank=rows[-1].rank if tied else position,
                deputy_id=deputy.id,
                name=deputy.name,
                level=deputy.level,
                level_label=LEVEL_LABELS.get(deputy.level, deputy.level),
                total=totals[deputy.id],
                actions=ledger.action_totals(per_deputy.get(deputy.id, {})),
            )
        )
    return RankingOut(year=year, items=rows)


def _safe(text: str) -> str:
    # A name that starts like a formula is kept as text by spreadsheet programs.
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def ranking_csv(data: RankingOut) -> bytes:
    """排名, 代表, 层级, 总积分, then the points of each action under its Chinese name."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADERS)
    for row in data.items:
        writer.writerow(
            [
                row.rank,
                _safe(row.name),
                row.level_label,
                row.total,
                *(action.points for action in row.actions),
            ]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")
