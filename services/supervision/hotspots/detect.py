"""Finding hot spots (热点): citizens' cases clustering by grid and top-level category within a sliding window.

Each run, per jurisdiction, in one transaction:

1. The candidates are the jurisdiction's citizens' cases (not merged or rejected) with a grid and a category,
   received within the window that ends now (``hotspot_window_days`` of metric_settings, default 7) and in no
   hot spot yet. They are grouped by grid and *top-level* category: neighbours raising the same kind of thing
   (a pile of rubbish filed under 市容环卫 by one and 占道经营 by another is one matter in the street), which
   also makes a cluster robust to the classifier's hesitation between sibling sub-categories.
2. A group of at least ``hotspot_min_cases`` (default 5) with no open hot spot becomes one: inserted under the
   unique partial index uq_hotspots_open with ON CONFLICT DO NOTHING, its cases in hotspot_cases, and
   ``hotspot.detected`` emitted in the same transaction, so once per cluster however often detection runs.
3. An open hot spot takes every candidate of its grid and category: cases keep joining while they come.
4. Text: a candidate of the same grid whose top-level category differs or is missing joins an open hot spot
   when its words are very like one of the cluster's (services.supervision.hotspots.similar).
5. An open hot spot whose latest case is older than the window closes.

A case belongs to one hot spot at most: one that was converted into a suggestion keeps its cases, and new
cases of the same grid and category start counting afresh. Workers may run at once: a transaction-scoped
advisory lock per jurisdiction lets one detect while the others skip it, and the open hot spots are locked
FOR UPDATE, so a conversion on intake_api (which locks its hot spot too) waits for a run or the run for it.

Cost: the candidates are read through the (jurisdiction_id, created_at) index, so a run reads the window's
cases of the jurisdiction once, plus the few cases of open hot spots for the text comparison.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.supervision.hotspots import similar
from services.supervision.hotspots.members import join_cases
from services.supervision.hotspots.schemas import Detection
from services.workflow import jurisdiction_code
from shared.db.enums import HotspotStatus
from shared.db.models import Category, Grid, Hotspot, Jurisdiction, MetricSettings, hotspot_cases
from shared.events.outbox import emit

log = structlog.get_logger("minyi.hotspots")

EVENT_TYPE = "hotspot.detected"
# metric_settings' own defaults, for a jurisdiction without a row.
DEFAULT_MIN_CASES = 5
DEFAULT_WINDOW_DAYS = 7


@dataclass(frozen=True)
class HotspotSettings:
    min_cases: int
    window: timedelta


async def hotspot_settings(session: AsyncSession, jurisdiction_id: int) -> HotspotSettings:
    row = (
        await session.execute(
            select(MetricSettings.hotspot_min_cases, MetricSettings.hotspot_window_days).where(
                MetricSettings.jurisdiction_id == jurisdiction_id
            )
        )
    ).first()
    if row is None:
        return HotspotSettings(DEFAULT_MIN_CASES, timedelta(days=DEFAULT_WINDOW_DAYS))
    return HotspotSettings(row.hotspot_min_cases, timedelta(days=row.hotspot_window_days))


_TRY_LOCK = text("SELECT pg_try_advisory_xact_lock(hashtextextended(:name, 0))")

_LOCK_OPEN = text(
    """
    SELECT id FROM hotspots
    WHERE jurisdiction_id = :jurisdiction_id AND status = 'open'
    ORDER BY id
    FOR UPDATE
    """
)

# The candidates grouped by grid and top-level category, each group with the open hot spot it joins (if
# any); only groups that join one or are large enough to open one come back.
_GROUPS = text(
    """
    WITH open_spots AS (
        SELECT id, grid_id, category_id FROM hotspots
        WHERE jurisdiction_id = :jurisdiction_id AND status = 'open'
    ), candidates AS (
        SELECT c.id, c.grid_id, coalesce(cat.parent_id, cat.id) AS category_id, c.created_at
        FROM cases c
        JOIN categories cat ON cat.id = c.category_id
        WHERE c.jurisdiction_id = :jurisdiction_id
          AND c.created_at > :since AND c.created_at <= :now
          AND c.kind = 'citizen' AND c.status NOT IN ('merged', 'rejected')
          AND c.grid_id IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM hotspot_cases hc WHERE hc.case_id = c.id)
    )
    SELECT c.grid_id, c.category_id, o.id AS hotspot_id,
           min(c.created_at) AS first_at, max(c.created_at) AS last_at,
           array_agg(c.id ORDER BY c.created_at, c.id) AS case_ids
    FROM candidates c
    LEFT JOIN open_spots o ON o.grid_id = c.grid_id AND o.category_id = c.category_id
    GROUP BY c.grid_id, c.category_id, o.id
    HAVING o.id IS NOT NULL OR count(*) >= :min_cases
    ORDER BY min(c.created_at), c.grid_id, c.category_id
    """
)

_CLOSE_QUIET = text(
    """
    UPDATE hotspots SET status = 'closed', closed_at = :now
    WHERE jurisdiction_id = :jurisdiction_id AND status = 'open' AND last_case_at <= :since
    """
)


async def _open(
    session: AsyncSession, jurisdiction_id: int, jurisdiction: str, group: Any, now: datetime
) -> int | None:
    """A new open hot spot of the group, with ``hotspot.detected``; None if one is open already."""
    case_ids: list[int] = list(group.case_ids)
    hotspot_id: int | None = await session.scalar(
        pg_insert(Hotspot)
        .values(
            jurisdiction_id=jurisdiction_id,
            grid_id=group.grid_id,
            category_id=group.category_id,
            status=HotspotStatus.open,
            case_count=len(case_ids),
            first_case_at=group.first_at,
            last_case_at=group.last_at,
            detected_at=now,
        )
        .on_conflict_do_nothing(
            index_elements=["jurisdiction_id", "grid_id", "category_id"],
            index_where=text("status = 'open'"),
        )
        .returning(Hotspot.id)
    )
    if hotspot_id is None:
        return None
    await session.execute(
        pg_insert(hotspot_cases).on_conflict_do_nothing(),
        [{"hotspot_id": hotspot_id, "case_id": c} for c in case_ids],
    )
    codes = (
        await session.execute(
            select(Grid.code.label("grid_code"), Category.code.label("category_code"))
            .select_from(Grid)
            .join(Category, Category.id == group.category_id)
            .where(Grid.id == group.grid_id)
        )
    ).one()
    # Ids, codes and counts only: never a name, a phone or a citizen's text.
    await emit(
        session,
        type=EVENT_TYPE,
        jurisdiction_id=jurisdiction_id,
        case_id=None,
        payload={
            "hotspot_id": hotspot_id,
            "jurisdiction": jurisdiction,
            "grid_code": codes.grid_code,
            "category_code": codes.category_code,
            "case_count": len(case_ids),
            "case_ids": case_ids,
            "first_case_at": group.first_at.isoformat(),
        },
        occurred_at=now,
    )
    return hotspot_id


async def detect(session: AsyncSession, jurisdiction_id: int, now: datetime) -> Detection | None:
    """One detection run over a jurisdiction (the caller commits); None when another run holds it."""
    locked = await session.scalar(_TRY_LOCK, {"name": f"minyi.hotspots:{jurisdiction_id}"})
    if not locked:
        return None
    settings = await hotspot_settings(session, jurisdiction_id)
    since = now - settings.window
    await session.execute(_LOCK_OPEN, {"jurisdiction_id": jurisdiction_id})
    done = Detection()
    groups = await session.execute(
        _GROUPS,
        {
            "jurisdiction_id": jurisdiction_id,
            "since": since,
            "now": now,
            "min_cases": settings.min_cases,
        },
    )
    jurisdiction = await jurisdiction_code(session, jurisdiction_id)
    for group in groups.all():
        if group.hotspot_id is not None:
            await join_cases(session, group.hotspot_id, list(group.case_ids), group.first_at, group.last_at)
            done.joined += len(group.case_ids)
            continue
        opened = await _open(session, jurisdiction_id, jurisdiction, group, now)
        if opened is not None:
            done.opened.append(opened)
    done.joined_by_text = await similar.join_similar(session, jurisdiction_id, since, now)
    closed = await session.execute(
        _CLOSE_QUIET, {"jurisdiction_id": jurisdiction_id, "now": now, "since": since}
    )
    done.closed = int(getattr(closed, "rowcount", 0) or 0)
    return done


async def detect_all(sessions: async_sessionmaker[AsyncSession], now: datetime) -> dict[int, Detection]:
    """A run over every jurisdiction, each in its own transaction; what changed, by jurisdiction."""
    async with sessions() as session:
        ids = list((await session.execute(select(Jurisdiction.id).order_by(Jurisdiction.id))).scalars())
    changed: dict[int, Detection] = {}
    for jurisdiction_id in ids:
        try:
            async with sessions() as session, session.begin():
                done = await detect(session, jurisdiction_id, now)
        except SQLAlchemyError:
            # One jurisdiction's trouble (a lock timeout behind a long conversion) never holds up the others.
            log.exception("hotspot_detection_failed", jurisdiction_id=jurisdiction_id)
            continue
        if done:
            changed[jurisdiction_id] = done
    return changed
