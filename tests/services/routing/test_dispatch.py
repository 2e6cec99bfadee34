"""Automatic dispatch against the real schema: which rule wins, the fallback, tiers, and what gets written."""

from __future__ import annotations

from sqlalchemy import select, update

from services.routing.dispatch import dispatch_case
from shared.db.models import (
    Assignment,
    CaseEvent,
    Category,
    Department,
    Jurisdiction,
    OutboxEvent,
    RoutingRule,
)
from shared.db.models import RoutingRuleAssignment as RuleRow
from tests.factories import World, build_world
from tests.services.routing.cases import new_case


async def _routed(session, world: World, **fields) -> tuple[object, list[tuple[str, str]]]:
    case = await new_case(session, world, **fields)
    await dispatch_case(session, case)
    rows = (
        await session.execute(select(Assignment).where(Assignment.case_id == case.id).order_by(Assignment.id))
    ).scalars()
    codes = {d.id: code for code, d in world.departments.items()}
    return case, [(codes[a.department_id], a.role) for a in rows]


async def _add_rule(
    session, world: World, category: str, grid: str | None, departments, **fields
) -> RoutingRule:
    rule = RoutingRule(
        jurisdiction_id=world.jurisdiction.id,
        category_id=world.categories[category].id,
        grid_id=world.grids[grid].id if grid else None,
        **fields,
    )
    session.add(rule)
    await session.flush()
    session.add_all(
        RuleRow(rule_id=rule.id, department_id=world.departments[code].id, role=role)
        for code, role in departments
    )
    await session.flush()
    return rule


async def test_category_rule_dispatches_to_its_lead_and_writes_the_event(session):
    world = await build_world(session)
    case, routed = await _routed(session, world, category="urban", grid="G1")
    assert routed == [("urban_mgmt", "lead")]
    assert case.status == "dispatched" and case.tier == "week" and case.dispatched_at is not None
    assignment = (await session.execute(select(Assignment).where(Assignment.case_id == case.id))).scalar_one()
    assert assignment.status == "pending"
    outbox = (
        await session.execute(select(OutboxEvent).where(OutboxEvent.type == "case.dispatched"))
    ).scalar_one()
    assert outbox.payload["department_ids"] == [world.departments["urban_mgmt"].id]
    assert outbox.payload["assignment_ids"] == [assignment.id]
    assert outbox.payload["tier"] == "week"
    event = (
        await session.execute(
            select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.type == "dispatched")
        )
    ).scalar_one()
    assert event.public and event.data["department_names"] == ["区城管局"]


async def test_grid_rule_beats_the_category_rule(session):
    world = await build_world(session)
    case, routed = await _routed(session, world, category="environment", grid="G2")
    assert routed == [("environment", "lead"), ("street_office", "separate")]
    assert case.tier == "immediate"
    _, routed_g1 = await _routed(session, world, category="environment", grid="G1")
    assert routed_g1 == [("environment", "lead"), ("urban_mgmt", "co")]


async def test_subcategory_falls_back_to_its_parents_rules(session):
    world = await build_world(session)
    _, in_g1 = await _routed(session, world, category="environment.noise", grid="G1")
    assert in_g1 == [("environment", "lead"), ("urban_mgmt", "co")]
    _, in_g2 = await _routed(session, world, category="environment.noise", grid="G2")
    assert in_g2 == [("environment", "lead"), ("street_office", "separate")]
    _, no_grid = await _routed(session, world, category="environment.noise", grid=None)
    assert no_grid == [("environment", "lead"), ("urban_mgmt", "co")]


async def test_own_category_beats_parent_even_with_a_grid(session):
    world = await build_world(session)
    await _add_rule(session, world, "urban", "G1", [("environment", "lead")], tier="month")
    await _add_rule(session, world, "urban.sanitation", None, [("street_office", "lead")])
    case, routed = await _routed(session, world, category="urban.sanitation", grid="G1")
    assert routed == [("street_office", "lead")]
    # The subcategory's rule has no tier: the category's default applies.
    assert case.tier == "week"
    await _add_rule(session, world, "urban.sanitation", "G1", [("urban_mgmt", "separate")])
    _, routed = await _routed(session, world, category="urban.sanitation", grid="G1")
    assert routed == [("urban_mgmt", "separate")]
    _, parent_grid = await _routed(session, world, category="urban", grid="G1")
    assert parent_grid == [("environment", "lead")]


async def test_priority_then_age_break_ties(session):
    world = await build_world(session)
    await _add_rule(session, world, "urban", None, [("street_office", "lead")], priority=5)
    _, routed = await _routed(session, world, category="urban", grid="G1")
    assert routed == [("street_office", "lead")]
    await _add_rule(session, world, "urban", None, [("environment", "lead")], priority=5)
    _, routed = await _routed(session, world, category="urban", grid="G1")
    assert routed == [("street_office", "lead")]  # same priority: the older rule


async def test_inactive_rules_and_departments_are_skipped(session):
    world = await build_world(session)
    await _add_rule(session, world, "urban", "G1", [("environment", "lead")], active=False)
    _, routed = await _routed(session, world, category="urban", grid="G1")
    assert routed == [("urban_mgmt", "lead")]
    await session.execute(
        update(Department).where(Department.id == world.departments["environment"].id).values(active=False)
    )
    # G2 rule keeps its active separate department; the inactive lead is dropped.
    _, g2 = await _routed(session, world, category="environment", grid="G2")
    assert g2 == [("street_office", "separate")]
    # G1's rule is left with a co-handler only, which could never answer: the fallback takes the case.
    _, g1 = await _routed(session, world, category="environment", grid="G1")
    assert g1 == [("street_office", "lead")]


async def test_no_category_or_no_rule_goes_to_the_fallback_department(session):
    world = await build_world(session)
    case, routed = await _routed(session, world, category=None, grid="G1")
    assert routed == [("street_office", "lead")]
    assert case.status == "dispatched" and case.tier == "week"
    transport = Category(
        jurisdiction_id=world.jurisdiction.id, code="transport", name="交通出行", default_tier="month"
    )
    session.add(transport)
    await session.flush()
    world.categories["transport"] = transport
    case, routed = await _routed(session, world, category="transport", grid=None)
    assert routed == [("street_office", "lead")]
    assert case.tier == "month"


async def test_nothing_to_route_to_leaves_the_case_received(session):
    world = await build_world(session)
    await session.execute(
        update(Jurisdiction)
        .where(Jurisdiction.id == world.jurisdiction.id)
        .values(fallback_department_id=None)
    )
    case, routed = await _routed(session, world, category=None, grid=None)
    assert routed == []
    assert case.status == "received" and case.tier is None
    types = (await session.execute(select(OutboxEvent.type))).scalars().all()
    assert types == ["case.received"]
    events = (
        (await session.execute(select(CaseEvent.type).where(CaseEvent.case_id == case.id))).scalars().all()
    )
    assert events == ["received"]


async def test_inactive_fallback_department_is_not_used(session):
    world = await build_world(session)
    await session.execute(
        update(Department).where(Department.id == world.departments["street_office"].id).values(active=False)
    )
    case, routed = await _routed(session, world, category=None, grid=None)
    assert routed == [] and case.status == "received"


async def test_critical_urgency_and_deputy_suggestions_get_their_own_tiers(session):
    world = await build_world(session)
    critical, _ = await _routed(session, world, category="environment", grid="G2", urgency="critical")
    assert critical.tier == "critical"
    suggestion, _ = await _routed(session, world, category="urban", grid="G1", kind="deputy_suggestion")
    assert suggestion.tier == "deputy_suggestion"
    urgent, _ = await _routed(session, world, category="urban", grid="G1", urgency="urgent")
    assert urgent.tier == "week"


async def test_rule_of_another_jurisdiction_is_never_used(session):
    world = await build_world(session)
    other = await build_world(session, code="XC", name="相城区")
    # A rule of the other tenant for this tenant's category must not apply (ids are global).
    rule = RoutingRule(
        jurisdiction_id=other.jurisdiction.id, category_id=world.categories["urban"].id, priority=99
    )
    session.add(rule)
    await session.flush()
    session.add(RuleRow(rule_id=rule.id, department_id=other.departments["environment"].id, role="lead"))
    await session.flush()
    _, routed = await _routed(session, world, category="urban", grid="G1")
    assert routed == [("urban_mgmt", "lead")]
