"""The points each action earns in a jurisdiction: a duty_point_rules row, or the default when there is none.

A rule changed later never touches what was written: an entry keeps the points of the rule in force when it
was written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.supervision.duty.labels import ACTION_LABELS
from services.supervision.duty.schemas import DutyRuleOut, DutyRulesOut
from services.supervision.errors import FieldInvalid
from shared.db.enums import DutyAction
from shared.db.models import DutyPointRule

DEFAULT_POINTS: dict[DutyAction, int] = {
    DutyAction.reception: 2,
    DutyAction.case_raised: 1,
    DutyAction.suggestion_submitted: 3,
    DutyAction.suggestion_cosigned: 1,
    DutyAction.rating_given: 1,
    DutyAction.follow_up: 2,
}
# Actions a rule prices; an adjustment carries the points the admin gives it.
RULED_ACTIONS = tuple(DEFAULT_POINTS)
MAX_RULE_POINTS = 100


async def points_for(session: AsyncSession, jurisdiction_id: int, actions: Iterable[str]) -> dict[str, int]:
    """The points each of these actions earns now in the jurisdiction."""
    wanted = [a for a in set(actions) if a in DEFAULT_POINTS]
    points: dict[str, int] = {a: DEFAULT_POINTS[DutyAction(a)] for a in wanted}
    if wanted:
        rows = await session.execute(
            select(DutyPointRule.action, DutyPointRule.points).where(
                DutyPointRule.jurisdiction_id == jurisdiction_id, DutyPointRule.action.in_(wanted)
            )
        )
        points.update({action: value for action, value in rows.tuples()})
    return points


async def rules_view(session: AsyncSession, jurisdiction_id: int) -> DutyRulesOut:
    rows = {
        r.action: r
        for r in await session.scalars(
            select(DutyPointRule)
            .where(DutyPointRule.jurisdiction_id == jurisdiction_id)
            .execution_options(populate_existing=True)
        )
    }
    items = []
    for action in RULED_ACTIONS:
        row = rows.get(action)
        items.append(
            DutyRuleOut(
                action=action,
                label=ACTION_LABELS[action],
                points=row.points if row else DEFAULT_POINTS[action],
                default_points=DEFAULT_POINTS[action],
                is_default=row is None,
                updated_at=row.updated_at if row else None,
            )
        )
    return DutyRulesOut(items=items)


def _checked(body: Mapping[str, object]) -> dict[str, int]:
    if not body:
        raise FieldInvalid("body", "请至少设置一项积分规则")
    checked: dict[str, int] = {}
    for action, value in body.items():
        if action not in DEFAULT_POINTS:
            if action == DutyAction.adjustment:
                raise FieldInvalid(action, "积分调整没有规则，请通过调整接口逐条记录")
            raise FieldInvalid(action, f"未知的履职事项“{action}”")
        if not isinstance(value, int) or isinstance(value, bool):
            raise FieldInvalid(action, "积分须为整数")
        if not 0 <= value <= MAX_RULE_POINTS:
            raise FieldInvalid(action, f"积分须在 0 到 {MAX_RULE_POINTS} 之间")
        checked[action] = value
    return checked


async def set_rules(session: AsyncSession, jurisdiction_id: int, body: Mapping[str, object]) -> DutyRulesOut:
    """Sets the points of the actions named (others keep theirs); entries already written keep their points."""
    checked = _checked(body)
    now = datetime.now(UTC)
    statement = pg_insert(DutyPointRule).values(
        [
            {"jurisdiction_id": jurisdiction_id, "action": action, "points": points, "updated_at": now}
            for action, points in checked.items()
        ]
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[DutyPointRule.jurisdiction_id, DutyPointRule.action],
            set_={"points": statement.excluded.points, "updated_at": statement.excluded.updated_at},
        )
    )
    return await rules_view(session, jurisdiction_id)
