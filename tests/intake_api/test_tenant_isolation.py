"""A second jurisdiction's ids in paths, list filters and request bodies (test_admin covers the plain reads):
404 for objects, empty lists for filters, 422 for references, and its codes never take another's categories."""

from __future__ import annotations

from sqlalchemy import select

from shared.db.models import Category, Deputy
from tests.factories import build_world
from tests.intake_api.conftest import submit


async def test_another_jurisdictions_ids_reach_nothing(client, world, session):
    other = await build_world(session, code="XC", name="相城区")
    session.add(Category(jurisdiction_id=other.jurisdiction.id, code="xc.only", name="相城专有"))
    await session.commit()
    admin = world.auth("admin")

    renamed = await client.patch(f"/v1/deputies/{other.deputy.id}", json={"name": "改名"}, headers=admin)
    assert renamed.status_code == 404
    assert (
        await client.get(f"/v1/intake-codes/{other.station_code.id}/qr.svg", headers=admin)
    ).status_code == 404
    name = (await session.execute(select(Deputy.name).where(Deputy.id == other.deputy.id))).scalar_one()
    assert name == "王代表"

    for path, params in (
        ("/v1/deputies", {"station_id": other.station.id}),
        ("/v1/intake-codes", {"owner_type": "station", "owner_id": other.station.id}),
        ("/v1/intake-codes", {"owner_type": "deputy", "owner_id": other.deputy.id}),
    ):
        listed = await client.get(path, params=params, headers=admin)
        assert listed.status_code == 200 and listed.json()["items"] == [], (path, params)

    for path, body, field in (
        (f"/v1/stations/{world.station.id}", {"grid_codes": ["XC-G1"]}, "grid_codes"),
        (f"/v1/deputies/{world.deputy.id}", {"station_ids": [other.station.id]}, "station_ids"),
    ):
        response = await client.patch(path, json=body, headers=admin)
        assert response.status_code == 422, path
        assert response.json()["error"]["details"][0]["field"] == field

    # A citizen on this jurisdiction's code cannot file under the other's category or grid.
    for field, value in (("category_code", "xc.only"), ("grid_code", "XC-G1")):
        response = await submit(client, world.station_code.token, **{field: value})
        assert response.status_code == 422, field
        assert response.json()["error"]["details"][0]["field"] == field
