"""A case taken out of handling (merged into another, rejected) stops its clocks; an unmerge restarts them."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.workflow import change_status
from shared.db.enums import AssignmentStatus, CaseStatus
from shared.db.models import Case, Deadline
from tests.factories import World
from tests.supervision_api.arrange import DISPATCHER, assignment_of, deliver, dispatched_case


async def _open(session: AsyncSession, case: Case) -> set[tuple[str, int | None]]:
    rows = await session.execute(
        select(Deadline.kind, Deadline.assignment_id)
        .where(Deadline.case_id == case.id, Deadline.met_at.is_(None), Deadline.superseded_at.is_(None))
        .execution_options(populate_existing=True)
    )
    return set(rows.tuples())


async def test_merging_supersedes_every_open_deadline_and_unmerging_restores_them(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    case = await dispatched_case(session, world, assignments=(("urban_mgmt", "lead"), ("environment", "co")))
    assert (await deliver(client, session, case, "case.dispatched")).status_code == 200
    before = await _open(session, case)
    lead = await assignment_of(session, case, world.departments["urban_mgmt"].id)
    assert ("reply", lead.id) in before and len(before) >= 5

    lead.status = AssignmentStatus.withdrawn
    lead.withdrawn_at = datetime.now(UTC)
    await change_status(session, case, CaseStatus.merged, "merged", DISPATCHER)
    merged = await deliver(client, session, case, "case.merged")
    assert [r["status"] for r in merged.json()["results"]] == ["applied"]
    assert await _open(session, case) == set()

    lead.status = AssignmentStatus.pending
    lead.withdrawn_at = None
    await change_status(session, case, CaseStatus.dispatched, "unmerged", DISPATCHER)
    unmerged = await deliver(client, session, case, "case.unmerged")
    assert [r["status"] for r in unmerged.json()["results"]] == ["applied"]
    assert await _open(session, case) == before


async def test_a_rejected_case_keeps_no_running_deadline(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    case = await dispatched_case(session, world)
    await deliver(client, session, case, "case.dispatched")
    assert await _open(session, case)
    await change_status(
        session, case, CaseStatus.rejected, "rejected", DISPATCHER, data={"reason": "无效信息"}
    )
    await deliver(client, session, case, "case.rejected")
    assert await _open(session, case) == set()
    superseded = (
        await session.scalars(select(Deadline.superseded_at).where(Deadline.case_id == case.id))
    ).all()
    assert all(at is not None for at in superseded)
