"""Fixtures for the intake API: a committed world, the app on the test engine and a client that runs it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from intake_api.app import create_app
from services.workflow import SYSTEM, change_status
from shared.db.enums import AssignmentRole, AssignmentStatus, CaseStatus
from shared.db.models import Assignment, Case, Reply
from tests.asgi import client_for, running
from tests.factories import World

PHONE = "13812345678"
NAME = "张三丰"


@pytest.fixture
def app(engine: AsyncEngine) -> FastAPI:
    return create_app(engine)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with running(app), client_for(app) as client:
        yield client


async def submit(client: httpx.AsyncClient, token: str, **fields: object) -> httpx.Response:
    body = {"description": "平江路垃圾桶满溢三天无人清运，气味很大", **fields}
    return await client.post(f"/v1/public/codes/{token}/cases", json=body)


async def case_by_tracking_no(session: AsyncSession, tracking_no: str) -> Case:
    query = select(Case).where(Case.tracking_no == tracking_no).execution_options(populate_existing=True)
    return (await session.execute(query)).scalar_one()


async def make_replied(
    session: AsyncSession, world: World, tracking_no: str, *, text: str = "已安排清运，每日两次"
) -> Case:
    """Moves a submitted case to replied the way routing would: a lead assignment accepted and answered."""
    case = await case_by_tracking_no(session, tracking_no)
    department = world.departments["urban_mgmt"]
    assignment = Assignment(
        jurisdiction_id=case.jurisdiction_id,
        case_id=case.id,
        department_id=department.id,
        role=AssignmentRole.lead,
        status=AssignmentStatus.replied,
        replied_at=datetime.now(UTC),
    )
    session.add(assignment)
    await session.flush()
    await change_status(session, case, CaseStatus.dispatched, "dispatched", SYSTEM)
    await change_status(session, case, CaseStatus.in_progress, "accepted", SYSTEM)
    reply = Reply(
        jurisdiction_id=case.jurisdiction_id,
        case_id=case.id,
        assignment_id=assignment.id,
        department_id=department.id,
        reply_class="A",
        text=text,
        round=case.rework_round,
    )
    session.add(reply)
    await session.flush()
    await change_status(
        session,
        case,
        CaseStatus.replied,
        "replied",
        SYSTEM,
        data={"text": text, "reply_class": "A", "department_id": department.id},
    )
    await session.commit()
    return case
