"""Admin: stations, deputies and intake codes, scoped to the key's jurisdiction; QR images that decode."""

from __future__ import annotations

import io

import zxingcpp
from PIL import Image
from sqlalchemy import select

from shared.db.models import Station, station_grids
from shared.settings import get_settings
from tests.factories import add_key, build_world
from tests.intake_api.conftest import submit


async def test_station_crud(client, world, session):
    admin = world.auth("admin")
    created = await client.post(
        "/v1/stations",
        json={
            "name": " 平江街道代表之家 ",
            "kind": "home",
            "grid_codes": ["GS-G2", "GS-G1"],
            "address": "平江路 100 号",
            "lat": 31.32,
            "long": 120.63,
        },
        headers=admin,
    )
    assert created.status_code == 201, created.text
    station = created.json()
    assert station["name"] == "平江街道代表之家"
    assert station["kind"] == "home" and station["kind_label"] == "代表之家"
    assert station["grid_codes"] == ["GS-G2", "GS-G1"]
    assert station["active"] is True

    # The order of grid codes is kept: the first is the station's default grid.
    positions = (
        await session.execute(
            select(station_grids.c.grid_id, station_grids.c.position)
            .where(station_grids.c.station_id == station["id"])
            .order_by(station_grids.c.position)
        )
    ).all()
    assert [g for g, _ in positions] == [world.grids["G2"].id, world.grids["G1"].id]

    fetched = await client.get(f"/v1/stations/{station['id']}", headers=admin)
    assert fetched.status_code == 200 and fetched.json() == station

    patched = await client.patch(
        f"/v1/stations/{station['id']}",
        json={"grid_codes": ["GS-G1"], "address": None, "active": False},
        headers=admin,
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert body["grid_codes"] == ["GS-G1"] and body["address"] is None and body["active"] is False
    assert body["name"] == "平江街道代表之家" and body["lat"] == 31.32  # untouched fields stay

    listed = await client.get("/v1/stations", headers=admin)
    assert [s["id"] for s in listed.json()["items"]] == [world.station.id, station["id"]]
    inactive = await client.get("/v1/stations", params={"active": "false"}, headers=admin)
    assert [s["id"] for s in inactive.json()["items"]] == [station["id"]]


async def test_station_list_is_paginated(client, world):
    admin = world.auth("admin")
    for i in range(4):
        response = await client.post(
            "/v1/stations", json={"name": f"联络点{i}", "kind": "point"}, headers=admin
        )
        assert response.status_code == 201
    first = (await client.get("/v1/stations", params={"limit": 3}, headers=admin)).json()
    assert len(first["items"]) == 3 and first["next_cursor"]
    second = (
        await client.get("/v1/stations", params={"limit": 3, "cursor": first["next_cursor"]}, headers=admin)
    ).json()
    assert len(second["items"]) == 2 and second["next_cursor"] is None
    ids = [s["id"] for s in first["items"] + second["items"]]
    assert ids == sorted(ids) and len(set(ids)) == 5


async def test_station_validation_is_per_field_and_in_chinese(client, world):
    admin = world.auth("admin")
    response = await client.post(
        "/v1/stations",
        json={"name": "  ", "kind": "castle", "grid_codes": ["GS-G1"], "lat": 91},
        headers=admin,
    )
    assert response.status_code == 422
    details = {d["field"]: d["message"] for d in response.json()["error"]["details"]}
    assert details["name"] == "请填写名称"
    assert set(details) == {"name", "kind", "lat"}
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in m) for m in details.values())

    unknown = await client.post(
        "/v1/stations", json={"name": "新站", "grid_codes": ["GS-G1", "NOPE", "XC-G1"]}, headers=admin
    )
    assert unknown.status_code == 422
    assert unknown.json()["error"]["details"] == [
        {"field": "grid_codes", "message": "网格编码不存在：NOPE、XC-G1"}
    ]

    nulled = await client.patch(f"/v1/stations/{world.station.id}", json={"name": None}, headers=admin)
    assert nulled.status_code == 422
    assert nulled.json()["error"]["details"][0]["field"] == "name"


async def test_admin_endpoints_need_an_admin_key(client, world):
    assert (await client.get("/v1/stations")).status_code == 401
    assert (await client.get("/v1/stations", headers=world.auth("dispatcher"))).status_code == 403
    assert (
        await client.post("/v1/intake-codes", json={}, headers=world.auth("supervisor"))
    ).status_code == 403


async def test_another_jurisdictions_objects_are_404(client, world, session):
    other = await build_world(session, code="XC", name="相城区")
    await session.commit()
    admin = world.auth("admin")
    for path in (
        f"/v1/stations/{other.station.id}",
        f"/v1/deputies/{other.deputy.id}",
        f"/v1/intake-codes/{other.deputy_code.id}",
        f"/v1/intake-codes/{other.deputy_code.id}/qr.png",
    ):
        response = await client.get(path, headers=admin)
        assert response.status_code == 404, path
        assert response.json()["error"]["message"]
    patched = await client.patch(f"/v1/stations/{other.station.id}", json={"name": "改名"}, headers=admin)
    assert patched.status_code == 404
    revoked = await client.post(f"/v1/intake-codes/{other.station_code.id}/revoke", headers=admin)
    assert revoked.status_code == 404
    name = (await session.execute(select(Station.name).where(Station.id == other.station.id))).scalar_one()
    assert name == "双塔街道代表联络站"

    # Lists show only the key's own jurisdiction; references to another's objects are refused.
    listed = (await client.get("/v1/stations", headers=admin)).json()["items"]
    assert [s["id"] for s in listed] == [world.station.id]
    codes = (await client.get("/v1/intake-codes", headers=admin)).json()["items"]
    assert {c["id"] for c in codes} == {world.deputy_code.id, world.station_code.id}
    deputy = await client.post(
        "/v1/deputies",
        json={"name": "李代表", "level": "city", "station_ids": [other.station.id]},
        headers=admin,
    )
    assert deputy.status_code == 422 and deputy.json()["error"]["details"][0]["field"] == "station_ids"
    code = await client.post(
        "/v1/intake-codes", json={"owner_type": "deputy", "owner_id": other.deputy.id}, headers=admin
    )
    assert code.status_code == 422 and code.json()["error"]["details"][0]["field"] == "owner_id"


async def test_bad_ids_never_answer_500(client, world):
    admin = world.auth("admin")
    for path in (
        "/v1/stations/-1",
        "/v1/stations/0",
        "/v1/stations/99999999999999999999",
        "/v1/deputies/abc",
    ):
        response = await client.get(path, headers=admin)
        assert response.status_code == 422, path
    assert (await client.get("/v1/stations/424242", headers=admin)).status_code == 404
    broken = await client.post(
        "/v1/stations", content=b"{not json", headers={**admin, "Content-Type": "application/json"}
    )
    assert broken.status_code == 422
    huge = await client.post(
        "/v1/deputies", json={"name": "李", "level": "city", "station_ids": [2**70]}, headers=admin
    )
    assert huge.status_code == 422


async def test_deputy_crud(client, world):
    admin = world.auth("admin")
    second = (await client.post("/v1/stations", json={"name": "第二联络站"}, headers=admin)).json()
    created = await client.post(
        "/v1/deputies",
        json={"name": "李代表", "level": "township", "station_ids": [second["id"], world.station.id]},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    deputy = created.json()
    assert deputy["station_ids"] == [second["id"], world.station.id]
    assert deputy["level_label"] == "乡镇（街道）人大代表" and deputy["active"] is True

    assert (await client.get(f"/v1/deputies/{deputy['id']}", headers=admin)).json() == deputy
    patched = await client.patch(
        f"/v1/deputies/{deputy['id']}",
        json={"station_ids": [world.station.id], "level": "city"},
        headers=admin,
    )
    assert patched.status_code == 200
    assert patched.json()["station_ids"] == [world.station.id] and patched.json()["level"] == "city"
    assert patched.json()["name"] == "李代表"

    in_second = (await client.get("/v1/deputies", params={"station_id": second["id"]}, headers=admin)).json()
    assert in_second["items"] == []
    everyone = (await client.get("/v1/deputies", headers=admin)).json()["items"]
    assert [d["id"] for d in everyone] == [world.deputy.id, deputy["id"]]

    bad = await client.post("/v1/deputies", json={"name": "王", "level": "emperor"}, headers=admin)
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "level"


async def test_intake_code_lifecycle_with_counts(app, client, world):
    admin = world.auth("admin")
    created = await client.post(
        "/v1/intake-codes", json={"owner_type": "station", "owner_id": world.station.id}, headers=admin
    )
    assert created.status_code == 201, created.text
    code = created.json()
    assert set(code) >= {
        "id",
        "token",
        "url",
        "status",
        "owner_type",
        "owner_id",
        "scan_count",
        "submission_count",
    }
    assert code["url"] == f"{get_settings().public_url}/c/{code['token']}"
    assert (
        code["status"] == "active"
        and code["owner_type"] == "station"
        and code["owner_id"] == world.station.id
    )
    assert code["owner_name"] == "双塔街道代表联络站"
    assert code["scan_count"] == 0 and code["submission_count"] == 0

    # Two scans and two submissions through the new code, one submission through another code.
    assert (await client.get(f"/c/{code['token']}")).status_code == 200
    assert (await client.get(f"/c/{code['token']}")).status_code == 200
    assert (await submit(client, code["token"])).status_code == 201
    assert (await submit(client, code["token"])).status_code == 201
    assert (await submit(client, world.deputy_code.token)).status_code == 201

    await app.state.scans.flush()  # scans reach the database in batches, about every second
    one = (await client.get(f"/v1/intake-codes/{code['id']}", headers=admin)).json()
    assert one["scan_count"] == 2 and one["submission_count"] == 2
    listed = {c["id"]: c for c in (await client.get("/v1/intake-codes", headers=admin)).json()["items"]}
    assert listed[code["id"]]["submission_count"] == 2
    assert listed[world.deputy_code.id]["submission_count"] == 1
    assert listed[world.station_code.id]["submission_count"] == 0

    revoked = await client.post(f"/v1/intake-codes/{code['id']}/revoke", headers=admin)
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    assert revoked.json()["revoked_at"] is not None
    again = await client.post(f"/v1/intake-codes/{code['id']}/revoke", headers=admin)
    assert again.status_code == 200 and again.json()["revoked_at"] == revoked.json()["revoked_at"]
    active = (await client.get("/v1/intake-codes", params={"status": "active"}, headers=admin)).json()[
        "items"
    ]
    assert code["id"] not in {c["id"] for c in active}
    by_owner = (
        await client.get(
            "/v1/intake-codes", params={"owner_type": "deputy", "owner_id": world.deputy.id}, headers=admin
        )
    ).json()["items"]
    assert [c["id"] for c in by_owner] == [world.deputy_code.id]


async def test_codes_are_refused_for_inactive_or_unknown_owners(client, world):
    admin = world.auth("admin")
    await client.patch(f"/v1/deputies/{world.deputy.id}", json={"active": False}, headers=admin)
    inactive = await client.post(
        "/v1/intake-codes", json={"owner_type": "deputy", "owner_id": world.deputy.id}, headers=admin
    )
    assert inactive.status_code == 422
    assert inactive.json()["error"]["details"] == [
        {"field": "owner_id", "message": "该代表已停用，不能生成二维码"}
    ]
    unknown = await client.post(
        "/v1/intake-codes", json={"owner_type": "station", "owner_id": 987654}, headers=admin
    )
    assert unknown.status_code == 422
    bad_type = await client.post("/v1/intake-codes", json={"owner_type": "cat", "owner_id": 1}, headers=admin)
    assert bad_type.status_code == 422


async def test_qr_png_decodes_to_the_form_url(client, world):
    admin = world.auth("admin")
    code = (await client.get(f"/v1/intake-codes/{world.deputy_code.id}", headers=admin)).json()
    response = await client.get(f"/v1/intake-codes/{world.deputy_code.id}/qr.png", headers=admin)
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(response.content)))
    assert [r.text for r in decoded] == [f"{get_settings().public_url}/c/{world.deputy_code.token}"]
    assert decoded[0].text == code["url"]

    svg = await client.get(f"/v1/intake-codes/{world.deputy_code.id}/qr.svg", headers=admin)
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert svg.content.lstrip().startswith(b"<?xml") and b"<svg" in svg.content and b"<path" in svg.content

    assert (await client.get(f"/v1/intake-codes/{world.deputy_code.id}/qr.png")).status_code == 401


async def test_a_second_admin_key_of_the_same_jurisdiction_sees_the_same_objects(client, world, session):
    key = await add_key(session, world.jurisdiction.id, "admin")
    await session.commit()
    response = await client.get(
        f"/v1/stations/{world.station.id}", headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status_code == 200 and response.json()["grid_codes"] == ["GS-G1", "GS-G2"]
