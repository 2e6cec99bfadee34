"""Why a case of a category in a grid goes where it goes: the rule that wins (ranked exactly as dispatch ranks
them, services.routing.rules), every other rule of the category and why it lost, and the fallback department
or the dispatcher when no rule wins. For admins checking their rules and dispatchers wondering about a case."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing.errors import ROLE_LABELS, CategoryNotFound, GridNotFound
from services.routing.repository import department_names, fallback_department_id, find_by_code
from services.routing.rules import ANSWERING_ROLES, Candidate, ranked_candidates, winner
from services.routing.schemas import (
    ConsideredRule,
    ExplainedDepartment,
    ExplainedRule,
    FallbackDepartment,
    RoutingExplanation,
    Verdict,
)
from shared.db.models import Category, Department, Grid, RoutingSettings


def _names(ids: Iterable[int], names: dict[int, str]) -> str:
    return "、".join(names.get(i, f"#{i}") for i in sorted(ids))


def _verdict(
    c: Candidate, won: Candidate | None, grid_id: int | None, names: dict[int, str]
) -> tuple[Verdict, str]:
    """Why a rule won or lost. Rules the grid or an inactive flag rules out come first; then, in rank order,
    every rule before the winner was unanswerable and every rule after it ranked lower."""
    if not c.rule.active:
        return "inactive_rule", "规则已停用"
    if not c.applies(grid_id):
        return "other_grid", "规则只适用于其他网格"
    if c is won:
        skipped = c.inactive_department_ids
        note = f"；已跳过停用的承办单位：{_names(skipped, names)}" if skipped else ""
        return "won", f"适用规则中排序最前且有可答复的承办单位，由它交办{note}"
    if not c.answerable:
        answering = {a.department_id for a in c.rule.assignments if a.role in ANSWERING_ROLES}
        if answering:
            return "inactive_departments", f"主办或分办单位均已停用（{_names(answering, names)}），无法答复"
        return "no_answering_unit", "规则没有主办或分办单位，无法答复"
    assert won is not None  # an applicable, answerable rule means there is a winner
    if c.specificity != won.specificity:
        return "less_specific", f"不如胜出规则（#{won.rule.id}）具体"
    if c.rule.priority != won.rule.priority:
        return "lower_priority", f"与胜出规则（#{won.rule.id}）同样具体，但优先级较低"
    return "newer", f"与胜出规则（#{won.rule.id}）同样具体、优先级相同，较早创建的规则优先"


async def _codes(session: AsyncSession, model: type[Category] | type[Grid], ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict((await session.execute(select(model.id, model.code).where(model.id.in_(ids)))).tuples().all())


async def _fallback(session: AsyncSession, jurisdiction_id: int) -> FallbackDepartment | None:
    department_id = await fallback_department_id(session, jurisdiction_id)
    if department_id is None:
        return None
    row = (await session.execute(select(Department).where(Department.id == department_id))).scalar_one()
    return FallbackDepartment(department_id=row.id, department_name=row.name, active=row.active)


async def explain(
    session: AsyncSession, jurisdiction_id: int, category_code: str, grid_code: str | None
) -> RoutingExplanation:
    """Where a case of this category (and grid, if given) would be dispatched, and why."""
    category = await find_by_code(session, Category, jurisdiction_id, category_code)
    if category is None:
        raise CategoryNotFound(f"未找到问题分类“{category_code}”")
    grid = await find_by_code(session, Grid, jurisdiction_id, grid_code) if grid_code is not None else None
    if grid_code is not None and grid is None:
        raise GridNotFound(f"未找到网格“{grid_code}”")
    grid_id = grid.id if grid else None
    candidates = await ranked_candidates(session, jurisdiction_id, category, grid_id, every_rule=True)
    won = winner(candidates, grid_id)
    names = await department_names(session, {a.department_id for c in candidates for a in c.rule.assignments})
    category_codes = await _codes(session, Category, {c.rule.category_id for c in candidates})
    grid_codes = await _codes(
        session, Grid, {c.rule.grid_id for c in candidates if c.rule.grid_id is not None}
    )

    def explained(c: Candidate) -> ExplainedRule:
        return ExplainedRule(
            id=c.rule.id,
            category_code=category_codes[c.rule.category_id],
            grid_code=grid_codes.get(c.rule.grid_id) if c.rule.grid_id is not None else None,
            tier=c.rule.tier,
            priority=c.rule.priority,
            active=c.rule.active,
            assignments=[
                ExplainedDepartment(
                    department_id=a.department_id,
                    department_name=names.get(a.department_id),
                    role=a.role,
                    active=a.department_id not in c.inactive_department_ids,
                )
                for a in c.rule.assignments
            ],
        )

    considered = []
    for c in candidates:
        verdict, reason = _verdict(c, won, grid_id, names)
        considered.append(ConsideredRule(rule=explained(c), verdict=verdict, reason=reason))
    fallback = await _fallback(session, jurisdiction_id)
    base: dict[str, Any] = {
        "category_code": category.code,
        "grid_code": grid.code if grid else None,
        "fallback_department": fallback,
        "considered": considered,
    }
    if won is not None:
        rule = explained(won)
        routed = [a for a in rule.assignments if a.active]
        who = "、".join(f"{a.department_name}（{ROLE_LABELS.get(a.role, a.role)}）" for a in routed)
        return RoutingExplanation(
            **base,
            outcome="rule",
            summary=f"按规则 #{won.rule.id} 交办：{who}",
            rule=rule,
            assignments=routed,
            tier=won.rule.tier or category.default_tier,
        )
    queue_unmatched = await session.scalar(
        select(RoutingSettings.queue_unmatched).where(RoutingSettings.jurisdiction_id == jurisdiction_id)
    )
    if queue_unmatched:
        summary = "没有可用的路由规则；本辖区设定未匹配的事项等待交办人员处理"
    elif fallback is None:
        summary = "没有可用的路由规则，也未设置兜底承办单位，事项等待交办人员处理"
    elif not fallback.active:
        summary = (
            f"没有可用的路由规则，兜底承办单位（{fallback.department_name}）已停用，事项等待交办人员处理"
        )
    else:
        return RoutingExplanation(
            **base,
            outcome="fallback",
            summary=f"没有可用的路由规则，交兜底承办单位：{fallback.department_name}（主办）",
            rule=None,
            assignments=[
                ExplainedDepartment(
                    department_id=fallback.department_id,
                    department_name=fallback.department_name,
                    role="lead",
                    active=True,
                )
            ],
            tier=category.default_tier,
        )
    return RoutingExplanation(
        **base, outcome="dispatcher", summary=summary, rule=None, assignments=[], tier=None
    )
