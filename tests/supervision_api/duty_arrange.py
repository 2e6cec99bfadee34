"""Arranging what earns duty points the way intake and supervision leave it (deputies, cases through a
deputy's code, suggestions with co-signers, receptions, ratings) and delivering the events as the relay would."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime

import httpx
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.supervision import events
from services.workflow.service import case_payload
from shared.db.enums import CaseKind
from shared.db.models import Case, CaseCosigner, Deputy, OutboxEvent, Reception, reception_deputies
from shared.events.inbox import ReceivedEvent
from shared.events.outbox import emit, message_id
from tests.factories import World, add_key
from tests.internal_events import signed_batch
from tests.supervision_api.arrange import dispatched_case, new_case


async def add_deputy(
    session: AsyncSession, world: World, name: str, *, level: str = "county", active: bool = True
) -> Deputy:
    """A deputy of the world's jurisdiction with a key of its own, world.keys[f"deputy:{name}"]."""
    deputy = Deputy(jurisdiction_id=world.jurisdiction.id, name=name, level=level, active=active)
    session.add(deputy)
    await session.flush()
    world.keys[f"deputy:{name}"] = await add_key(
        session, world.jurisdiction.id, "deputy", deputy_id=deputy.id
    )
    return deputy


async def case_via_code(session: AsyncSession, world: World, deputy: Deputy | None = None) -> Case:
    """A citizen's case that came in through a deputy's code: its case.received is in the outbox."""
    deputy = deputy or world.deputy
    code_id = world.deputy_code.id if deputy.id == world.deputy.id else None
    return await new_case(session, world, deputy_id=deputy.id, intake_code_id=code_id)


async def suggestion(
    session: AsyncSession,
    world: World,
    author: Deputy,
    cosigners: Sequence[Deputy] = (),
    *,
    dispatched: bool = False,
    at: datetime | None = None,
) -> Case:
    """A deputy suggestion as intake makes it: the case (author in cases.deputy_id), its co-signers' rows and
    suggestion.submitted in the outbox."""
    fields: dict[str, object] = {
        "kind": CaseKind.deputy_suggestion,
        "deputy_id": author.id,
        "title": "关于加强平江路夜间保洁的建议",
    }
    if dispatched:
        case = await dispatched_case(session, world, **fields)
    else:
        case = await new_case(session, world, **fields)
    session.add_all(
        CaseCosigner(case_id=case.id, deputy_id=d.id, position=i) for i, d in enumerate(cosigners)
    )
    await session.flush()
    payload = await case_payload(session, case)
    payload |= {"deputy_id": author.id, "cosigner_ids": [d.id for d in cosigners], "adopted_case_id": None}
    await emit(
        session,
        type="suggestion.submitted",
        jurisdiction_id=case.jurisdiction_id,
        case_id=case.id,
        payload=payload,
        occurred_at=at or datetime.now(UTC),
    )
    return case


async def reception(
    session: AsyncSession,
    world: World,
    deputies: Sequence[Deputy],
    *,
    held_on: date | None = None,
    at: datetime | None = None,
    citizens: int = 6,
) -> Reception:
    """A reception record as intake writes it, with reception.recorded (no case) in the outbox."""
    at = at or datetime.now(UTC)
    row = Reception(
        jurisdiction_id=world.jurisdiction.id,
        station_id=world.station.id,
        held_on=held_on or at.date(),
        citizens_received=citizens,
        answered_on_spot=2,
        recorded_by_type="admin",
    )
    session.add(row)
    await session.flush()
    await session.execute(
        insert(reception_deputies), [{"reception_id": row.id, "deputy_id": d.id} for d in deputies]
    )
    await emit(
        session,
        type="reception.recorded",
        jurisdiction_id=world.jurisdiction.id,
        case_id=None,
        payload={
            "reception_id": row.id,
            "station_id": world.station.id,
            "jurisdiction": world.jurisdiction.code,
            "held_on": row.held_on.isoformat(),
            "deputy_ids": [d.id for d in deputies],
            "citizens_received": citizens,
            "answered_on_spot": 2,
            "case_ids": [],
        },
        occurred_at=at,
    )
    return row


async def outbox_row(session: AsyncSession, type_: str, case: Case | None = None) -> OutboxEvent:
    """The latest outbox event of a type (of a case, when given)."""
    query = select(OutboxEvent).where(OutboxEvent.type == type_)
    if case is not None:
        query = query.where(OutboxEvent.case_id == case.id)
    return (await session.execute(query.order_by(OutboxEvent.id.desc()).limit(1))).scalar_one()


async def post_event(
    client: httpx.AsyncClient, session: AsyncSession, row: OutboxEvent, *, fresh_id: bool = False
) -> str:
    """Commits what was arranged and posts the event to /internal/events, as the relay would (or, with
    ``fresh_id``, as a replay under a new message id that the inbox has never seen); answers its status."""
    await session.commit()
    mid = f"msg_{uuid.uuid4().hex}" if fresh_id else message_id(row.event_id)
    body, headers = signed_batch("supervision", [(mid, row.type, row.occurred_at, row.payload)])
    response = await client.post("/internal/events", content=body, headers=headers)
    assert response.status_code == 200, response.text
    (result,) = response.json()["results"]
    return str(result["status"])


async def deliver_type(
    client: httpx.AsyncClient, session: AsyncSession, type_: str, case: Case | None = None
) -> str:
    return await post_event(client, session, await outbox_row(session, type_, case))


async def handle_directly(session: AsyncSession, row: OutboxEvent) -> None:
    """Applies the event with supervision's handler, bypassing the inbox, and commits."""
    event = ReceivedEvent(
        message_id=f"msg_{uuid.uuid4().hex}", type=row.type, timestamp=row.occurred_at, data=dict(row.payload)
    )
    await events.handle(session, event)
    await session.commit()
