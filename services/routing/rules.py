"""Routing rules (category, grid → departments and roles): their administration and the choice of the rule that
applies to a case. The most specific rule wins; a jurisdiction's fallback department catches the rest."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from services.routing.errors import RuleNotFound
from services.routing.repository import find_by_code
from services.routing.schemas import (
    RuleAssignmentIn,
    RuleAssignmentOut,
    RuleIn,
    RuleOut,
    RulePatch,
)
from services.routing.taxonomy import departments_in_jurisdiction
from shared.db.enums import AssignmentRole
from shared.db.models import Category, Department, Grid, RoutingRule, RoutingRuleAssignment
from shared.errors import Unprocessable

ANSWERING_ROLES = frozenset({AssignmentRole.lead.value, AssignmentRole.separate.value})

# --- administration ----------------------------------------------------------------------------------------


async def _rule_outs(session: AsyncSession, rules: Sequence[RoutingRule]) -> list[RuleOut]:
    category_ids = {rule.category_id for rule in rules}
    grid_ids = {rule.grid_id for rule in rules if rule.grid_id is not None}
    category_codes = (
        dict(
            (await session.execute(select(Category.id, Category.code).where(Category.id.in_(category_ids))))
            .tuples()
            .all()
        )
        if category_ids
        else {}
    )
    grid_codes = (
        dict((await session.execute(select(Grid.id, Grid.code).where(Grid.id.in_(grid_ids)))).tuples().all())
        if grid_ids
        else {}
    )
    return [
        RuleOut(
            id=rule.id,
            category_code=category_codes[rule.category_id],
            grid_code=grid_codes.get(rule.grid_id) if rule.grid_id is not None else None,
            assignments=[
                RuleAssignmentOut(department_id=a.department_id, role=a.role) for a in rule.assignments
            ],
            tier=rule.tier,
            priority=rule.priority,
            active=rule.active,
            created_at=rule.created_at,
        )
        for rule in rules
    ]


async def _load_rule(session: AsyncSession, jurisdiction_id: int, rule_id: int) -> RoutingRule:
    rule = await session.scalar(
        select(RoutingRule)
        .where(RoutingRule.id == rule_id, RoutingRule.jurisdiction_id == jurisdiction_id)
        .options(selectinload(RoutingRule.assignments))
        .execution_options(populate_existing=True)
    )
    if rule is None:
        raise RuleNotFound()
    return rule


async def _category_id(session: AsyncSession, jurisdiction_id: int, code: str) -> int:
    category = await find_by_code(session, Category, jurisdiction_id, code)
    if category is None:
        raise Unprocessable.field("category_code", f"问题分类“{code}”不存在")
    return category.id


async def _grid_id(session: AsyncSession, jurisdiction_id: int, code: str | None) -> int | None:
    if code is None:
        return None
    grid = await find_by_code(session, Grid, jurisdiction_id, code)
    if grid is None:
        raise Unprocessable.field("grid_code", f"网格“{code}”不存在")
    return grid.id


async def _check_departments(
    session: AsyncSession, jurisdiction_id: int, items: Sequence[RuleAssignmentIn]
) -> None:
    found = await departments_in_jurisdiction(
        session, jurisdiction_id, [item.department_id for item in items]
    )
    for index, item in enumerate(items):
        if item.department_id not in found:
            raise Unprocessable.field(f"assignments.{index}.department_id", "承办单位不存在")


def _set_assignments(rule: RoutingRule, items: Sequence[RuleAssignmentIn]) -> None:
    """Keeps the rows of departments that stay (so no unique pair is inserted before its old row is gone)."""
    existing = {row.department_id: row for row in rule.assignments}
    rows = []
    for item in items:
        row = existing.pop(item.department_id, None) or RoutingRuleAssignment(
            department_id=item.department_id
        )
        row.role = item.role
        rows.append(row)
    rule.assignments = rows


async def create_rule(session: AsyncSession, jurisdiction_id: int, data: RuleIn) -> RuleOut:
    category_id = await _category_id(session, jurisdiction_id, data.category_code)
    grid_id = await _grid_id(session, jurisdiction_id, data.grid_code)
    await _check_departments(session, jurisdiction_id, data.assignments)
    rule = RoutingRule(
        jurisdiction_id=jurisdiction_id,
        category_id=category_id,
        grid_id=grid_id,
        tier=data.tier,
        priority=data.priority,
        active=data.active,
        assignments=[
            RoutingRuleAssignment(department_id=item.department_id, role=item.role)
            for item in data.assignments
        ],
    )
    session.add(rule)
    await session.flush()
    return (await _rule_outs(session, [await _load_rule(session, jurisdiction_id, rule.id)]))[0]


async def get_rule(session: AsyncSession, jurisdiction_id: int, rule_id: int) -> RuleOut:
    return (await _rule_outs(session, [await _load_rule(session, jurisdiction_id, rule_id)]))[0]


async def list_rules(
    session: AsyncSession, jurisdiction_id: int, *, limit: int, after_id: int | None
) -> list[RuleOut]:
    query = (
        select(RoutingRule)
        .where(RoutingRule.jurisdiction_id == jurisdiction_id)
        .options(selectinload(RoutingRule.assignments))
    )
    if after_id is not None:
        query = query.where(RoutingRule.id > after_id)
    rules = (await session.scalars(query.order_by(RoutingRule.id).limit(limit + 1))).all()
    return await _rule_outs(session, rules)


async def update_rule(session: AsyncSession, jurisdiction_id: int, rule_id: int, data: RulePatch) -> RuleOut:
    rule = await _load_rule(session, jurisdiction_id, rule_id)
    given = data.model_fields_set
    if data.category_code is not None:
        rule.category_id = await _category_id(session, jurisdiction_id, data.category_code)
    if "grid_code" in given:
        rule.grid_id = await _grid_id(session, jurisdiction_id, data.grid_code)
    if data.assignments is not None:
        await _check_departments(session, jurisdiction_id, data.assignments)
        _set_assignments(rule, data.assignments)
    if "tier" in given:
        rule.tier = data.tier
    if data.priority is not None:
        rule.priority = data.priority
    if data.active is not None:
        rule.active = data.active
    await session.flush()
    return (await _rule_outs(session, [await _load_rule(session, jurisdiction_id, rule.id)]))[0]


async def delete_rule(session: AsyncSession, jurisdiction_id: int, rule_id: int) -> None:
    rule = await _load_rule(session, jurisdiction_id, rule_id)
    await session.delete(rule)
    await session.flush()


# --- matching ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RoutedDepartment:
    department_id: int
    role: str


@dataclass(frozen=True)
class Route:
    """Where a case goes: the winning rule (None for the fallback department) and its usable assignments."""

    rule_id: int | None
    tier: str | None
    assignments: tuple[RoutedDepartment, ...]


@dataclass(frozen=True)
class Candidate:
    """A rule as the ranking sees it: how specific it is for the case, and which of its departments can take
    the case (inactive departments are skipped)."""

    rule: RoutingRule
    # 0: the case's own category; 1: its parent.
    category_rank: int
    usable: tuple[RoutedDepartment, ...]
    inactive_department_ids: frozenset[int]

    @property
    def specificity(self) -> tuple[int, int]:
        """Smaller is more specific: own category before parent, a named grid before every grid."""
        return (self.category_rank, 0 if self.rule.grid_id is not None else 1)

    @property
    def rank(self) -> tuple[int, int, int, int]:
        """The order in which rules are tried: specificity, then higher priority, then the older rule."""
        return (*self.specificity, -self.rule.priority, self.rule.id)

    @property
    def answerable(self) -> bool:
        """A rule left without an active lead or separate department could never be answered."""
        return any(a.role in ANSWERING_ROLES for a in self.usable)

    def applies(self, grid_id: int | None) -> bool:
        return self.rule.active and (self.rule.grid_id is None or self.rule.grid_id == grid_id)


async def ranked_candidates(
    session: AsyncSession,
    jurisdiction_id: int,
    category: Category,
    grid_id: int | None,
    *,
    every_rule: bool = False,
) -> list[Candidate]:
    """The rules of a category and of its parent, in the order matching tries them. Only those that can
    apply (active, for every grid or the case's grid) unless ``every_rule``, which adds inactive rules and
    other grids' rules so an explanation can say why they lost."""
    category_rank = {category.id: 0}
    if category.parent_id is not None:
        category_rank[category.parent_id] = 1
    where: list[ColumnElement[bool]] = [
        RoutingRule.jurisdiction_id == jurisdiction_id,
        RoutingRule.category_id.in_(category_rank),
    ]
    if not every_rule:
        grid_match: ColumnElement[bool] = RoutingRule.grid_id.is_(None)
        if grid_id is not None:
            grid_match = or_(grid_match, RoutingRule.grid_id == grid_id)
        where += [RoutingRule.active.is_(True), grid_match]
    rules = (
        await session.scalars(
            select(RoutingRule).where(*where).options(selectinload(RoutingRule.assignments))
        )
    ).all()
    department_ids = {a.department_id for rule in rules for a in rule.assignments}
    active = (
        set(
            (
                await session.scalars(
                    select(Department.id).where(Department.id.in_(department_ids), Department.active)
                )
            ).all()
        )
        if department_ids
        else set()
    )
    candidates = [
        Candidate(
            rule=rule,
            category_rank=category_rank[rule.category_id],
            usable=tuple(
                RoutedDepartment(a.department_id, a.role)
                for a in rule.assignments
                if a.department_id in active
            ),
            inactive_department_ids=frozenset(
                a.department_id for a in rule.assignments if a.department_id not in active
            ),
        )
        for rule in rules
    ]
    return sorted(candidates, key=lambda c: c.rank)


def winner(candidates: Sequence[Candidate], grid_id: int | None) -> Candidate | None:
    """The first rule in rank order that applies to the grid and can be answered."""
    return next((c for c in candidates if c.applies(grid_id) and c.answerable), None)


async def match_rule(
    session: AsyncSession, jurisdiction_id: int, category: Category, grid_id: int | None
) -> Route | None:
    """The most specific active rule for a category (or, failing that, its parent) in a grid.

    Specificity: own category and grid > own category, any grid > parent and grid > parent, any grid; then
    higher priority, then the older rule. Inactive departments are skipped; a rule left without an active
    lead or separate department could never be answered, so it does not count.
    """
    found = winner(await ranked_candidates(session, jurisdiction_id, category, grid_id), grid_id)
    if found is None:
        return None
    return Route(rule_id=found.rule.id, tier=found.rule.tier, assignments=found.usable)
