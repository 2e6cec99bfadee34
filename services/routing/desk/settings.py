"""A jurisdiction's dispatch settings: the classifier's confidence threshold, whether unmatched cases wait
for a dispatcher, and whether a deputy suggestion is answered only after consulting its deputy. Without a
row, the defaults apply."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing.desk.schemas import RoutingSettingsIn, RoutingSettingsOut
from shared.db.models import RoutingSettings

DEFAULT_THRESHOLD = 0.6
_MEMO = "minyi.routing_settings"


@dataclass(frozen=True)
class DispatchSettings:
    classify_threshold: float = DEFAULT_THRESHOLD
    queue_unmatched: bool = False
    require_consultation: bool = False


async def dispatch_settings(session: AsyncSession, jurisdiction_id: int) -> DispatchSettings:
    """The settings, read once per session (a batch of events shares one transaction)."""
    memo: dict[int, DispatchSettings] = session.info.setdefault(_MEMO, {})
    if jurisdiction_id not in memo:
        row = await session.scalar(
            select(RoutingSettings).where(RoutingSettings.jurisdiction_id == jurisdiction_id)
        )
        memo[jurisdiction_id] = (
            DispatchSettings(row.classify_threshold, row.queue_unmatched, row.require_consultation)
            if row
            else DispatchSettings()
        )
    return memo[jurisdiction_id]


async def get_settings(session: AsyncSession, jurisdiction_id: int) -> RoutingSettingsOut:
    found = await dispatch_settings(session, jurisdiction_id)
    return RoutingSettingsOut(
        classify_threshold=found.classify_threshold,
        queue_unmatched=found.queue_unmatched,
        require_consultation=found.require_consultation,
    )


async def put_settings(
    session: AsyncSession, jurisdiction_id: int, data: RoutingSettingsIn
) -> RoutingSettingsOut:
    """Sets the settings given; ``require_consultation`` left out keeps its current value."""
    values: dict[str, object] = {
        "classify_threshold": data.classify_threshold,
        "queue_unmatched": data.queue_unmatched,
    }
    if data.require_consultation is not None:
        values["require_consultation"] = data.require_consultation
    await session.execute(
        pg_insert(RoutingSettings)
        .values(jurisdiction_id=jurisdiction_id, **values)
        .on_conflict_do_update(index_elements=[RoutingSettings.jurisdiction_id], set_=values)
    )
    session.info.pop(_MEMO, None)
    return await get_settings(session, jurisdiction_id)
