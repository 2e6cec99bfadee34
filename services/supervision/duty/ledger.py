"""The duty-point ledger: append-only and idempotent. Every entry is written by one INSERT ... ON CONFLICT DO
NOTHING on (deputy, action, source), so an event delivered again, replayed, or handled twice outside the inbox
never counts twice; entries are never edited or deleted, and an admin corrects with a new adjustment entry.
Years are counted in Asia/Shanghai time."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.supervision.duty import rules
from services.supervision.duty.labels import ACTION_LABELS, LEVEL_LABELS
from services.supervision.duty.schemas import ActionTotal, AdjustmentIn, DeputyBrief, DutyEntryOut
from services.supervision.errors import FieldInvalid
from shared.calendar import SHANGHAI
from shared.db.enums import DutyAction
from shared.db.models import Case, Deputy, DutyPointEntry
from shared.security.apikeys import Principal

SYSTEM = "system"
ADMIN = "admin"
# (entries, points) per action
Subtotals = dict[str, tuple[int, int]]


@dataclass(frozen=True)
class Award:
    """Points a deputy earns for one action, once per source."""

    deputy_id: int
    action: DutyAction
    source: str
    reason: str
    case_id: int | None = None
    reception_id: int | None = None


def year_bounds(year: int) -> tuple[datetime, datetime]:
    """The year's first moment and the next year's, in Asia/Shanghai."""
    return datetime(year, 1, 1, tzinfo=SHANGHAI), datetime(year + 1, 1, 1, tzinfo=SHANGHAI)


def current_year() -> int:
    return datetime.now(SHANGHAI).year


def brief(deputy: Deputy) -> DeputyBrief:
    return DeputyBrief(
        id=deputy.id,
        name=deputy.name,
        level=deputy.level,
        level_label=LEVEL_LABELS.get(deputy.level, deputy.level),
        active=deputy.active,
    )


async def award(
    session: AsyncSession, jurisdiction_id: int, awards: Sequence[Award], occurred_at: datetime
) -> int:
    """Writes the awards not written before, each with the points its rule gives now, for the deputies of
    the jurisdiction among them (others are ignored); answers how many entries are new."""
    if not awards:
        return 0
    known = set(
        await session.scalars(
            select(Deputy.id).where(
                Deputy.jurisdiction_id == jurisdiction_id, Deputy.id.in_({a.deputy_id for a in awards})
            )
        )
    )
    wanted = [a for a in awards if a.deputy_id in known]
    if not wanted:
        return 0
    points = await rules.points_for(session, jurisdiction_id, (a.action for a in wanted))
    result = await session.execute(
        pg_insert(DutyPointEntry)
        .values(
            [
                {
                    "jurisdiction_id": jurisdiction_id,
                    "deputy_id": a.deputy_id,
                    "action": a.action,
                    "points": points[a.action],
                    "reason": a.reason,
                    "source": a.source,
                    "case_id": a.case_id,
                    "reception_id": a.reception_id,
                    "occurred_at": occurred_at,
                    "created_by_type": SYSTEM,
                    "created_by_id": None,
                }
                for a in wanted
            ]
        )
        .on_conflict_do_nothing(
            index_elements=[DutyPointEntry.deputy_id, DutyPointEntry.action, DutyPointEntry.source]
        )
        .returning(DutyPointEntry.id)
    )
    return len(result.all())


async def adjust(
    session: AsyncSession, principal: Principal, deputy: Deputy, body: AdjustmentIn
) -> DutyEntryOut:
    """An admin's correction: a new entry of its own, never a change to another."""
    now = datetime.now(UTC)
    occurred_at = body.occurred_at or now
    if occurred_at > now:
        raise FieldInvalid("occurred_at", "调整的计入时间不能晚于现在")
    entry = DutyPointEntry(
        jurisdiction_id=deputy.jurisdiction_id,
        deputy_id=deputy.id,
        action=DutyAction.adjustment,
        points=body.points,
        reason=body.reason,
        source=f"adjustment:{uuid.uuid4()}",
        occurred_at=occurred_at,
        created_by_type=ADMIN,
        created_by_id=principal.key_id,
    )
    session.add(entry)
    await session.flush()
    (view,) = await _views(session, DutyPointEntry.id == entry.id)
    return view


async def _views(
    session: AsyncSession, *where: ColumnElement[bool], limit: int | None = None
) -> list[DutyEntryOut]:
    statement = (
        select(DutyPointEntry, Case.tracking_no)
        .outerjoin(Case, Case.id == DutyPointEntry.case_id)
        .where(*where)
        .order_by(DutyPointEntry.id.desc())
        .limit(limit)
    )
    return [
        DutyEntryOut(
            id=e.id,
            deputy_id=e.deputy_id,
            action=e.action,
            action_label=ACTION_LABELS.get(e.action, e.action),
            points=e.points,
            reason=e.reason,
            source=e.source,
            case_id=e.case_id,
            tracking_no=tracking_no,
            reception_id=e.reception_id,
            occurred_at=e.occurred_at,
            created_by_type=e.created_by_type,
            created_at=e.created_at,
        )
        for e, tracking_no in (await session.execute(statement)).tuples()
    ]


async def entries(
    session: AsyncSession, deputy: Deputy, year: int, *, limit: int, before_id: int | None
) -> list[DutyEntryOut]:
    """Up to ``limit`` + 1 of the year's entries of a deputy, newest written first, after a cursor."""
    start, end = year_bounds(year)
    where = [
        DutyPointEntry.deputy_id == deputy.id,
        DutyPointEntry.occurred_at >= start,
        DutyPointEntry.occurred_at < end,
    ]
    if before_id is not None:
        where.append(DutyPointEntry.id < before_id)
    return await _views(session, *where, limit=limit + 1)


async def subtotals(
    session: AsyncSession, jurisdiction_id: int, year: int, deputy_id: int | None = None
) -> dict[int, Subtotals]:
    """deputy id -> action -> (entries, points) over the year, for one deputy or the whole jurisdiction."""
    start, end = year_bounds(year)
    statement = (
        select(
            DutyPointEntry.deputy_id,
            DutyPointEntry.action,
            func.count(),
            func.coalesce(func.sum(DutyPointEntry.points), 0),
        )
        .where(
            DutyPointEntry.jurisdiction_id == jurisdiction_id,
            DutyPointEntry.occurred_at >= start,
            DutyPointEntry.occurred_at < end,
        )
        .group_by(DutyPointEntry.deputy_id, DutyPointEntry.action)
    )
    if deputy_id is not None:
        statement = statement.where(DutyPointEntry.deputy_id == deputy_id)
    totals: dict[int, Subtotals] = {}
    for deputy, action, count, points in (await session.execute(statement)).tuples():
        totals.setdefault(deputy, {})[action] = (int(count), int(points))
    return totals


def action_totals(per_action: Subtotals) -> list[ActionTotal]:
    """Every action in a fixed order, with its entries and points (0 when none)."""
    return [
        ActionTotal(
            action=action,
            label=ACTION_LABELS[action],
            count=per_action.get(action, (0, 0))[0],
            points=per_action.get(action, (0, 0))[1],
        )
        for action in DutyAction
    ]


def total(per_action: Subtotals) -> int:
    return sum(points for _, points in per_action.values())
