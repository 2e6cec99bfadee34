"""The relay: fans outbox rows out into deliveries and runs the two delivery lanes (shared.events.lanes).

Any number of relays may run at once. Each wakes on LISTEN/NOTIFY (an outbox row committed, or deliveries
fanned out by another relay) and polls as a fallback. Fan-out, the internal lane and the integrator lane run
side by side, so none of them waits for another.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import UTC, datetime
from types import TracebackType

import httpx
import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.events import fanout
from shared.events.claims import Claimed
from shared.events.lanes import SECRET_PURPOSE, IntegratorLane, InternalLane, Lane, event_body, wait_any
from shared.events.outbox import NOTIFY_CHANNEL
from shared.events.outcomes import retry_delay
from shared.events.transport import lane_client
from shared.settings import Settings

__all__ = ["SECRET_PURPOSE", "Claimed", "Relay", "event_body", "retry_delay"]

log = structlog.get_logger("minyi.relay")

FAN_OUT_BATCH = 1000


class Relay:
    def __init__(
        self,
        engine: AsyncEngine,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.engine = engine
        self.settings = settings
        # transport: tests put an in-process receiver here.
        internal_client = lane_client(
            connections=16, timeout=settings.internal_timeout_seconds, transport=transport
        )
        integrator_client = lane_client(
            connections=settings.relay_integrator_slots,
            timeout=settings.webhook_timeout_seconds,
            transport=transport,
        )
        self.internal = InternalLane(engine, settings, internal_client, clock)
        self.integrators = IntegratorLane(engine, settings, integrator_client, clock)
        self._fan_out_wake = asyncio.Event()

    @property
    def lanes(self) -> tuple[Lane, ...]:
        return (self.internal, self.integrators)

    async def __aenter__(self) -> Relay:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        for lane in self.lanes:
            await lane.client.aclose()

    def wake(self) -> None:
        self._fan_out_wake.set()
        for lane in self.lanes:
            lane.wake.set()

    async def fan_out(self) -> int:
        """Fans out one batch of outbox rows; returns how many rows."""
        rows, deliveries = await fanout.fan_out(self.engine, FAN_OUT_BATCH)
        if deliveries:
            for lane in self.lanes:
                lane.wake.set()
        return rows

    async def claim(self) -> list[Claimed]:
        """Claims what both lanes would send now, without sending it (an inspection aid for tests)."""
        found: list[Claimed] = []
        for lane in self.lanes:
            found += await lane.claim_due()
        return found

    async def deliver_due(self) -> int:
        """One round of both lanes, waiting for every request it made; returns the deliveries attempted."""
        claimed = 0
        for lane in self.lanes:
            claimed += await lane.dispatch_once()
        for lane in self.lanes:
            await lane.drain()
        return claimed

    async def run(self, stop: asyncio.Event) -> None:
        """Fans out and delivers until ``stop`` is set."""
        async with self.engine.connect() as listen_conn:
            raw = await listen_conn.get_raw_connection()
            driver = raw.driver_connection
            assert driver is not None

            def on_notify(*_: object) -> None:
                self.wake()

            await driver.add_listener(NOTIFY_CHANNEL, on_notify)
            log.info("relay_started")
            try:
                await asyncio.gather(self._fan_out_loop(stop), *(lane.run(stop) for lane in self.lanes))
            finally:
                with contextlib.suppress(Exception):
                    await driver.remove_listener(NOTIFY_CHANNEL, on_notify)

    async def _fan_out_loop(self, stop: asyncio.Event) -> None:
        poll = self.settings.worker_poll_seconds
        while not stop.is_set():
            self._fan_out_wake.clear()
            try:
                if await self.fan_out():
                    continue
            except Exception:
                log.exception("fan_out_failed")
            await wait_any(stop, self._fan_out_wake, poll)
