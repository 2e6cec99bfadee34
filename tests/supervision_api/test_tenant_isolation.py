"""A second jurisdiction's ids as case-search filters, and its webhooks and deliveries (test_cases,
test_webhooks and test_api_keys cover the plain reads): empty lists and 404s, never its data."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from shared.settings import Settings
from tests.factories import World, build_world
from tests.supervision_api.arrange import dispatched_case


async def test_another_jurisdictions_ids_as_filters_find_nothing(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    other = await build_world(session, code="XC", name="相城区")
    await dispatched_case(session, other, station_id=other.station.id, deputy_id=other.deputy.id)
    own = await dispatched_case(session, world, station_id=world.station.id, deputy_id=world.deputy.id)
    await session.commit()

    for params in (
        {"department_id": other.departments["urban_mgmt"].id},
        {"station_id": other.station.id},
        {"deputy_id": other.deputy.id},
    ):
        response = await client.get("/v1/cases", params=params, headers=world.auth("supervisor"))
        assert response.status_code == 200 and response.json()["items"] == [], params
    mine = await client.get(
        "/v1/cases", params={"department_id": world.departments["urban_mgmt"].id}, headers=world.auth("admin")
    )
    assert [c["id"] for c in mine.json()["items"]] == [own.id]


async def test_another_jurisdictions_webhooks_are_404_even_to_an_admin(
    client: httpx.AsyncClient, session: AsyncSession, world: World, allow_hosts: Settings
) -> None:
    other = await build_world(session, code="XC", name="相城区")
    await session.commit()
    created = await client.post(
        "/v1/webhooks", json={"url": "http://hooks.test/xc"}, headers=other.auth("admin")
    )
    theirs = created.json()["id"]

    admin = world.auth("admin")
    assert (await client.get("/v1/webhooks", headers=admin)).json()["items"] == []
    for method, path, body in (
        ("PATCH", f"/v1/webhooks/{theirs}", {"url": "http://hooks.test/gs"}),
        ("POST", f"/v1/webhooks/{theirs}/rotate-secret", None),
        ("GET", f"/v1/webhooks/{theirs}/deliveries", None),
        ("DELETE", f"/v1/webhooks/{theirs}", None),
    ):
        response = await client.request(method, path, json=body, headers=admin)
        assert response.status_code == 404, (method, path)
        assert "whsec_" not in response.text
    kept = await client.get(f"/v1/webhooks/{theirs}", headers=other.auth("admin"))
    assert kept.status_code == 200 and kept.json()["url"] == "http://hooks.test/xc"
