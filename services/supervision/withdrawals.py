"""Deadlines of cases taken out of handling: a merged or rejected case's open deadlines are superseded (the
main case's deadlines carry the matter on), and an unmerged case gets back the ones its merge superseded."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.supervision.deadlines import ensure_dispatch_deadlines
from shared.db.models import Case, CaseEvent, Deadline

_OPEN = and_(Deadline.met_at.is_(None), Deadline.superseded_at.is_(None))


async def supersede_all(session: AsyncSession, case: Case, at: datetime) -> int:
    """Every open deadline of the case ends at ``at``, the moment it was merged or rejected."""
    result = await session.execute(
        update(Deadline)
        .where(Deadline.case_id == case.id, _OPEN)
        .values(superseded_at=at)
        .returning(Deadline.id)
        .execution_options(synchronize_session=False)
    )
    return len(result.all())


async def restore_after_unmerge(session: AsyncSession, case: Case) -> int:
    """The deadlines the latest merge superseded run again; any assignment missing its own gets them."""
    merged_at = await session.scalar(
        select(CaseEvent.at)
        .where(CaseEvent.case_id == case.id, CaseEvent.type == "merged")
        .order_by(CaseEvent.id.desc())
        .limit(1)
    )
    restored = 0
    if merged_at is not None:
        result = await session.execute(
            update(Deadline)
            .where(
                Deadline.case_id == case.id, Deadline.met_at.is_(None), Deadline.superseded_at == merged_at
            )
            .values(superseded_at=None)
            .returning(Deadline.id)
            .execution_options(synchronize_session=False)
        )
        restored = len(result.all())
    await ensure_dispatch_deadlines(session, case)
    return restored
