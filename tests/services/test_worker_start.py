"""A worker started before its database is reachable waits for it instead of exiting."""

from __future__ import annotations

import asyncio
import socket

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.worker import register_when_reachable
from shared.db.engine import build_engine
from shared.db.models import WebhookEndpoint
from shared.settings import get_settings


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_an_unreachable_database_is_waited_for_until_told_to_stop() -> None:
    engine = build_engine(f"postgresql://postgres@127.0.0.1:{_closed_port()}/minyi", pool_size=1)
    stop = asyncio.Event()
    try:
        waiting = asyncio.create_task(register_when_reachable(engine, get_settings(), stop))
        await asyncio.sleep(2.5)  # two failed attempts, one second apart and then two
        assert not waiting.done()  # no exception: the worker is still there, waiting
        stop.set()
        assert await asyncio.wait_for(waiting, timeout=5) is False
    finally:
        await engine.dispose()


async def test_a_reachable_database_registers_the_internal_subscriptions(
    engine: AsyncEngine, session: AsyncSession
) -> None:
    assert await register_when_reachable(engine, get_settings(), asyncio.Event()) is True
    names = set(
        (await session.scalars(select(WebhookEndpoint.name).where(WebhookEndpoint.kind == "internal"))).all()
    )
    assert {"routing", "supervision"} <= names
