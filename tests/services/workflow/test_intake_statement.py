"""The one-statement case opening of citizen submissions: case, event, outbox and notify in one round trip,
and nothing at all when the code, its owner or the category no longer accepts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import asyncpg
from sqlalchemy import event, func, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.workflow import case_payload
from services.workflow.intake import ReceivedCase, open_case_through_code
from shared.db.models import Case, CaseEvent, Category, Deputy, IntakeCode, OutboxEvent, Station
from shared.events.outbox import NOTIFY_CHANNEL
from tests.factories import World


def _received(world: World, code: IntakeCode, **fields: object) -> ReceivedCase:
    values: dict[str, object] = {
        "jurisdiction_id": world.jurisdiction.id,
        "jurisdiction_code": world.jurisdiction.code,
        "intake_code_id": code.id,
        "tracking_no": "GS20261122-0001",
        "access_key_hash": "a" * 64,
        "description": "平江路垃圾桶满溢三天无人清运",
        "source": "api",
        "category_id": world.categories["urban.sanitation"].id,
        "category_code": "urban.sanitation",
        "station_id": world.station.id,
        "grid_id": world.grids["G1"].id,
        **fields,
    }
    return ReceivedCase(**values)  # type: ignore[arg-type]


async def _counts(session: AsyncSession) -> tuple[int, int, int]:
    return tuple(  # type: ignore[return-value]
        [
            (await session.execute(select(func.count()).select_from(model))).scalar_one()
            for model in (Case, CaseEvent, OutboxEvent)
        ]
    )


async def test_one_statement_writes_case_event_outbox_and_notifies(engine: AsyncEngine, world, session):
    url = make_url(str(engine.url.render_as_string(hide_password=False))).set(drivername="postgresql")
    listener = await asyncpg.connect(url.render_as_string(hide_password=False))
    heard: asyncio.Queue[str] = asyncio.Queue()
    await listener.add_listener(NOTIFY_CHANNEL, lambda *args: heard.put_nowait(args[2]))
    statements: list[str] = []
    try:
        async with engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            event.listen(
                autocommit.sync_connection, "before_cursor_execute", lambda *a: statements.append(a[2])
            )
            opening = await open_case_through_code(
                autocommit, _received(world, world.station_code), datetime.now(UTC)
            )
        await asyncio.wait_for(heard.get(), timeout=5)
    finally:
        await listener.close()

    assert len(statements) == 1  # one round trip
    assert opening.code_open and opening.category_open and opening.earlier is None
    case = (await session.execute(select(Case).where(Case.id == opening.case_id))).scalar_one()
    assert (case.status, case.kind, case.rework_round, case.intake_code_id) == (
        "received",
        "citizen",
        0,
        world.station_code.id,
    )
    events = (await session.execute(select(CaseEvent))).scalars().all()
    assert [(e.case_id, e.type, e.to_status, e.from_status, e.public, e.actor_type) for e in events] == [
        (case.id, "received", "received", None, True, "citizen")
    ]
    outbox = (await session.execute(select(OutboxEvent))).scalar_one()
    assert (outbox.type, outbox.case_id, outbox.occurred_at) == ("case.received", case.id, events[0].at)
    # The same thin payload the ORM path (case_payload) produces.
    assert outbox.payload == await case_payload(session, case)


async def test_nothing_is_written_when_the_code_or_its_owner_no_longer_accepts(engine, world, session):
    cases = [
        (
            update(IntakeCode).where(IntakeCode.id == world.station_code.id).values(status="revoked"),
            "station",
        ),
        (update(Station).where(Station.id == world.station.id).values(active=False), "station"),
        (update(Deputy).where(Deputy.id == world.deputy.id).values(active=False), "deputy"),
    ]
    for change, owner in cases:
        await session.execute(change)
        await session.commit()
        code = world.station_code if owner == "station" else world.deputy_code
        async with engine.connect() as connection:
            opening = await open_case_through_code(connection, _received(world, code), datetime.now(UTC))
            await connection.commit()
        assert not opening.code_open and opening.case_id is None
        assert await _counts(session) == (0, 0, 0)


async def test_an_inactive_category_or_an_earlier_key_writes_nothing(engine, world, session):
    keyed = _received(world, world.station_code, submission_key="k" * 64)
    async with engine.connect() as connection:
        first = await open_case_through_code(connection, keyed, datetime.now(UTC))
        await connection.commit()
        repeat = _received(world, world.station_code, submission_key="k" * 64, tracking_no="X-2")
        again = await open_case_through_code(connection, repeat, datetime.now(UTC))
        await connection.commit()
    assert first.case_id is not None
    assert again.case_id is None and again.earlier is not None
    assert again.earlier.tracking_no == "GS20261122-0001" and again.earlier.access_key_hash == "a" * 64

    category = world.categories["urban.sanitation"]
    await session.execute(update(Category).where(Category.id == category.id).values(active=False))
    await session.commit()
    async with engine.connect() as connection:
        refused = await open_case_through_code(
            connection, _received(world, world.station_code, tracking_no="X-3"), datetime.now(UTC)
        )
        await connection.commit()
    assert refused.code_open and not refused.category_open and refused.case_id is None
    assert await _counts(session) == (1, 1, 1)
