"""Fixtures of the routing_api tests: a committed world, the app on the test engine, signed event delivery."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from routing_api.app import create_app
from shared.db.models import Assignment, Case
from tests.asgi import client_for, running
from tests.factories import World
from tests.internal_events import signed_batch
from tests.services.routing.cases import new_case


@pytest.fixture
async def app(engine: AsyncEngine) -> AsyncIterator[FastAPI]:
    app = create_app(engine)
    async with running(app):
        yield app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app) as client:
        yield client


def signed(event_type: str, data: dict[str, Any], msg_id: str | None = None) -> tuple[bytes, dict[str, str]]:
    """A batch of one event and the headers the relay would send with it to the routing service."""
    at = datetime(2026, 11, 22, 8, tzinfo=UTC)
    return signed_batch("routing", [(msg_id or f"msg_{uuid.uuid4().hex}", event_type, at, data)])


async def send_event(
    client: httpx.AsyncClient, event_type: str, data: dict[str, Any], msg_id: str | None = None
) -> httpx.Response:
    body, headers = signed(event_type, data, msg_id)
    return await client.post("/internal/events", content=body, headers=headers)


async def dispatched_case(
    session: AsyncSession, client: httpx.AsyncClient, world: World, **fields: Any
) -> tuple[Case, dict[str, Assignment]]:
    """A case opened, committed and dispatched through the case.received event; its assignments by
    department code."""
    case = await new_case(session, world, **fields)
    await session.commit()
    response = await send_event(client, "case.received", {"case_id": case.id})
    assert response.status_code == 200, response.text
    await session.refresh(case)
    rows = (
        await session.execute(
            select(Assignment).where(Assignment.case_id == case.id).execution_options(populate_existing=True)
        )
    ).scalars()
    codes = {d.id: code for code, d in world.departments.items()}
    return case, {codes[a.department_id]: a for a in rows}
