"""Automatic dispatch (交办): a received case goes to the departments its routing rule names, or to the
jurisdiction's fallback department; with neither, it waits for a dispatcher (services.routing.desk)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing.repository import department_names, fallback_department_id
from services.routing.rules import Route, RoutedDepartment, match_rule
from services.workflow import SYSTEM, change_status
from shared.db.enums import AssignmentRole, AssignmentStatus, CaseKind, CaseStatus, Urgency
from shared.db.models import Assignment, Case, Category, Department

DEFAULT_TIER = "week"


async def _category(session: AsyncSession, case: Case) -> Category | None:
    if case.category_id is None:
        return None
    category: Category | None = await session.scalar(
        select(Category).where(
            Category.id == case.category_id, Category.jurisdiction_id == case.jurisdiction_id
        )
    )
    return category


async def _category_tier(session: AsyncSession, category: Category | None) -> str:
    if category is None:
        return DEFAULT_TIER
    if category.default_tier:
        return category.default_tier
    if category.parent_id is not None:
        parent_tier = await session.scalar(
            select(Category.default_tier).where(Category.id == category.parent_id)
        )
        if parent_tier:
            return parent_tier
    return DEFAULT_TIER


async def _fallback_route(session: AsyncSession, jurisdiction_id: int) -> Route | None:
    department_id = await fallback_department_id(session, jurisdiction_id)
    if department_id is None:
        return None
    active = await session.scalar(select(Department.active).where(Department.id == department_id))
    if not active:
        return None
    return Route(
        rule_id=None, tier=None, assignments=(RoutedDepartment(department_id, AssignmentRole.lead.value),)
    )


def handling_tier(case: Case, route_tier: str | None, category_tier: str) -> str:
    """The rule's tier, else the category's; a critical case is due in hours, which also meets the statutory
    term of a deputy suggestion, so urgency wins over kind."""
    if case.urgency == Urgency.critical:
        return "critical"
    if case.kind == CaseKind.deputy_suggestion:
        return "deputy_suggestion"
    return route_tier or category_tier


@dataclass(frozen=True)
class _Plan:
    route: Route
    category_tier: str
    department_names: dict[int, str]


# Where cases of one jurisdiction, category and grid go (with or without the fallback department), remembered
# by the caller for as long as it knows the rules cannot change (a batch of case.received events, applied in
# one transaction).
Plans = dict[tuple[int, int | None, int | None, bool], _Plan | None]


async def _plan(session: AsyncSession, case: Case, plans: Plans, use_fallback: bool) -> _Plan | None:
    key = (case.jurisdiction_id, case.category_id, case.grid_id, use_fallback)
    if key not in plans:
        category = await _category(session, case)
        route = await match_rule(session, case.jurisdiction_id, category, case.grid_id) if category else None
        if route is None and use_fallback:
            route = await _fallback_route(session, case.jurisdiction_id)
        plans[key] = (
            None
            if route is None
            else _Plan(
                route=route,
                category_tier=await _category_tier(session, category),
                department_names=await department_names(
                    session, [a.department_id for a in route.assignments]
                ),
            )
        )
    return plans[key]


async def category_tier(session: AsyncSession, case: Case) -> str:
    """The default tier of the case's category (or its parent's)."""
    return await _category_tier(session, await _category(session, case))


def new_assignments(case: Case, routed: Sequence[RoutedDepartment], at: datetime) -> list[Assignment]:
    return [
        Assignment(
            jurisdiction_id=case.jurisdiction_id,
            case_id=case.id,
            department_id=r.department_id,
            role=r.role,
            status=AssignmentStatus.pending,
            dispatched_at=at,
            updated_at=at,
        )
        for r in routed
    ]


async def dispatch_case(
    session: AsyncSession, case: Case, *, plans: Plans | None = None, use_fallback: bool = True
) -> list[Assignment]:
    """Dispatches a received case (the caller holds its row lock). Returns the new assignments; none when no
    rule (and, with ``use_fallback``, no fallback department) applies, in which case nothing is written and
    the case stays received. ``plans`` lets a caller dispatching many cases at once work out each route
    once."""
    plan = await _plan(session, case, {} if plans is None else plans, use_fallback)
    if plan is None:
        return []
    tier = handling_tier(case, plan.route.tier, plan.category_tier)
    assignments = new_assignments(case, plan.route.assignments, datetime.now(UTC))
    session.add_all(assignments)
    await session.flush()
    case.tier = tier
    names = plan.department_names
    await change_status(
        session,
        case,
        CaseStatus.dispatched,
        "dispatched",
        SYSTEM,
        public=True,
        data={"department_names": [names[a.department_id] for a in assignments], "tier": tier},
        event_data={
            "assignment_ids": [a.id for a in assignments],
            "tier": tier,
            "rule_id": plan.route.rule_id,
        },
    )
    return assignments
