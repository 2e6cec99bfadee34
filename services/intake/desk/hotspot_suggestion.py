"""Turning a hot spot (热点) into a deputy suggestion (代表建议) that carries the cluster's citizens' cases as
evidence ("N 位群众反映"): a deputy of a station serving the hot spot's grid, or a supervisor naming the
deputy who writes it. The suggestion is opened like any (services.intake.desk.suggestions.open_suggestion:
case.received and suggestion.submitted), every case of the cluster is linked to it in suggestion_sources
(kind hotspot), and the hot spot is marked converted, all in the request's one transaction.

The hot spot's row is locked FOR UPDATE before its state is read, so of two conversions at once the second
waits, then finds it converted (409); the worker's detection locks the open hot spots too, so no case joins
one while it is being converted. Rejected cases (spam, out of scope) are no evidence and are not linked.
Each linked citizen's tracking page then says the matter went into a suggestion with N neighbours' and shows
the suggestion's replies (services.intake.desk.public).
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.desk.errors import HotspotNotFound, HotspotNotOpen, HotspotWithoutEvidence
from services.intake.desk.queries import current_deputy
from services.intake.desk.schemas import HotspotSuggestionIn, HotspotSuggestionOut
from services.intake.desk.suggestions import Draft, ensure_active, open_suggestion
from services.intake.tracking_numbers import TrackingNumbers
from shared.calendar import SHANGHAI
from shared.db.enums import CaseStatus, HotspotStatus, Role, SuggestionSourceKind
from shared.db.models import (
    Case,
    Category,
    Deputy,
    Grid,
    Hotspot,
    SuggestionSource,
    deputy_stations,
    hotspot_cases,
    station_grids,
)
from shared.errors import Unprocessable
from shared.security.apikeys import Principal

HOTSPOT_STATUS_LABELS: dict[str, str] = {
    HotspotStatus.open: "持续反映中",
    HotspotStatus.converted: "已形成代表建议",
    HotspotStatus.closed: "已平息",
}
UNCLASSIFIED = "未分类"


async def _author(session: AsyncSession, principal: Principal, deputy_id: int | None) -> Deputy:
    """The deputy who writes the suggestion: a deputy key's own deputy, or the one a supervisor names."""
    if principal.role == Role.deputy:
        if deputy_id is not None and deputy_id != principal.deputy_id:
            raise Unprocessable.field("deputy_id", "代表只能以本人名义提出建议")
        author = await current_deputy(session, principal.jurisdiction_id, principal.deputy_id)
        ensure_active(author)
        return author
    if deputy_id is None:
        raise Unprocessable.field("deputy_id", "请指定提出建议的代表")
    named: Deputy | None = await session.scalar(
        select(Deputy).where(Deputy.id == deputy_id, Deputy.jurisdiction_id == principal.jurisdiction_id)
    )
    if named is None or not named.active:
        raise Unprocessable.field("deputy_id", "代表不存在或已停用")
    return named


async def _locked_hotspot(session: AsyncSession, principal: Principal, hotspot_id: int) -> Hotspot:
    query = select(Hotspot).where(
        Hotspot.id == hotspot_id, Hotspot.jurisdiction_id == principal.jurisdiction_id
    )
    if principal.role == Role.deputy:
        served = (
            select(station_grids.c.grid_id)
            .join(deputy_stations, deputy_stations.c.station_id == station_grids.c.station_id)
            .where(deputy_stations.c.deputy_id == principal.deputy_id)
        )
        query = query.where(Hotspot.grid_id.in_(served))
    hotspot: Hotspot | None = await session.scalar(
        query.with_for_update(of=Hotspot).execution_options(populate_existing=True)
    )
    if hotspot is None:
        raise HotspotNotFound()
    return hotspot


async def _ensure_open(session: AsyncSession, hotspot: Hotspot) -> None:
    if hotspot.status == HotspotStatus.open:
        return
    suggestion = None
    if hotspot.suggestion_id is not None:
        tracking_no = await session.scalar(select(Case.tracking_no).where(Case.id == hotspot.suggestion_id))
        suggestion = (hotspot.suggestion_id, tracking_no or "")
    raise HotspotNotOpen(HOTSPOT_STATUS_LABELS.get(hotspot.status, hotspot.status), suggestion)


async def _evidence(session: AsyncSession, hotspot: Hotspot) -> list[tuple[int, datetime, int | None]]:
    """The cluster's cases that may stand as evidence (not rejected): id, received, category; earliest first."""
    rows = await session.execute(
        select(Case.id, Case.created_at, Case.category_id)
        .join(hotspot_cases, hotspot_cases.c.case_id == Case.id)
        .where(hotspot_cases.c.hotspot_id == hotspot.id, Case.status != CaseStatus.rejected)
        .order_by(Case.created_at, Case.id)
    )
    return [(row.id, row.created_at, row.category_id) for row in rows]


def _day(moment: datetime) -> str:
    local = moment.astimezone(SHANGHAI)
    return f"{local.year}年{local.month}月{local.day}日"


async def summary(
    session: AsyncSession, hotspot: Hotspot, cases: list[tuple[int, datetime, int | None]]
) -> str:
    """The default description, "N 位群众反映：…": where, when, what kind of matter and how many of each category; nothing personal."""
    grid_name = await session.scalar(select(Grid.name).where(Grid.id == hotspot.grid_id)) or ""
    ids = {hotspot.category_id} | {c for _, _, c in cases if c is not None}
    rows = await session.execute(select(Category.id, Category.name).where(Category.id.in_(ids)))
    names = {row.id: row.name for row in rows}
    counts = Counter(names.get(c, UNCLASSIFIED) if c is not None else UNCLASSIFIED for _, _, c in cases)
    n = len(cases)
    first, last = _day(cases[0][1]), _day(cases[-1][1])
    period = first if first == last else f"{first}至{last}"
    parts = "、".join(f"{name} {count} 件" for name, count in counts.most_common())
    return (
        f"{n} 位群众反映：{period}，{grid_name}的群众先后反映“{names.get(hotspot.category_id, '')}”方面的问题 "
        f"{n} 件，其中{parts}。建议有关部门统筹研究，一并解决。"
    )


async def convert(
    session: AsyncSession,
    numbers: TrackingNumbers,
    principal: Principal,
    hotspot_id: int,
    data: HotspotSuggestionIn,
) -> HotspotSuggestionOut:
    """POST /v1/hotspots/{id}/suggestion: 422 for an author who cannot write it, 404 for a hot spot out of
    the key's reach, 409 unless it is open. The caller commits."""
    author = await _author(session, principal, data.deputy_id)
    hotspot = await _locked_hotspot(session, principal, hotspot_id)
    await _ensure_open(session, hotspot)
    cases = await _evidence(session, hotspot)
    if not cases:
        raise HotspotWithoutEvidence()
    categories = {c for _, _, c in cases}
    common = next(iter(categories)) if len(categories) == 1 else None
    draft = Draft(
        title=data.title,
        description=data.description or await summary(session, hotspot, cases),
        urgency=data.urgency,
        category_code=data.category_code,
        category_id=common if common is not None else hotspot.category_id,
        grid_id=hotspot.grid_id,
        cosigner_ids=list(data.cosigner_ids),
    )
    out = await open_suggestion(session, numbers, author, draft)
    case_ids = [case_id for case_id, _, _ in cases]
    await session.execute(
        insert(SuggestionSource),
        [{"suggestion_id": out.id, "case_id": c, "kind": SuggestionSourceKind.hotspot} for c in case_ids],
    )
    hotspot.status = HotspotStatus.converted
    hotspot.suggestion_id = out.id
    hotspot.converted_at = datetime.now(UTC)
    await session.flush()
    return HotspotSuggestionOut(
        **out.model_dump(), hotspot_id=hotspot.id, deputy_id=author.id, source_case_ids=case_ids
    )
