"""The rollup's worker job: the worker's loop, a failed day marked again, a writer still open when the marks
were taken, reply deadlines that lapse without any event, and the CLI's rebuild."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.supervision.metrics import rollup
from services.supervision.metrics.query import MetricsQuery, metrics
from shared.db.models import MetricDirtyDay
from tests.factories import World
from tests.services.supervision.metrics_arrange import FIRST, HAND_TOTALS, LAST, build_set

OCT_19 = date(2026, 10, 19)


async def _marks(session: AsyncSession) -> set[date]:
    await session.commit()
    return set((await session.scalars(select(MetricDirtyDay.day))).all())


async def _total(session: AsyncSession, world: World, count: str) -> int:
    await session.commit()
    result = await metrics(session, world.jurisdiction.id, MetricsQuery(None, FIRST, LAST))
    assert result.source == "rollup"
    return result.total.counts[count]


@pytest.fixture
async def arranged(session: AsyncSession, world: World) -> World:
    await build_set(session, world)
    return world


async def test_the_worker_loop_recomputes_marked_days(
    arranged: World, session: AsyncSession, engine: AsyncEngine
) -> None:
    stop = asyncio.Event()
    loop = asyncio.create_task(rollup.refresh_loop(engine, stop, interval=0.05))
    try:
        for _ in range(200):
            if await _total(session, arranged, "received") == HAND_TOTALS["received"]:
                break
            await asyncio.sleep(0.05)
        assert await _total(session, arranged, "received") == HAND_TOTALS["received"]
        assert await _marks(session) == set()
    finally:
        stop.set()
        await asyncio.wait_for(loop, 5)


async def test_a_failed_day_is_marked_again(
    arranged: World, session: AsyncSession, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = rollup.recompute_day

    async def failing(session: AsyncSession, jurisdiction_id: int, day: date, now: datetime) -> None:
        if day == OCT_19:
            raise RuntimeError("boom")
        await real(session, jurisdiction_id, day, now)

    monkeypatch.setattr(rollup, "recompute_day", failing)
    result = await rollup.refresh(engine)
    assert (result.days, result.failed) == (3, 1)
    assert await _marks(session) == {OCT_19}
    monkeypatch.setattr(rollup, "recompute_day", real)
    assert (await rollup.refresh(engine)).days == 1
    assert await _marks(session) == set()
    assert await _total(session, arranged, "received") == HAND_TOTALS["received"]


async def test_a_writer_open_when_the_marks_are_taken_is_waited_for(
    arranged: World, session: AsyncSession, engine: AsyncEngine
) -> None:
    await rollup.refresh(engine)
    await session.execute(text("INSERT INTO metric_dirty_days (jurisdiction_id, day) VALUES (:j, :d)"),
                          {"j": arranged.jurisdiction.id, "d": OCT_19})  # fmt: skip
    await session.commit()
    # A request replies to C5 (day 19 October) while the day is already marked: its own mark is a no-op.
    async with engine.connect() as writer:
        await writer.execute(
            text(
                "INSERT INTO case_events (jurisdiction_id, case_id, type, actor_type, data, public)"
                " SELECT jurisdiction_id, id, 'replied', 'department', '{}', false FROM cases"
                " WHERE description = '测试事项C5'"
            )
        )
        await writer.execute(
            text("UPDATE cases SET replied_at = now(), status = 'replied' WHERE description = '测试事项C5'")
        )
        result = await rollup.refresh(engine, settle_seconds=0.3)
        # It had not ended: the day is marked again rather than left counted without the reply.
        assert result.days == 1
        assert await _marks(session) == {OCT_19}
        await writer.commit()
    await rollup.refresh(engine)
    assert await _marks(session) == set()
    assert await _total(session, arranged, "replied") == HAND_TOTALS["replied"] + 1


async def test_a_lapsed_reply_deadline_marks_its_day(
    arranged: World, session: AsyncSession, engine: AsyncEngine
) -> None:
    await rollup.refresh(engine)
    assert await _total(session, arranged, "reply_due") == HAND_TOTALS["reply_due"]
    now = datetime.now(UTC)
    # C6's reply deadline (day 19 October) lapses a minute ago, without any case event.
    await session.execute(
        text(
            "UPDATE deadlines SET due_at = :due FROM cases WHERE cases.id = deadlines.case_id"
            " AND cases.description = '测试事项C6' AND deadlines.kind = 'reply'"
        ),
        {"due": now - timedelta(minutes=1)},
    )
    await session.commit()
    assert await _marks(session) == set()
    result = await rollup.refresh(engine, now=now, lapsed_since=now - timedelta(minutes=5))
    assert result.days == 1
    assert await _total(session, arranged, "reply_due") == HAND_TOTALS["reply_due"] + 1


async def test_rebuild_from_the_command_line(
    arranged: World, session: AsyncSession, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from services.cli import app

    monkeypatch.setenv("DATABASE_URL", database_url)
    await session.execute(text("DELETE FROM metric_dirty_days"))
    await session.commit()
    result = await asyncio.to_thread(CliRunner().invoke, app, ["metrics", "rebuild", "--jurisdiction", "GS"])
    assert result.exit_code == 0, result.output
    assert "4 days" in result.output
    assert await session.scalar(select(func.count()).select_from(text("metric_days"))) > 0
    assert await _total(session, arranged, "received") == HAND_TOTALS["received"]
    unknown = await asyncio.to_thread(CliRunner().invoke, app, ["metrics", "rebuild", "--jurisdiction", "XX"])
    assert unknown.exit_code != 0
