"""API keys: created once-visible, scoped to the admin's jurisdiction, revoked for good."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.supervision.apikeys import create_api_key
from services.supervision.errors import JurisdictionExists
from services.supervision.tenancy import create_jurisdiction
from shared.db.models import ApiKey, Case, IntakeCode
from shared.errors import Unprocessable
from tests.factories import World, build_world


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_create_shows_the_key_once_and_it_works(client: httpx.AsyncClient, world: World) -> None:
    response = await client.post(
        "/v1/api-keys", json={"role": "supervisor", "name": "督查室"}, headers=world.auth("admin")
    )
    assert response.status_code == 201
    created = response.json()
    assert created["key"].startswith(f"mk_{created['prefix']}_")
    assert (created["role"], created["name"], created["department_id"], created["deputy_id"]) == (
        "supervisor",
        "督查室",
        None,
        None,
    )
    assert created["created_at"]

    # The new key is a supervisor's: it may search cases, not manage keys.
    assert (await client.get("/v1/cases", headers=_bearer(created["key"]))).status_code == 200
    assert (await client.get("/v1/api-keys", headers=_bearer(created["key"]))).status_code == 403

    listed = await client.get("/v1/api-keys", headers=world.auth("admin"))
    assert listed.status_code == 200
    assert created["key"] not in listed.text
    assert all("key" not in item and "key_hash" not in item for item in listed.json()["items"])
    mine = next(i for i in listed.json()["items"] if i["id"] == created["id"])
    assert mine["prefix"] == created["prefix"] and mine["revoked_at"] is None
    one = await client.get(f"/v1/api-keys/{created['id']}", headers=world.auth("admin"))
    assert one.status_code == 200 and "key" not in one.json()


async def test_revoked_keys_get_401(client: httpx.AsyncClient, world: World) -> None:
    admin = world.auth("admin")
    created = (await client.post("/v1/api-keys", json={"role": "integrator"}, headers=admin)).json()
    key = _bearer(created["key"])
    assert (await client.get("/v1/webhooks", headers=key)).status_code == 200

    revoked = await client.post(f"/v1/api-keys/{created['id']}/revoke", headers=admin)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    assert (await client.get("/v1/webhooks", headers=key)).status_code == 401
    again = await client.post(f"/v1/api-keys/{created['id']}/revoke", headers=admin)
    assert again.json()["revoked_at"] == revoked.json()["revoked_at"]

    other = (await client.post("/v1/api-keys", json={"role": "supervisor"}, headers=admin)).json()
    deleted = await client.delete(f"/v1/api-keys/{other['id']}", headers=admin)
    assert deleted.status_code == 200 and deleted.json()["revoked_at"] is not None
    assert (await client.get("/v1/cases", headers=_bearer(other["key"]))).status_code == 401


async def test_the_last_admin_key_cannot_be_revoked(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    admin_id = await session.scalar(
        select(ApiKey.id).where(ApiKey.jurisdiction_id == world.jurisdiction.id, ApiKey.role == "admin")
    )
    refused = await client.post(f"/v1/api-keys/{admin_id}/revoke", headers=world.auth("admin"))
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "last_admin_key"

    second = (await client.post("/v1/api-keys", json={"role": "admin"}, headers=world.auth("admin"))).json()
    assert (
        await client.post(f"/v1/api-keys/{admin_id}/revoke", headers=world.auth("admin"))
    ).status_code == 200
    assert (await client.get("/v1/api-keys", headers=world.auth("admin"))).status_code == 401
    assert (await client.get("/v1/api-keys", headers=_bearer(second["key"]))).status_code == 200


async def test_department_and_deputy_keys_need_their_own_jurisdiction_s_unit(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    other = await build_world(session, code="XC", name="相城区")
    await session.commit()
    admin = world.auth("admin")
    own_department = world.departments["environment"].id

    ok = await client.post(
        "/v1/api-keys", json={"role": "department", "department_id": own_department}, headers=admin
    )
    assert ok.status_code == 201 and ok.json()["department_id"] == own_department
    deputy = await client.post(
        "/v1/api-keys", json={"role": "deputy", "deputy_id": world.deputy.id}, headers=admin
    )
    assert deputy.status_code == 201

    refusals = [
        ({"role": "department"}, "department_id"),
        ({"role": "department", "department_id": other.departments["environment"].id}, "department_id"),
        ({"role": "deputy"}, "deputy_id"),
        ({"role": "deputy", "deputy_id": other.deputy.id}, "deputy_id"),
        ({"role": "supervisor", "department_id": own_department}, "department_id"),
        ({"role": "department", "department_id": 2**63}, "department_id"),
        ({"role": "emperor"}, "role"),
        ({"role": "admin", "name": "名" * 101}, "name"),
        ({"role": "admin", "secret": "x"}, "secret"),
    ]
    for body, field in refusals:
        response = await client.post("/v1/api-keys", json=body, headers=admin)
        assert response.status_code == 422, body
        assert response.json()["error"]["details"][0]["field"] == field, body


async def test_keys_are_scoped_and_admin_only(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    other = await build_world(session, code="XC", name="相城区")
    await session.commit()
    foreign = (await client.get("/v1/api-keys", headers=other.auth("admin"))).json()["items"]
    own = (await client.get("/v1/api-keys", headers=world.auth("admin"))).json()["items"]
    assert {k["id"] for k in foreign}.isdisjoint({k["id"] for k in own})
    assert (
        await client.get(f"/v1/api-keys/{foreign[0]['id']}", headers=world.auth("admin"))
    ).status_code == 404
    revoke = await client.post(f"/v1/api-keys/{foreign[0]['id']}/revoke", headers=world.auth("admin"))
    assert revoke.status_code == 404
    for who in ("supervisor", "integrator", "dispatcher", "deputy", "dept:urban_mgmt"):
        response = await client.post("/v1/api-keys", json={"role": "admin"}, headers=world.auth(who))
        assert response.status_code == 403, who
    assert (await client.get("/v1/api-keys")).status_code == 401


async def test_key_list_is_paginated(client: httpx.AsyncClient, world: World) -> None:
    admin = world.auth("admin")
    first = await client.get("/v1/api-keys", params={"limit": 3}, headers=admin)
    assert len(first.json()["items"]) == 3 and first.json()["next_cursor"]
    second = await client.get(
        "/v1/api-keys", params={"limit": 500, "cursor": first.json()["next_cursor"]}, headers=admin
    )
    ids = [k["id"] for k in first.json()["items"] + second.json()["items"]]
    assert len(ids) == len(world.keys) and ids == sorted(ids) and second.json()["next_cursor"] is None
    forged = await client.get(
        "/v1/api-keys", params={"cursor": "aWQ6OTk5OTk5OTk5OTk5OTk5OTk5OTk5"}, headers=admin
    )
    assert forged.status_code == 422


async def test_domain_functions_for_the_cli(session: AsyncSession) -> None:
    jurisdiction = await create_jurisdiction(session, "WJ", "吴江区")
    assert (jurisdiction.code, jurisdiction.name, jurisdiction.timezone) == ("WJ", "吴江区", "Asia/Shanghai")
    with pytest.raises(JurisdictionExists):
        await create_jurisdiction(session, "WJ", "又一个吴江区")
    for bad in ("w", "wj", "W-J", "ABCDEFGHIJKLMNOPQ"):
        with pytest.raises(Unprocessable):
            await create_jurisdiction(session, bad, "某区")
    row, key = await create_api_key(session, jurisdiction.id, "admin", name="首个管理员")
    assert row.id and row.role == "admin" and key.startswith(f"mk_{row.prefix}_")
    assert row.key_hash != key and key not in row.key_hash
    with pytest.raises(Unprocessable):
        await create_api_key(session, jurisdiction.id, "superuser")


async def test_integrator_keys_bind_to_an_intake_code_or_a_station(
    client: httpx.AsyncClient, session: AsyncSession, world: World, engine
) -> None:
    from intake_api.app import create_app as create_intake_app
    from tests.asgi import client_for, running

    other = await build_world(session, code="XC", name="相城区")
    revoked = IntakeCode(
        jurisdiction_id=world.jurisdiction.id,
        token="revoked-token",
        owner_type="station",
        station_id=world.station.id,
        status="revoked",
    )
    session.add(revoked)
    await session.commit()
    admin = world.auth("admin")

    by_code = await client.post(
        "/v1/api-keys", json={"role": "integrator", "intake_code_id": world.deputy_code.id}, headers=admin
    )
    assert by_code.status_code == 201
    assert (by_code.json()["intake_code_id"], by_code.json()["station_id"]) == (world.deputy_code.id, None)
    by_station = await client.post(
        "/v1/api-keys", json={"role": "integrator", "station_id": world.station.id}, headers=admin
    )
    assert by_station.status_code == 201 and by_station.json()["station_id"] == world.station.id
    listed = (await client.get("/v1/api-keys", params={"limit": 500}, headers=admin)).json()["items"]
    assert {k["id"]: k["station_id"] for k in listed}[by_station.json()["id"]] == world.station.id

    refusals = [
        ({"role": "supervisor", "station_id": world.station.id}, "station_id"),
        (
            {
                "role": "department",
                "department_id": world.departments["environment"].id,
                "intake_code_id": world.deputy_code.id,
            },
            "intake_code_id",
        ),
        (
            {"role": "integrator", "intake_code_id": world.deputy_code.id, "station_id": world.station.id},
            "station_id",
        ),
        ({"role": "integrator", "intake_code_id": other.deputy_code.id}, "intake_code_id"),
        ({"role": "integrator", "station_id": other.station.id}, "station_id"),
        ({"role": "integrator", "intake_code_id": revoked.id}, "intake_code_id"),
        ({"role": "integrator", "intake_code_id": 2**63}, "intake_code_id"),
    ]
    for body, field in refusals:
        response = await client.post("/v1/api-keys", json=body, headers=admin)
        assert response.status_code == 422, body
        assert response.json()["error"]["details"][0]["field"] == field, body
    world.station.active = False
    await session.commit()
    inactive = await client.post(
        "/v1/api-keys", json={"role": "integrator", "station_id": world.station.id}, headers=admin
    )
    assert inactive.status_code == 422
    assert inactive.json()["error"]["message"] == "该联络站已停用，不能绑定"

    # The key made here submits Open311 requests on intake_api through the deputy's code.
    intake = create_intake_app(engine)
    async with running(intake), client_for(intake) as intake_client:
        posted = await intake_client.post(
            "/open311/v2/requests.json",
            data={
                "api_key": by_code.json()["key"],
                "service_code": "urban.sanitation",
                "description": "桥下路灯不亮已经一周",
                "address_string": "人民桥下",
            },
        )
    assert posted.status_code == 201
    case = (await session.execute(select(Case).execution_options(populate_existing=True))).scalar_one()
    assert case.tracking_no == posted.json()[0]["service_request_id"]
    assert (case.intake_code_id, case.source) == (world.deputy_code.id, "open311")


async def test_the_cli_binds_an_integrator_key_to_a_station(
    session: AsyncSession, world: World, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from typer.testing import CliRunner

    from services.cli import app
    from shared.security.keys import api_key_prefix
    from shared.settings import get_settings

    monkeypatch.setattr(get_settings(), "database_url", database_url)
    args = ["apikey", "create", "--jurisdiction", world.jurisdiction.code, "--role", "integrator"]
    bound = await asyncio.to_thread(CliRunner().invoke, app, [*args, "--station-id", str(world.station.id)])
    assert bound.exit_code == 0, bound.output
    key = await session.scalar(
        select(ApiKey).where(ApiKey.prefix == api_key_prefix(bound.output.strip().splitlines()[-1]))
    )
    assert key is not None and (key.role, key.station_id, key.intake_code_id) == (
        "integrator",
        world.station.id,
        None,
    )
    refused = await asyncio.to_thread(
        CliRunner().invoke,
        app,
        [
            "apikey",
            "create",
            "--jurisdiction",
            world.jurisdiction.code,
            "--role",
            "supervisor",
            "--station-id",
            str(world.station.id),
        ],
    )
    assert refused.exit_code == 1 and "station_id" in refused.output
