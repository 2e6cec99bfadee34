"""The facts statement is planned for each execution's own values. The driver prepares statements, and from the
sixth run of one text on a connection PostgreSQL may switch to a generic plan, blind to how few cases the period
and filters keep (make bench: 0.25 s custom, 12 s generic for a quarter of one grid at 50,000 cases)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.supervision.metrics.query import MetricsQuery, metrics
from shared.db.engine import build_engine
from tests.factories import World
from tests.services.supervision.metrics_arrange import FIRST, HAND_TOTALS, LAST, build_set

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


async def test_the_facts_statement_never_runs_a_generic_plan(
    session: AsyncSession, world: World, database_url: str
) -> None:
    await build_set(session, world)
    await session.commit()
    query = MetricsQuery("department", FIRST, LAST)
    engine = build_engine(database_url, pool_size=1)  # a connection no other test has prepared on
    try:
        async with engine.connect() as conn:
            requests = AsyncSession(bind=conn)
            for _ in range(8):  # eight requests served by one pooled connection
                async with requests.begin():
                    result = await metrics(requests, world.jurisdiction.id, query, source="facts", now=NOW)
                    assert result.total.counts == HAND_TOTALS
            plans = (
                await conn.execute(
                    text(
                        "SELECT generic_plans, custom_plans FROM pg_prepared_statements"
                        " WHERE statement LIKE 'WITH %' AND statement LIKE '%\\_rows GROUP BY grp'"
                    )
                )
            ).all()
            await conn.rollback()
    finally:
        await engine.dispose()
    # The rows (by department) and the total (per case): each prepared once, planned afresh every time.
    assert sorted(plans) == [(0, 8), (0, 8)]
