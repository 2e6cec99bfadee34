"""Tracking numbers: the format, uniqueness under concurrency and across processes, blocks from the counter."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from services.intake.tracking_numbers import TrackingNumbers, format_tracking_no, local_day
from shared.db.models import Jurisdiction, TrackingCounter


def test_format_pads_to_four_digits_and_grows_past_9999():
    day = date(2026, 11, 22)
    assert format_tracking_no("GS", day, 42) == "GS20261122-0042"
    assert format_tracking_no("GS", day, 9999) == "GS20261122-9999"
    assert format_tracking_no("GS", day, 10000) == "GS20261122-10000"


def test_the_day_is_beijing_time():
    # 16:30 UTC on 21 Nov is 00:30 on 22 Nov in Beijing.
    assert local_day(datetime(2026, 11, 21, 16, 30, tzinfo=UTC)) == date(2026, 11, 22)
    assert local_day(datetime(2026, 11, 21, 15, 59, tzinfo=UTC)) == date(2026, 11, 21)


def test_block_size_must_be_positive():
    with pytest.raises(ValueError):
        TrackingNumbers(engine=None, block_size=0)  # type: ignore[arg-type]


async def _jurisdiction(session, code: str = "GS") -> Jurisdiction:
    jurisdiction = Jurisdiction(code=code, name="姑苏区")
    session.add(jurisdiction)
    await session.commit()
    return jurisdiction


def _suffix(tracking_no: str) -> int:
    return int(tracking_no.rsplit("-", 1)[1])


async def test_200_concurrent_allocations_are_distinct(engine, session):
    jurisdiction = await _jurisdiction(session)
    numbers = TrackingNumbers(engine, block_size=7)
    moment = datetime(2026, 11, 22, 4, 0, tzinfo=UTC)
    allocated = await asyncio.gather(*(numbers.next(jurisdiction.id, "GS", moment) for _ in range(200)))
    assert len(set(allocated)) == 200
    assert all(re.fullmatch(r"GS20261122-\d{4}", n) for n in allocated)
    # One process uses its blocks up: no gaps, and the counter moved one block at a time.
    assert sorted(_suffix(n) for n in allocated) == list(range(1, 201))
    counter = (await session.execute(select(TrackingCounter))).scalar_one()
    assert counter.next_value == 1 + 7 * 29  # 29 blocks of 7 cover 200


async def test_two_allocators_never_collide(engine, session):
    """Two processes, each with its own allocator (and its own blocks), on the same day and jurisdiction."""
    jurisdiction = await _jurisdiction(session)
    first, second = TrackingNumbers(engine, block_size=5), TrackingNumbers(engine, block_size=3)
    moment = datetime(2026, 11, 22, 4, 0, tzinfo=UTC)
    allocated = await asyncio.gather(
        *(allocator.next(jurisdiction.id, "GS", moment) for _ in range(60) for allocator in (first, second))
    )
    assert len(allocated) == 120 and len(set(allocated)) == 120


async def test_days_and_jurisdictions_count_separately(engine, session):
    gs = await _jurisdiction(session, "GS")
    xc = await _jurisdiction(session, "XC")
    numbers = TrackingNumbers(engine, block_size=10)
    monday = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    tuesday = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
    assert await numbers.next(gs.id, "GS", monday) == "GS20261123-0001"
    assert await numbers.next(gs.id, "GS", monday) == "GS20261123-0002"
    assert await numbers.next(xc.id, "XC", monday) == "XC20261123-0001"
    assert await numbers.next(gs.id, "GS", tuesday) == "GS20261124-0001"
    # A restarted process starts a fresh block: the rest of the old one is a gap, never a repeat.
    restarted = TrackingNumbers(engine, block_size=10)
    assert await restarted.next(gs.id, "GS", monday) == "GS20261123-0011"


async def test_suffixes_grow_past_four_digits(engine, session):
    jurisdiction = await _jurisdiction(session)
    day = date(2026, 11, 22)
    session.add(TrackingCounter(jurisdiction_id=jurisdiction.id, day=day, next_value=9999))
    await session.commit()
    numbers = TrackingNumbers(engine, block_size=2)
    moment = datetime(2026, 11, 22, 4, 0, tzinfo=UTC)
    assert [await numbers.next(jurisdiction.id, "GS", moment) for _ in range(3)] == [
        "GS20261122-9999",
        "GS20261122-10000",
        "GS20261122-10001",
    ]
