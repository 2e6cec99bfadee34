"""Retention against the real schema: finished event rows pruned in bounded batches, personal data of long
closed cases erased with a case event, the worker's job and `minyi status`."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.workflow import retention
from shared.db.models import Case, CaseEvent, InboxMessage, OutboxEvent, WebhookDelivery, WebhookEndpoint
from shared.events.pruning import prune_events
from shared.settings import Settings, get_settings
from tests.factories import World

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
OLD = NOW - timedelta(days=45)
RECENT = NOW - timedelta(days=3)


async def _endpoint(session: AsyncSession, world: World) -> WebhookEndpoint:
    endpoint = WebhookEndpoint(
        jurisdiction_id=world.jurisdiction.id, url="http://hooks.test/minyi", event_types=[], enabled=True
    )
    session.add(endpoint)
    await session.flush()
    return endpoint


async def _event(session: AsyncSession, world: World, at: datetime, *statuses: str) -> OutboxEvent:
    """An outbox event created at ``at`` and fanned out, with one delivery per status (each endpoint new)."""
    event = OutboxEvent(
        jurisdiction_id=world.jurisdiction.id,
        type="case.received",
        payload={},
        occurred_at=at,
        created_at=at,
        fanned_out_at=at,
    )
    session.add(event)
    await session.flush()
    for status in statuses:
        endpoint = await _endpoint(session, world)
        session.add(
            WebhookDelivery(
                endpoint_id=endpoint.id,
                outbox_id=event.id,
                event_type=event.type,
                status=status,
                attempts=1,
                next_attempt_at=at,
                last_attempt_at=at,
                delivered_at=at if status == "succeeded" else None,
                created_at=at,
            )
        )
    await session.flush()
    return event


async def _ids(session: AsyncSession, model: type) -> set[int]:
    return set((await session.scalars(select(model.id))).all())


async def test_finished_old_rows_are_pruned_and_the_rest_kept(
    engine: AsyncEngine, session: AsyncSession, world: World
) -> None:
    delivered = await _event(session, world, OLD, "succeeded", "failed")
    pending = await _event(session, world, OLD, "succeeded", "pending")
    recent = await _event(session, world, RECENT, "succeeded")
    unfanned = OutboxEvent(
        jurisdiction_id=world.jurisdiction.id,
        type="case.received",
        payload={},
        occurred_at=OLD,
        created_at=OLD,
    )
    session.add(unfanned)
    session.add_all(
        [
            InboxMessage(consumer="routing", message_id="old", event_type="case.received", processed_at=OLD),
            InboxMessage(
                consumer="routing", message_id="new", event_type="case.received", processed_at=RECENT
            ),
        ]
    )
    case = Case(
        jurisdiction_id=world.jurisdiction.id,
        tracking_no="GS1",
        access_key_hash="x" * 64,
        description="路灯坏了",
    )
    session.add(case)
    await session.flush()
    session.add(CaseEvent(jurisdiction_id=world.jurisdiction.id, case_id=case.id, type="received", at=OLD,
                          actor_type="system"))  # fmt: skip
    await session.commit()
    delivered_id, pending_id, recent_id, unfanned_id = delivered.id, pending.id, recent.id, unfanned.id

    pruned = await prune_events(engine, NOW, 30)

    assert (pruned.deliveries, pruned.outbox, pruned.inbox) == (3, 1, 1)
    session.expire_all()
    assert await _ids(session, OutboxEvent) == {pending_id, recent_id, unfanned_id}
    kept = (await session.execute(select(WebhookDelivery.outbox_id, WebhookDelivery.status))).all()
    assert sorted(kept) == sorted([(pending_id, "pending"), (recent_id, "succeeded")])
    assert delivered_id not in await _ids(session, OutboxEvent)
    assert (await session.scalars(select(InboxMessage.message_id))).all() == ["new"]
    assert await session.scalar(select(func.count()).select_from(CaseEvent)) == 1


async def test_batches_are_bounded(engine: AsyncEngine, session: AsyncSession, world: World) -> None:
    session.add_all(
        InboxMessage(consumer="routing", message_id=f"m{i}", event_type="case.received", processed_at=OLD)
        for i in range(7)
    )
    for _ in range(5):
        await _event(session, world, OLD, "succeeded")
    await session.commit()

    first = await prune_events(engine, NOW, 30, batch=2, max_batches=2)
    assert (first.deliveries, first.outbox, first.inbox) == (4, 4, 4)
    second = await prune_events(engine, NOW, 30, batch=2, max_batches=2)
    assert (second.deliveries, second.outbox, second.inbox) == (1, 1, 3)
    assert await session.scalar(select(func.count()).select_from(InboxMessage)) == 0


async def _closed_case(
    session: AsyncSession, world: World, n: int, status: str, closed: datetime | None
) -> Case:
    case = Case(
        jurisdiction_id=world.jurisdiction.id,
        tracking_no=f"GS-R{n}",
        access_key_hash="x" * 64,
        description="噪声扰民",
        status=status,
        closed_at=closed,
        submitter_name_enc=b"name",
        submitter_phone_enc=b"phone" if n != 2 else None,
        submitter_email_enc=b"email" if n == 1 else None,
    )
    session.add(case)
    await session.flush()
    return case


async def test_personal_data_of_long_closed_cases_is_erased(
    engine: AsyncEngine, session: AsyncSession, world: World
) -> None:
    old = await _closed_case(session, world, 1, "closed", NOW - timedelta(days=800))
    old_no_phone = await _closed_case(session, world, 2, "closed", NOW - timedelta(days=760))
    recent = await _closed_case(session, world, 3, "closed", NOW - timedelta(days=300))
    open_case = await _closed_case(session, world, 4, "in_progress", None)
    await session.commit()
    ids = old.id, old_no_phone.id, recent.id, open_case.id

    assert await retention.due_for_erasure(session, NOW, 24) == 2
    erased = await retention.erase_personal_data(engine, NOW, 24, batch=1, max_batches=1)
    assert erased == {"cases": 1, "names": 1, "phones": 1, "emails": 1}
    erased = await retention.erase_personal_data(engine, NOW, 24)
    assert erased == {"cases": 1, "names": 1, "phones": 0, "emails": 0}
    nothing = {"cases": 0, "names": 0, "phones": 0, "emails": 0}
    assert await retention.erase_personal_data(engine, NOW, 24) == nothing

    session.expire_all()
    rows = {
        c.id: (c.submitter_name_enc, c.submitter_phone_enc, c.submitter_email_enc)
        for c in (await session.scalars(select(Case)))
    }
    assert [rows[i] for i in ids] == [
        (None, None, None),
        (None, None, None),
        (b"name", b"phone", None),
        (b"name", b"phone", None),
    ]
    events = (await session.scalars(select(CaseEvent).where(CaseEvent.type == "personal_data_erased"))).all()
    assert {(e.case_id, e.public, tuple(e.data["fields"])) for e in events} == {
        (ids[0], False, ("name", "phone", "email")),
        (ids[1], False, ("name",)),
    }
    assert await session.scalar(select(func.count()).select_from(OutboxEvent)) == 0


async def test_rejected_and_merged_cases_count_from_their_rejection_and_main_case(
    engine: AsyncEngine, session: AsyncSession, world: World
) -> None:
    long_ago, lately = NOW - timedelta(days=800), NOW - timedelta(days=100)
    rejected_old = await _closed_case(session, world, 1, "rejected", None)
    rejected_new = await _closed_case(session, world, 3, "rejected", None)
    for case, at in ((rejected_old, long_ago), (rejected_new, lately)):
        session.add(CaseEvent(jurisdiction_id=world.jurisdiction.id, case_id=case.id, type="rejected", at=at,
                              actor_type="system", to_status="rejected"))  # fmt: skip
    main_old = await _closed_case(session, world, 5, "closed", long_ago)
    main_new = await _closed_case(session, world, 6, "closed", lately)
    merged_old = await _closed_case(session, world, 7, "merged", None)
    merged_old.duplicate_of_id = main_old.id
    merged_new = await _closed_case(session, world, 8, "merged", None)
    merged_new.duplicate_of_id = main_new.id
    await session.commit()
    ids = rejected_old.id, rejected_new.id, main_old.id, main_new.id, merged_old.id, merged_new.id

    assert (await retention.erase_personal_data(engine, NOW, 24))["cases"] == 3
    session.expire_all()
    rows = {c.id: c.submitter_name_enc for c in (await session.scalars(select(Case)))}
    assert [rows[i] for i in ids] == [None, b"name", None, b"name", None, b"name"]


async def test_worker_job_runs_and_status_shows_it(
    engine: AsyncEngine,
    session: AsyncSession,
    world: World,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    from typer.testing import CliRunner

    from services.cli import app

    await _closed_case(session, world, 1, "closed", datetime.now(UTC) - timedelta(days=800))
    await _event(session, world, datetime.now(UTC) - timedelta(days=45), "succeeded")
    await session.commit()
    # The process's settings, changed for this test and restored after it (a fresh Settings would lose the
    # test database's URL for every later test).
    current = get_settings()
    monkeypatch.setattr(current, "database_url", database_url)
    monkeypatch.setattr(current, "data_dir", tmp_path)
    monkeypatch.setattr(current, "retention_event_days", 40)

    before = await asyncio.to_thread(CliRunner().invoke, app, ["status"])
    assert "events after 40 days; never run; due now 1 deliveries, 1 outbox, 0 inbox" in before.output
    assert "personal data after 24 months; never run; due now 1 cases" in before.output

    from prometheus_client import REGISTRY

    def runs(job: str) -> float:
        return REGISTRY.get_sample_value("minyi_job_runs_total", {"job": job, "result": "ok"}) or 0.0

    runs_before = runs("retention_prune"), runs("retention_erase")
    stop = asyncio.Event()
    settings = Settings(data_dir=tmp_path, retention_event_days=40)
    job = asyncio.create_task(retention.run_retention(engine, settings, stop))
    for _ in range(100):
        if "erase" in retention.read_last_runs(settings):
            break
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(job, timeout=5)

    assert runs("retention_prune") >= runs_before[0] + 1 and runs("retention_erase") >= runs_before[1] + 1
    after = await asyncio.to_thread(CliRunner().invoke, app, ["status"])
    assert "1 deliveries, 1 outbox, 0 inbox; due now 0 deliveries, 0 outbox, 0 inbox" in after.output
    assert "1 cases, 1 names, 1 phones, 1 emails; due now 0 cases" in after.output
    assert await session.scalar(select(func.count()).select_from(OutboxEvent)) == 0
