"""Scheduled work of supervision, run by ``minyi worker``; any number of workers may run it at once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.supervision.deadlines import close_rating_window
from services.workflow import Actor, change_status
from shared.db.enums import CaseStatus, DeadlineKind
from shared.db.models import Case, Deadline, Feedback

UNRATED = "unrated"


async def close_unrated(session: AsyncSession, now: datetime, *, batch_size: int = 100) -> int:
    """Closes, as unrated, replied cases whose rating window for the current round passed without feedback.

    Cases are locked with SKIP LOCKED, so concurrent workers split the work; returns how many were closed.
    """
    rating_passed = and_(
        Deadline.case_id == Case.id,
        Deadline.kind == DeadlineKind.rating,
        Deadline.assignment_id.is_(None),
        Deadline.round == Case.rework_round,
        Deadline.met_at.is_(None),
        Deadline.superseded_at.is_(None),
        Deadline.due_at <= now,
    )
    rated = exists().where(Feedback.case_id == Case.id, Feedback.round == Case.rework_round)
    cases = (
        (
            await session.execute(
                select(Case)
                .join(Deadline, rating_passed)
                .where(Case.status == CaseStatus.replied, ~rated)
                .order_by(Deadline.due_at, Case.id)
                .limit(batch_size)
                .with_for_update(of=Case, skip_locked=True)
                .execution_options(populate_existing=True)
            )
        )
        .scalars()
        .all()
    )
    for case in cases:
        case.close_reason = UNRATED
        await change_status(
            session,
            case,
            CaseStatus.closed,
            "closed",
            Actor("system"),
            public=True,
            data={"reason": UNRATED},
            event_data={"reason": UNRATED},
        )
        await close_rating_window(session, case, now)
    await session.flush()
    return len(cases)
