"""Fixtures of the supervision_api tests: the app on the test database, a client, a world, allow-listed hosts."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.settings import Settings, get_settings
from supervision_api.app import create_app
from tests.asgi import client_for, running


@pytest.fixture
async def app(engine: AsyncEngine) -> AsyncIterator[FastAPI]:
    app = create_app(engine)
    async with running(app):
        yield app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app) as client:
        yield client


@pytest.fixture
def allow_hosts() -> Iterator[Settings]:
    """Lets webhooks point at hooks.test (and nothing else local) for the test's duration."""
    settings = get_settings()
    saved = settings.webhook_allow_hosts
    settings.webhook_allow_hosts = "hooks.test"
    yield settings
    settings.webhook_allow_hosts = saved


@pytest.fixture
def local_hooks(monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Webhooks to loopback receivers (tests.webhook_receiver), retried at once: three tries in all."""
    settings = get_settings()
    monkeypatch.setattr(settings, "webhook_allow_hosts", "127.0.0.1")
    monkeypatch.setattr(settings, "webhook_retry_schedule", "0,0,0")
    return settings
