"""GET /v1/routing-rules/explain: the rule dispatch would use for a category and grid, and why every other rule of
the category lost; the fallback department or the dispatcher when no rule wins.

The world's rules (tests/factories.py): urban → urban_mgmt (lead); environment → environment (lead) +
urban_mgmt (co); environment in G2 → environment (lead) + street_office (separate), tier immediate."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from services.routing.rules import match_rule
from shared.db.models import Department, Jurisdiction, RoutingRule, RoutingRuleAssignment, RoutingSettings


async def _explain(client, world, category: str, grid: str | None = None, who: str = "dispatcher") -> dict:
    params = {"category_code": category} | ({"grid_code": grid} if grid else {})
    response = await client.get("/v1/routing-rules/explain", params=params, headers=world.auth(who))
    assert response.status_code == 200, response.text
    return response.json()


async def _rule(session, world, category: str, assignments: list[tuple[str, str]], **fields) -> RoutingRule:
    rule = RoutingRule(
        jurisdiction_id=world.jurisdiction.id, category_id=world.categories[category].id, **fields
    )
    session.add(rule)
    await session.flush()
    session.add_all(
        RoutingRuleAssignment(rule_id=rule.id, department_id=world.departments[code].id, role=role)
        for code, role in assignments
    )
    await session.commit()
    return rule


async def _world_rules(session, world) -> dict[str, int]:
    rows = await session.execute(
        select(RoutingRule.id, RoutingRule.category_id, RoutingRule.grid_id).order_by(RoutingRule.id)
    )
    urban, env, env_g2 = rows.all()
    return {"urban": urban.id, "environment": env.id, "environment_g2": env_g2.id}


def _verdicts(explanation: dict) -> dict[int, str]:
    return {item["rule"]["id"]: item["verdict"] for item in explanation["considered"]}


def _reasons(explanation: dict) -> dict[int, str]:
    return {item["rule"]["id"]: item["reason"] for item in explanation["considered"]}


async def test_the_grid_rule_wins_and_the_category_rule_is_less_specific(session, client, world):
    rules = await _world_rules(session, world)
    found = await _explain(client, world, "environment.noise", "GS-G2")
    assert found["outcome"] == "rule" and found["rule"]["id"] == rules["environment_g2"]
    assert found["tier"] == "immediate"
    assert [(a["department_name"], a["role"]) for a in found["assignments"]] == [
        ("区生态环境局", "lead"),
        ("双塔街道办事处", "separate"),
    ]
    assert (
        found["summary"]
        == f"按规则 #{rules['environment_g2']} 交办：区生态环境局（主办）、双塔街道办事处（分办）"
    )
    assert _verdicts(found) == {rules["environment_g2"]: "won", rules["environment"]: "less_specific"}
    assert [c["rule"]["category_code"] for c in found["considered"]] == ["environment", "environment"]
    assert all(c["reason"] for c in found["considered"])


async def test_another_grids_rule_is_set_aside(session, client, world):
    rules = await _world_rules(session, world)
    found = await _explain(client, world, "environment", "GS-G1", who="admin")
    assert found["rule"]["id"] == rules["environment"] and found["tier"] == "week"
    assert _verdicts(found) == {rules["environment"]: "won", rules["environment_g2"]: "other_grid"}
    no_grid = await _explain(client, world, "environment")
    assert no_grid["grid_code"] is None and no_grid["rule"]["id"] == rules["environment"]


async def test_priority_then_age_decide_between_equally_specific_rules(session, client, world):
    rules = await _world_rules(session, world)
    higher = await _rule(session, world, "urban", [("street_office", "lead")], priority=5)
    same = await _rule(session, world, "urban", [("environment", "lead")], priority=5)
    found = await _explain(client, world, "urban.sanitation", "GS-G1")
    assert found["rule"]["id"] == higher.id
    assert _verdicts(found) == {higher.id: "won", same.id: "newer", rules["urban"]: "lower_priority"}
    own = await _rule(session, world, "urban.sanitation", [("environment", "lead")], priority=-5)
    found = await _explain(client, world, "urban.sanitation", "GS-G1")
    assert found["rule"]["id"] == own.id
    assert _verdicts(found)[higher.id] == "less_specific"


async def test_inactive_rules_and_departments_lose_and_the_fallback_takes_over(session, client, world):
    rules = await _world_rules(session, world)
    await session.execute(update(RoutingRule).where(RoutingRule.id == rules["urban"]).values(active=False))
    await session.execute(
        update(Department).where(Department.id == world.departments["environment"].id).values(active=False)
    )
    await session.commit()
    found = await _explain(client, world, "environment", "GS-G1")
    # The co-handler is still active, but nobody is left to answer.
    assert _verdicts(found) == {
        rules["environment"]: "inactive_departments",
        rules["environment_g2"]: "other_grid",
    }
    assert "区生态环境局" in _reasons(found)[rules["environment"]]
    assert found["outcome"] == "fallback" and found["rule"] is None
    assert found["fallback_department"]["department_name"] == "双塔街道办事处"
    assert [(a["department_name"], a["role"]) for a in found["assignments"]] == [("双塔街道办事处", "lead")]
    urban = await _explain(client, world, "urban")
    assert _verdicts(urban) == {rules["urban"]: "inactive_rule"} and urban["outcome"] == "fallback"

    # In G2 the separate unit can still answer: the rule wins, with the inactive lead skipped.
    g2 = await _explain(client, world, "environment", "GS-G2")
    assert g2["rule"]["id"] == rules["environment_g2"]
    assert [(a["department_name"], a["active"]) for a in g2["rule"]["assignments"]] == [
        ("区生态环境局", False),
        ("双塔街道办事处", True),
    ]
    assert [a["department_name"] for a in g2["assignments"]] == ["双塔街道办事处"]
    assert "区生态环境局" in _reasons(g2)[rules["environment_g2"]]  # skipped, and said so


@pytest.mark.parametrize("why", ["no_fallback", "fallback_inactive", "queue_unmatched"])
async def test_without_a_rule_the_case_may_wait_for_a_dispatcher(session, client, world, why):
    jid = world.jurisdiction.id
    await session.execute(update(RoutingRule).values(active=False))
    if why == "no_fallback":
        await session.execute(
            update(Jurisdiction).where(Jurisdiction.id == jid).values(fallback_department_id=None)
        )
    elif why == "fallback_inactive":
        await session.execute(
            update(Department)
            .where(Department.id == world.departments["street_office"].id)
            .values(active=False)
        )
    else:
        session.add(RoutingSettings(jurisdiction_id=jid, queue_unmatched=True))
    await session.commit()
    found = await _explain(client, world, "urban")
    assert found["outcome"] == "dispatcher" and found["assignments"] == [] and found["tier"] is None
    assert "交办人员" in found["summary"]


async def test_explain_agrees_with_dispatch(session, client, world):
    # Explain and dispatch share one ranking: whatever the rules, they name the same rule.
    await _rule(
        session, world, "environment.noise", [("street_office", "lead")], grid_id=world.grids["G1"].id
    )
    await _rule(session, world, "environment", [("urban_mgmt", "lead")], priority=3)
    await session.execute(
        update(Department).where(Department.id == world.departments["urban_mgmt"].id).values(active=False)
    )
    await session.commit()
    for category in ("urban", "urban.sanitation", "environment", "environment.noise"):
        for grid in (None, "G1", "G2"):
            grid_id = world.grids[grid].id if grid else None
            route = await match_rule(session, world.jurisdiction.id, world.categories[category], grid_id)
            found = await _explain(client, world, category, world.grids[grid].code if grid else None)
            expected = route.rule_id if route else None
            assert (found["rule"]["id"] if found["rule"] else None) == expected, (category, grid)


async def test_unknown_codes_and_wrong_roles(session, client, world):
    unknown = await client.get(
        "/v1/routing-rules/explain", params={"category_code": "nothing"}, headers=world.auth("admin")
    )
    assert unknown.status_code == 404
    assert unknown.json()["error"] == {
        "code": "category_not_found",
        "message": "未找到问题分类“nothing”",
        "details": [],
    }
    grid = await client.get(
        "/v1/routing-rules/explain",
        params={"category_code": "urban", "grid_code": "G9"},
        headers=world.auth("admin"),
    )
    assert grid.status_code == 404 and grid.json()["error"]["message"] == "未找到网格“G9”"
    missing = await client.get("/v1/routing-rules/explain", headers=world.auth("admin"))
    assert missing.status_code == 422 and missing.json()["error"]["details"][0]["field"] == "category_code"
    malformed = await client.get(
        "/v1/routing-rules/explain", params={"category_code": "城管"}, headers=world.auth("admin")
    )
    assert malformed.status_code == 422
    for role in ("supervisor", "dept:urban_mgmt", "deputy"):
        response = await client.get(
            "/v1/routing-rules/explain", params={"category_code": "urban"}, headers=world.auth(role)
        )
        assert response.status_code == 403, role
    # The explain path does not shadow, nor is it shadowed by, one rule's path.
    rules = await _world_rules(session, world)
    one = await client.get(f"/v1/routing-rules/{rules['urban']}", headers=world.auth("admin"))
    assert one.status_code == 200 and one.json()["category_code"] == "urban"


async def test_another_jurisdictions_rules_are_not_considered(session, client, world):
    from tests.factories import build_world

    other = await build_world(session, code="XC", name="相城区")
    await session.commit()
    found = await _explain(client, world, "urban")
    other_rules = set(
        (
            await session.scalars(
                select(RoutingRule.id).where(RoutingRule.jurisdiction_id == other.jurisdiction.id)
            )
        ).all()
    )
    assert not other_rules & set(_verdicts(found))
