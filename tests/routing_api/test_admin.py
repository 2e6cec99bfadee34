"""Admin CRUD of the taxonomy, the units, routing rules and the fallback department: validation, scoping to the
caller's jurisdiction, and roles."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from shared.db.models import Jurisdiction, RoutingRuleAssignment
from tests.factories import build_world
from tests.routing_api.conftest import dispatched_case


@pytest.fixture
async def other(session, world):
    other = await build_world(session, code="XC", name="相城区")
    await session.commit()
    return other


def _error(response) -> dict:
    return response.json()["error"]


# --- roles -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/v1/grids",
        "/v1/committees",
        "/v1/categories",
        "/v1/departments",
        "/v1/routing-rules",
        "/v1/fallback-department",
    ],
)
async def test_only_admins_manage_the_taxonomy(client, world, path):
    assert (await client.get(path)).status_code == 401
    for role in ("dispatcher", "supervisor", "dept:urban_mgmt", "deputy", "integrator"):
        response = await client.get(path, headers=world.auth(role))
        assert response.status_code == 403, role
    assert (await client.get(path, headers=world.auth("admin"))).status_code == 200


# --- grids and committees ----------------------------------------------------------------------------------


async def test_grid_crud_with_duplicates_and_scoping(client, world, other):
    admin = world.auth("admin")
    created = await client.post("/v1/grids", json={"code": "GS-G3", "name": "三号网格"}, headers=admin)
    assert created.status_code == 201
    grid = created.json()
    assert grid["code"] == "GS-G3" and grid["name"] == "三号网格" and grid["created_at"]
    duplicate = await client.post("/v1/grids", json={"code": "GS-G3", "name": "重复"}, headers=admin)
    assert duplicate.status_code == 409
    assert _error(duplicate) == {"code": "duplicate_code", "message": "网格编码“GS-G3”已存在", "details": []}
    # Codes are unique per jurisdiction only.
    theirs = await client.post(
        "/v1/grids", json={"code": "GS-G3", "name": "相城"}, headers=other.auth("admin")
    )
    assert theirs.status_code == 201

    renamed = await client.patch(f"/v1/grids/{grid['id']}", json={"name": "三号网格（新）"}, headers=admin)
    assert renamed.status_code == 200 and renamed.json()["code"] == "GS-G3"
    assert renamed.json()["name"] == "三号网格（新）"
    clash = await client.patch(f"/v1/grids/{grid['id']}", json={"code": "GS-G1"}, headers=admin)
    assert clash.status_code == 409
    null = await client.patch(f"/v1/grids/{grid['id']}", json={"name": None}, headers=admin)
    assert null.status_code == 422 and _error(null)["details"] == [{"field": "name", "message": "不能为空"}]

    assert (await client.get(f"/v1/grids/{grid['id']}", headers=admin)).json() == renamed.json()
    foreign = other.grids["G1"].id
    assert (await client.get(f"/v1/grids/{foreign}", headers=admin)).status_code == 404
    assert (await client.patch(f"/v1/grids/{foreign}", json={"name": "x"}, headers=admin)).status_code == 404

    listing = (await client.get("/v1/grids", headers=admin)).json()
    assert [g["code"] for g in listing["items"]] == ["GS-G1", "GS-G2", "GS-G3"]
    first = (await client.get("/v1/grids?limit=2", headers=admin)).json()
    assert [g["code"] for g in first["items"]] == ["GS-G1", "GS-G2"]
    rest = (await client.get(f"/v1/grids?limit=2&cursor={first['next_cursor']}", headers=admin)).json()
    assert [g["code"] for g in rest["items"]] == ["GS-G3"] and rest["next_cursor"] is None
    assert (await client.get("/v1/grids?limit=0", headers=admin)).status_code == 422
    assert (await client.get("/v1/grids?cursor=%%%", headers=admin)).status_code == 422


async def test_simultaneous_creation_of_one_code_is_one_201_and_one_409(client, world):
    admin = world.auth("admin")
    responses = await asyncio.gather(
        *(
            client.post("/v1/departments", json={"code": "water", "name": f"水务{i}"}, headers=admin)
            for i in range(2)
        )
    )
    assert sorted(r.status_code for r in responses) == [201, 409]
    conflict = next(r for r in responses if r.status_code == 409)
    assert _error(conflict)["code"] == "duplicate_code"


async def test_codes_and_names_are_validated(client, world):
    admin = world.auth("admin")
    for body, field in [
        ({"code": "", "name": "空"}, "code"),
        ({"code": "有中文", "name": "中文编码"}, "code"),
        ({"code": "a" * 33, "name": "太长"}, "code"),
        ({"code": "ok", "name": ""}, "name"),
        ({"code": "ok"}, "name"),
        ({"code": "ok", "name": "多余字段", "extra": 1}, "extra"),
    ]:
        response = await client.post("/v1/grids", json=body, headers=admin)
        assert response.status_code == 422, body
        assert response.json()["error"]["details"][0]["field"] == field, body


async def test_committee_crud(client, world, other):
    admin = world.auth("admin")
    created = await client.post(
        "/v1/committees", json={"code": "social", "name": "社会建设工委"}, headers=admin
    )
    assert created.status_code == 201
    committee_id = created.json()["id"]
    assert (
        await client.post("/v1/committees", json={"code": "urban", "name": "x"}, headers=admin)
    ).status_code == 409
    patched = await client.patch(f"/v1/committees/{committee_id}", json={"code": "society"}, headers=admin)
    assert patched.json()["code"] == "society"
    assert (await client.get(f"/v1/committees/{other.committee.id}", headers=admin)).status_code == 404
    codes = [c["code"] for c in (await client.get("/v1/committees", headers=admin)).json()["items"]]
    assert codes == ["urban", "society"]


# --- categories --------------------------------------------------------------------------------------------


async def test_categories_are_two_levels_with_committee_and_tier(client, world, other):
    admin = world.auth("admin")
    body = {
        "code": "urban.lights",
        "name": "路灯",
        "parent_code": "urban",
        "committee_code": "urban",
        "default_tier": "immediate",
    }
    created = await client.post("/v1/categories", json=body, headers=admin)
    assert created.status_code == 201
    category = created.json()
    assert category["parent_code"] == "urban" and category["committee_code"] == "urban"
    assert category["default_tier"] == "immediate" and category["active"] is True

    third_level = {"code": "urban.lights.led", "name": "LED", "parent_code": "urban.lights"}
    refused = await client.post("/v1/categories", json=third_level, headers=admin)
    assert refused.status_code == 422
    assert _error(refused)["details"] == [
        {"field": "parent_code", "message": "分类最多两级：上级分类必须是一级分类"}
    ]
    unknown_parent = await client.post(
        "/v1/categories", json={**third_level, "parent_code": "nope"}, headers=admin
    )
    assert unknown_parent.status_code == 422
    unknown_committee = await client.post(
        "/v1/categories", json={"code": "x", "name": "x", "committee_code": "nope"}, headers=admin
    )
    assert _error(unknown_committee)["details"][0]["field"] == "committee_code"
    bad_tier = await client.post(
        "/v1/categories", json={"code": "x", "name": "x", "default_tier": "year"}, headers=admin
    )
    assert bad_tier.status_code == 422 and _error(bad_tier)["details"][0]["field"] == "default_tier"
    # Another tenant's parent does not exist here.
    theirs = await client.post(
        "/v1/categories", json={"code": "xc.only", "name": "x"}, headers=other.auth("admin")
    )
    assert theirs.status_code == 201
    assert (
        await client.post(
            "/v1/categories", json={"code": "y", "name": "y", "parent_code": "xc.only"}, headers=admin
        )
    ).status_code == 422
    assert (
        await client.post("/v1/categories", json={"code": "urban", "name": "x"}, headers=admin)
    ).status_code == 409

    # A top-level category with children cannot itself get a parent; a child can move to top level.
    urban_id = world.categories["urban"].id
    nested = await client.patch(
        f"/v1/categories/{urban_id}", json={"parent_code": "environment"}, headers=admin
    )
    assert nested.status_code == 422
    assert _error(nested)["details"][0]["message"] == "该分类下已有子分类，不能再设置上级分类"
    lifted = await client.patch(
        f"/v1/categories/{category['id']}",
        json={"parent_code": None, "active": False, "committee_code": None},
        headers=admin,
    )
    assert lifted.status_code == 200
    assert lifted.json() | {"created_at": None} == {
        **category,
        "parent_code": None,
        "committee_code": None,
        "active": False,
        "created_at": None,
    }
    untouched = await client.patch(
        f"/v1/categories/{category['id']}", json={"name": "路灯照明"}, headers=admin
    )
    assert untouched.json()["parent_code"] is None and untouched.json()["default_tier"] == "immediate"
    self_parent = await client.patch(
        f"/v1/categories/{world.categories['environment'].id}",
        json={"parent_code": "environment"},
        headers=admin,
    )
    assert self_parent.status_code == 422
    assert (
        await client.get(f"/v1/categories/{other.categories['urban'].id}", headers=admin)
    ).status_code == 404
    listing = (await client.get("/v1/categories?limit=500", headers=admin)).json()["items"]
    assert len(listing) == 5 and all(c["code"] != "xc.only" for c in listing)


# --- departments and the fallback --------------------------------------------------------------------------


async def test_department_crud_and_fallback(client, world, other):
    admin = world.auth("admin")
    created = await client.post("/v1/departments", json={"code": "water", "name": "区水务局"}, headers=admin)
    assert created.status_code == 201 and created.json()["active"] is True
    department_id = created.json()["id"]
    dup = await client.post("/v1/departments", json={"code": "water", "name": "又一个"}, headers=admin)
    assert dup.status_code == 409 and _error(dup)["message"] == "承办单位编码“water”已存在"

    current = (await client.get("/v1/fallback-department", headers=admin)).json()
    assert current["department_id"] == world.departments["street_office"].id
    assert current["department"]["code"] == "street_office"
    moved = await client.put("/v1/fallback-department", json={"department_id": department_id}, headers=admin)
    assert moved.status_code == 200 and moved.json()["department"]["code"] == "water"
    foreign = await client.put(
        "/v1/fallback-department",
        json={"department_id": other.departments["urban_mgmt"].id},
        headers=admin,
    )
    assert foreign.status_code == 422 and _error(foreign)["details"][0]["field"] == "department_id"

    off = await client.patch(f"/v1/departments/{department_id}", json={"active": False}, headers=admin)
    assert off.status_code == 200 and off.json()["active"] is False
    inactive = await client.put(
        "/v1/fallback-department", json={"department_id": department_id}, headers=admin
    )
    assert inactive.status_code == 422
    cleared = await client.put("/v1/fallback-department", json={"department_id": None}, headers=admin)
    assert cleared.json() == {"department_id": None, "department": None}
    assert (await client.put("/v1/fallback-department", json={}, headers=admin)).status_code == 422
    # The other tenant's fallback is untouched.
    assert (await client.get("/v1/fallback-department", headers=other.auth("admin"))).json()["department"][
        "code"
    ] == ("street_office")
    assert (
        await client.get(f"/v1/departments/{other.departments['urban_mgmt'].id}", headers=admin)
    ).status_code == 404
    assert (await client.get(f"/v1/departments/{department_id}", headers=admin)).json()["name"] == "区水务局"


async def test_fallback_is_stored_on_the_jurisdiction(session, client, world):
    admin = world.auth("admin")
    response = await client.put(
        "/v1/fallback-department", json={"department_id": world.departments["urban_mgmt"].id}, headers=admin
    )
    assert response.status_code == 200
    stored = await session.scalar(
        select(Jurisdiction.fallback_department_id).where(Jurisdiction.id == world.jurisdiction.id)
    )
    assert stored == world.departments["urban_mgmt"].id


# --- routing rules -----------------------------------------------------------------------------------------


async def test_routing_rule_crud(session, client, world, other):
    admin = world.auth("admin")
    d = {code: dep.id for code, dep in world.departments.items()}
    body = {
        "category_code": "urban.sanitation",
        "grid_code": "GS-G1",
        "assignments": [
            {"department_id": d["street_office"], "role": "lead"},
            {"department_id": d["urban_mgmt"], "role": "co"},
        ],
        "tier": "immediate",
        "priority": 3,
    }
    created = await client.post("/v1/routing-rules", json=body, headers=admin)
    assert created.status_code == 201
    rule = created.json()
    assert rule | {"id": 0, "created_at": None} == {**body, "id": 0, "active": True, "created_at": None}

    # Replacing assignments keeps a department that stays (the (rule, department) pair is unique).
    patch = {
        "assignments": [
            {"department_id": d["urban_mgmt"], "role": "lead"},
            {"department_id": d["environment"], "role": "separate"},
        ]
    }
    patched = await client.patch(f"/v1/routing-rules/{rule['id']}", json=patch, headers=admin)
    assert patched.status_code == 200
    assert sorted((a["department_id"], a["role"]) for a in patched.json()["assignments"]) == sorted(
        [(d["urban_mgmt"], "lead"), (d["environment"], "separate")]
    )
    assert patched.json()["tier"] == "immediate" and patched.json()["grid_code"] == "GS-G1"
    widened = await client.patch(
        f"/v1/routing-rules/{rule['id']}", json={"grid_code": None, "tier": None}, headers=admin
    )
    assert widened.json()["grid_code"] is None and widened.json()["tier"] is None
    rows = (
        (
            await session.execute(
                select(RoutingRuleAssignment).where(RoutingRuleAssignment.rule_id == rule["id"])
            )
        )
        .scalars()
        .all()
    )
    assert len(rows) == 2

    assert (
        await client.get(f"/v1/routing-rules/{rule['id']}", headers=other.auth("admin"))
    ).status_code == 404
    assert (
        await client.delete(f"/v1/routing-rules/{rule['id']}", headers=other.auth("admin"))
    ).status_code == 404
    listing = (await client.get("/v1/routing-rules", headers=admin)).json()["items"]
    assert len(listing) == 4
    assert (await client.delete(f"/v1/routing-rules/{rule['id']}", headers=admin)).status_code == 204
    assert (await client.get(f"/v1/routing-rules/{rule['id']}", headers=admin)).status_code == 404
    assert len((await client.get("/v1/routing-rules", headers=admin)).json()["items"]) == 3
    gone = await session.execute(
        select(RoutingRuleAssignment).where(RoutingRuleAssignment.rule_id == rule["id"])
    )
    assert gone.scalars().all() == []


@pytest.mark.parametrize(
    ("assignments", "message"),
    [
        ([("urban_mgmt", "co")], "规则至少需要一个主办或分办单位"),
        ([("urban_mgmt", "lead"), ("environment", "lead")], "一条规则最多只能有一个主办单位"),
        ([("urban_mgmt", "lead"), ("urban_mgmt", "co")], "同一承办单位不能在一条规则中出现两次"),
    ],
)
async def test_rule_assignments_must_be_answerable(client, world, assignments, message):
    body = {
        "category_code": "urban",
        "assignments": [{"department_id": world.departments[c].id, "role": r} for c, r in assignments],
    }
    response = await client.post("/v1/routing-rules", json=body, headers=world.auth("admin"))
    assert response.status_code == 422
    assert _error(response)["details"] == [{"field": "assignments", "message": message}]


async def test_rule_references_must_exist_in_the_jurisdiction(client, world, other):
    admin = world.auth("admin")
    lead = [{"department_id": world.departments["urban_mgmt"].id, "role": "lead"}]
    cases = [
        ({"category_code": "nope", "assignments": lead}, "category_code"),
        ({"category_code": "urban", "grid_code": "XC-G1", "assignments": lead}, "grid_code"),
        (
            {
                "category_code": "urban",
                "assignments": [{"department_id": other.departments["urban_mgmt"].id, "role": "lead"}],
            },
            "assignments.0.department_id",
        ),
        (
            {"category_code": "urban", "assignments": [{"department_id": 2**63, "role": "lead"}]},
            "assignments.0.department_id",
        ),
        (
            {"category_code": "urban", "assignments": [{"department_id": 1, "role": "boss"}]},
            "assignments.0.role",
        ),
        ({"category_code": "urban", "assignments": []}, "assignments"),
        ({"category_code": "urban", "assignments": lead, "tier": "critical"}, "tier"),
        ({"category_code": "urban", "assignments": lead, "priority": "high"}, "priority"),
    ]
    for body, field in cases:
        response = await client.post("/v1/routing-rules", json=body, headers=admin)
        assert response.status_code == 422, body
        assert _error(response)["details"][0]["field"] == field, body
    patch_null = await client.patch("/v1/routing-rules/1", json={"assignments": None}, headers=admin)
    assert patch_null.status_code == 422
    assert (await client.patch(f"/v1/routing-rules/{2**64}", json={}, headers=admin)).status_code == 422


async def test_a_rule_made_through_the_api_routes_new_cases(session, client, world):
    body = {
        "category_code": "urban.sanitation",
        "grid_code": "GS-G2",
        "assignments": [{"department_id": world.departments["street_office"].id, "role": "separate"}],
        "tier": "month",
    }
    assert (await client.post("/v1/routing-rules", json=body, headers=world.auth("admin"))).status_code == 201
    case, assignments = await dispatched_case(session, client, world, category="urban.sanitation", grid="G2")
    assert [(code, a.role) for code, a in assignments.items()] == [("street_office", "separate")]
    assert case.tier == "month"
