"""Operators see the event backlog and the internal deliveries that are stuck, for their own jurisdiction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db.models import WebhookDelivery
from shared.events.fanout import fan_out
from shared.events.subscriptions import ensure_internal_endpoint
from tests.factories import World, build_world
from tests.supervision_api.arrange import new_case


async def test_stuck_internal_deliveries_are_listed_with_their_last_error(
    client: httpx.AsyncClient, session: AsyncSession, world: World, engine
) -> None:
    await ensure_internal_endpoint(session, "routing", "http://127.0.0.1:9", ["case.received"])
    fresh = await new_case(session, world)
    old = await new_case(session, world)
    other_world = await build_world(session, code="XC", name="相城区")
    await new_case(session, other_world)
    await session.commit()
    assert (await fan_out(engine, 100))[1] == 3
    # The old case's delivery has failed for an hour: past the 10-minute alarm.
    await session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.case_id == old.id)
        .values(
            created_at=datetime.now(UTC) - timedelta(hours=1),
            attempts=40,
            last_error="ConnectError: connection refused",
        )
    )
    await session.commit()
    admin = world.auth("admin")

    stuck = await client.get("/v1/ops/deliveries", params={"stuck": "true"}, headers=admin)
    assert stuck.status_code == 200
    (item,) = stuck.json()["items"]
    assert (item["case_id"], item["lane"], item["endpoint_name"]) == (old.id, "internal", "routing")
    assert (item["attempts"], item["last_error"]) == (40, "ConnectError: connection refused")

    everything = await client.get("/v1/ops/deliveries", headers=admin)
    assert {i["case_id"] for i in everything.json()["items"]} == {fresh.id, old.id}  # not the other tenant's

    backlog = (await client.get("/v1/ops/backlog", headers=admin)).json()
    assert (backlog["internal_pending"], backlog["stuck_internal"], backlog["unfanned_events"]) == (2, 1, 0)

    refused = await client.get("/v1/ops/deliveries", headers=world.auth("supervisor"))
    assert refused.status_code == 403
    bad = await client.get("/v1/ops/deliveries", params={"lane": "elsewhere"}, headers=admin)
    assert bad.status_code == 422
