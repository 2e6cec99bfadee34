"""A case's place on the escalation ladder (催办, 督办, 重点督办) as the staff and department views show it.

Supervision writes the level (services.supervision.levels); routing shows it to the departments on their
assignments so the clerk knows the case is being watched. Both read it here, from the case's own columns and
the time of the change that set it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db.models import SupervisionChange


class SupervisionView(BaseModel):
    level: str = Field(description="reminder 催办, formal 督办 or key 重点督办")
    lead_supervisor: str | None = Field(description="The congress leader who owns the case (领衔督办)")
    since: datetime | None = Field(description="When the case reached this level")


async def supervision_views(
    session: AsyncSession, cases: Iterable[tuple[int, str | None, str | None]]
) -> dict[int, SupervisionView]:
    """Per case id, the view of each watched case among ``(case_id, level, lead_supervisor)``; cases with no
    level are left out. One query for all, however many cases a page shows."""
    watched = {case_id: (level, lead) for case_id, level, lead in cases if level is not None}
    if not watched:
        return {}
    # The latest change that moved the level: later rows at the same level (a new note, a new leader)
    # do not restart the clock.
    rows = await session.execute(
        select(SupervisionChange.case_id, SupervisionChange.created_at)
        .where(
            SupervisionChange.case_id.in_(list(watched)),
            SupervisionChange.previous_level.is_distinct_from(SupervisionChange.level),
        )
        .order_by(SupervisionChange.case_id, SupervisionChange.id.desc())
        .distinct(SupervisionChange.case_id)
    )
    since = dict(rows.tuples().all())
    return {
        case_id: SupervisionView(level=level, lead_supervisor=lead, since=since.get(case_id))
        for case_id, (level, lead) in watched.items()
    }


async def supervision_of(
    session: AsyncSession, case_id: int, level: str | None, lead_supervisor: str | None
) -> SupervisionView | None:
    return (await supervision_views(session, [(case_id, level, lead_supervisor)])).get(case_id)
