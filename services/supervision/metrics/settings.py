"""A jurisdiction's metric settings (metric_settings): the ranking's minimum sample, the 12345 triple's
weights, and the hot spots' threshold and window. Without a row the defaults apply."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.supervision.metrics.errors import WeightsInvalid
from services.supervision.metrics.rates import Weights
from services.supervision.metrics.schemas import MetricSettingsIn, MetricSettingsOut, WeightsOut
from shared.db.models import MetricSettings

DEFAULTS = MetricSettingsOut(
    ranking_min_sample=10,
    weights=WeightsOut(response=30, resolution=35, satisfaction=35),
    hotspot_min_cases=5,
    hotspot_window_days=7,
)


def _out(row: MetricSettings) -> MetricSettingsOut:
    return MetricSettingsOut(
        ranking_min_sample=row.ranking_min_sample,
        weights=WeightsOut(
            response=row.weight_response,
            resolution=row.weight_resolution,
            satisfaction=row.weight_satisfaction,
        ),
        hotspot_min_cases=row.hotspot_min_cases,
        hotspot_window_days=row.hotspot_window_days,
    )


async def get_metric_settings(session: AsyncSession, jurisdiction_id: int) -> MetricSettingsOut:
    row = await session.get(MetricSettings, jurisdiction_id)
    return DEFAULTS if row is None else _out(row)


def weights_of(settings: MetricSettingsOut) -> Weights:
    return Weights(
        response=settings.weights.response,
        resolution=settings.weights.resolution,
        satisfaction=settings.weights.satisfaction,
    )


async def put_metric_settings(
    session: AsyncSession, jurisdiction_id: int, changes: MetricSettingsIn
) -> MetricSettingsOut:
    """Sets the fields given (the rest keep their value); the three weights come together and sum to 100."""
    current = await get_metric_settings(session, jurisdiction_id)
    merged = current.model_copy(update=changes.model_dump(exclude_none=True, exclude={"weights"}))
    if changes.weights is not None:
        weights = changes.weights
        total = weights.response + weights.resolution + weights.satisfaction
        if total != 100:
            raise WeightsInvalid(total)
        merged.weights = WeightsOut(**weights.model_dump())
    values = {
        "ranking_min_sample": merged.ranking_min_sample,
        "weight_response": merged.weights.response,
        "weight_resolution": merged.weights.resolution,
        "weight_satisfaction": merged.weights.satisfaction,
        "hotspot_min_cases": merged.hotspot_min_cases,
        "hotspot_window_days": merged.hotspot_window_days,
        "updated_at": datetime.now(UTC),
    }
    statement = pg_insert(MetricSettings).values(jurisdiction_id=jurisdiction_id, **values)
    await session.execute(
        statement.on_conflict_do_update(index_elements=[MetricSettings.jurisdiction_id], set_=values)
    )
    await session.flush()
    return merged
