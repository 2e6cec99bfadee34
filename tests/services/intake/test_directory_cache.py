"""The directory's cache: one load per key however many ask at once, failures never kept, entries expire."""

from __future__ import annotations

import asyncio

import pytest

from services.intake.directory import _TtlCache


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_concurrent_misses_share_one_load_and_entries_expire():
    clock = Clock()
    cache: _TtlCache[str, int] = _TtlCache(5.0, clock)
    loads = 0
    gate = asyncio.Event()

    async def load() -> int:
        nonlocal loads
        loads += 1
        await gate.wait()
        return loads

    waiting = [asyncio.create_task(cache.get("k", load)) for _ in range(10)]
    await asyncio.sleep(0)
    gate.set()
    assert await asyncio.gather(*waiting) == [1] * 10
    assert loads == 1
    clock.now = 4.9
    assert await cache.get("k", load) == 1
    clock.now = 5.1
    assert await cache.get("k", load) == 2


async def test_failures_are_not_kept_and_forget_drops_an_entry():
    cache: _TtlCache[str, int] = _TtlCache(5.0, Clock())
    outcomes: list[int | Exception] = [LookupError("gone"), 7, 8]

    async def load() -> int:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    with pytest.raises(LookupError):
        await cache.get("k", load)
    assert await cache.get("k", load) == 7
    assert await cache.get("k", load) == 7
    cache.forget("k")
    assert await cache.get("k", load) == 8


async def test_a_requester_giving_up_does_not_cancel_the_load_others_wait_for():
    cache: _TtlCache[str, int] = _TtlCache(5.0, Clock())
    gate = asyncio.Event()

    async def load() -> int:
        await gate.wait()
        return 42

    first = asyncio.create_task(cache.get("k", load))
    second = asyncio.create_task(cache.get("k", load))
    await asyncio.sleep(0)
    first.cancel()
    gate.set()
    assert await second == 42
    with pytest.raises(asyncio.CancelledError):
        await first
