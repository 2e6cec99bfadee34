"""Builders for the deputy's desk tests: more deputies (with a code and a key), the desk's notices, and the
other services' apps to dispatch a suggestion and record its deadlines as the worker would."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from shared.db.models import Deputy, DeputyNotice, IntakeCode, deputy_stations
from shared.events.relay import Relay
from shared.events.subscriptions import ensure_internal_endpoint
from shared.security.keys import new_intake_token
from shared.settings import get_settings
from tests.asgi import HostRouter, running
from tests.factories import World, add_key


@dataclass
class DeskDeputy:
    deputy: Deputy
    code: IntakeCode | None
    key: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


async def desk_deputy(
    session: AsyncSession, world: World, name: str, *, active: bool = True, with_code: bool = True
) -> DeskDeputy:
    """A deputy of the world's jurisdiction sitting in its station, with an intake code and a deputy key
    (flushed; the caller commits)."""
    deputy = Deputy(jurisdiction_id=world.jurisdiction.id, name=name, level="county", active=active)
    session.add(deputy)
    await session.flush()
    await session.execute(
        insert(deputy_stations).values(deputy_id=deputy.id, station_id=world.station.id, position=0)
    )
    code = None
    if with_code:
        code = IntakeCode(
            jurisdiction_id=world.jurisdiction.id,
            token=new_intake_token(),
            owner_type="deputy",
            deputy_id=deputy.id,
        )
        session.add(code)
        await session.flush()
    key = await add_key(session, world.jurisdiction.id, "deputy", deputy_id=deputy.id)
    return DeskDeputy(deputy=deputy, code=code, key=key)


def world_deputy(world: World) -> DeskDeputy:
    return DeskDeputy(deputy=world.deputy, code=world.deputy_code, key=world.keys["deputy"])


async def add_notice(
    session: AsyncSession, world: World, deputy_id: int, case_id: int, *, round: int = 0
) -> DeputyNotice:
    """A reply notice, as supervision writes it when a suggestion is answered."""
    notice = DeputyNotice(
        jurisdiction_id=world.jurisdiction.id,
        deputy_id=deputy_id,
        case_id=case_id,
        kind="replied",
        round=round,
    )
    session.add(notice)
    await session.flush()
    return notice


async def run_pipeline(engine: AsyncEngine, session: AsyncSession) -> None:
    """Delivers the outbox to routing and supervision (in process) until nothing is left: a received case is
    dispatched by routing and its deadlines recorded by supervision."""
    from routing_api.app import create_app as routing_app
    from services.routing.events import SUBSCRIBED_EVENTS as ROUTING_EVENTS
    from services.supervision.events import SUBSCRIBED_EVENTS as SUPERVISION_EVENTS
    from supervision_api.app import create_app as supervision_app

    await ensure_internal_endpoint(session, "routing", "http://routing.test", ROUTING_EVENTS)
    await ensure_internal_endpoint(session, "supervision", "http://supervision.test", SUPERVISION_EVENTS)
    await session.commit()
    routing, supervision = routing_app(engine), supervision_app(engine)
    transport = HostRouter({"routing.test": routing, "supervision.test": supervision})
    async with running(routing, supervision), Relay(engine, get_settings(), transport=transport) as relay:
        for _ in range(10):
            fanned = await relay.fan_out()
            delivered = await relay.deliver_due()
            if not fanned and not delivered:
                return
    raise AssertionError("the outbox did not settle")
