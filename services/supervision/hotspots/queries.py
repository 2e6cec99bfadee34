"""Reading hot spots: staff (supervisor, admin) see their jurisdiction's, a deputy those of the grids the
deputy's stations serve (deputy_stations + station_grids). A page is read with one query per kind of row."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.supervision.hotspots.errors import DeputyKeyWithoutDeputy, HotspotNotFound
from services.supervision.hotspots.schemas import (
    STATUS_LABELS,
    CodeName,
    HotspotCase,
    HotspotOut,
    SuggestionLink,
)
from services.workflow.errors import STATUS_LABELS as CASE_STATUS_LABELS
from shared.db.enums import HotspotStatus, Role
from shared.db.models import (
    Case,
    Category,
    Grid,
    Hotspot,
    deputy_stations,
    hotspot_cases,
    station_grids,
)
from shared.security.apikeys import Principal


@dataclass(frozen=True)
class HotspotFilters:
    status: HotspotStatus | None = None
    grid_code: str | None = None
    category_code: str | None = None


def deputy_grids(deputy_id: int) -> Select[tuple[int]]:
    """The grids the deputy's stations serve."""
    return (
        select(station_grids.c.grid_id)
        .join(deputy_stations, deputy_stations.c.station_id == station_grids.c.station_id)
        .where(deputy_stations.c.deputy_id == deputy_id)
    )


def _scoped(principal: Principal) -> Select[tuple[Hotspot]]:
    query = select(Hotspot).where(Hotspot.jurisdiction_id == principal.jurisdiction_id)
    if principal.role == Role.deputy:
        if principal.deputy_id is None:
            raise DeputyKeyWithoutDeputy()
        query = query.where(Hotspot.grid_id.in_(deputy_grids(principal.deputy_id)))
    return query


async def list_hotspots(
    session: AsyncSession,
    principal: Principal,
    filters: HotspotFilters,
    *,
    limit: int,
    before_id: int | None,
) -> list[HotspotOut]:
    """Newest first, up to limit + 1 (the extra one tells a next page follows). A category code names its
    top-level category, or a sub-category whose top-level category's hot spots are meant."""
    query = _scoped(principal)
    jid = principal.jurisdiction_id
    if filters.status is not None:
        query = query.where(Hotspot.status == filters.status)
    if filters.grid_code is not None:
        query = query.where(
            Hotspot.grid_id.in_(
                select(Grid.id).where(Grid.jurisdiction_id == jid, Grid.code == filters.grid_code)
            )
        )
    if filters.category_code is not None:
        named = select(Category.id, Category.parent_id).where(
            Category.jurisdiction_id == jid, Category.code == filters.category_code
        )
        row = (await session.execute(named)).first()
        if row is None:
            return []
        query = query.where(Hotspot.category_id == (row.parent_id or row.id))
    if before_id is not None:
        query = query.where(Hotspot.id < before_id)
    found = (await session.execute(query.order_by(Hotspot.id.desc()).limit(limit + 1))).scalars().all()
    return await views(session, found)


async def get_hotspot(session: AsyncSession, principal: Principal, hotspot_id: int) -> HotspotOut:
    found = await session.scalar(_scoped(principal).where(Hotspot.id == hotspot_id))
    if found is None:
        raise HotspotNotFound()
    (out,) = await views(session, [found])
    return out


async def views(session: AsyncSession, hotspots: Sequence[Hotspot]) -> list[HotspotOut]:
    if not hotspots:
        return []
    ids = [h.id for h in hotspots]
    grids = {
        row.id: CodeName(code=row.code, name=row.name)
        for row in await session.execute(
            select(Grid.id, Grid.code, Grid.name).where(Grid.id.in_({h.grid_id for h in hotspots}))
        )
    }
    categories = {
        row.id: CodeName(code=row.code, name=row.name)
        for row in await session.execute(
            select(Category.id, Category.code, Category.name).where(
                Category.id.in_({h.category_id for h in hotspots})
            )
        )
    }
    cases: dict[int, list[HotspotCase]] = defaultdict(list)
    rows = await session.execute(
        select(
            hotspot_cases.c.hotspot_id, Case.id, Case.tracking_no, Case.created_at, Case.status, Case.title
        )
        .join(Case, Case.id == hotspot_cases.c.case_id)
        .where(hotspot_cases.c.hotspot_id.in_(ids))
        .order_by(hotspot_cases.c.hotspot_id, Case.created_at, Case.id)
    )
    for row in rows:
        cases[row.hotspot_id].append(
            HotspotCase(
                id=row.id,
                tracking_no=row.tracking_no,
                received_at=row.created_at,
                status=row.status,
                status_label=CASE_STATUS_LABELS.get(row.status, row.status),
                title=row.title,
            )
        )
    suggestion_ids = {h.suggestion_id for h in hotspots if h.suggestion_id is not None}
    suggestions = (
        {
            row.id: SuggestionLink(id=row.id, tracking_no=row.tracking_no)
            for row in await session.execute(
                select(Case.id, Case.tracking_no).where(Case.id.in_(suggestion_ids))
            )
        }
        if suggestion_ids
        else {}
    )
    return [
        HotspotOut(
            id=h.id,
            grid=grids[h.grid_id],
            category=categories[h.category_id],
            status=HotspotStatus(h.status),
            status_label=STATUS_LABELS.get(h.status, h.status),
            case_count=h.case_count,
            first_case_at=h.first_case_at,
            last_case_at=h.last_case_at,
            detected_at=h.detected_at,
            converted_at=h.converted_at,
            closed_at=h.closed_at,
            cases=cases.get(h.id, []),
            suggestion=suggestions.get(h.suggestion_id) if h.suggestion_id is not None else None,
        )
        for h in hotspots
    ]
