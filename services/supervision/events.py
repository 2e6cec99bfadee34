"""What supervision does with the events it subscribes to: it keeps the deadlines in step with the case, and
writes the deputies' duty points and desk notices.

Handlers read the case and its assignments as they are now, so a redelivered, late or early event leaves the
deadlines as they should be; the inbox (shared.events.inbox) already drops exact redeliveries, and the duty
writers' ON CONFLICT DO NOTHING makes them count once even without it. Events without a case
(reception.recorded) have handlers of their own that read the rows the event names.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.supervision import deadlines, follow_ups, withdrawals
from services.supervision.duty import notices, writers
from shared.db.enums import CaseStatus
from shared.db.models import Case
from shared.errors import Unprocessable
from shared.events.inbox import ReceivedEvent

log = structlog.get_logger("minyi.supervision")

SUBSCRIBED_EVENTS = (
    "case.received",
    "case.dispatched",
    "case.accepted",
    "case.declined",
    "case.replied",
    "case.feedback",
    "case.rework",
    "case.closed",
    "case.merged",
    "case.unmerged",
    "case.rejected",
    "case.follow_up_recorded",
    "suggestion.submitted",
    "reception.recorded",
)

# Keeps the case's deadlines in step; runs under the case's row lock.
Handler = Callable[[AsyncSession, Case, datetime], Awaitable[None]]
# Reads the case and the ids the event carries (duty points, notices); needs no lock.
CaseListener = Callable[[AsyncSession, Case, Mapping[str, Any], datetime], Awaitable[None]]
# An event without a case: reads the rows its payload names.
EventHandler = Callable[[AsyncSession, Mapping[str, Any], datetime], Awaitable[None]]


async def _dispatched(session: AsyncSession, case: Case, at: datetime) -> None:
    assignments = await deadlines.case_assignments(session, case)
    await deadlines.ensure_dispatch_deadlines(session, case, assignments)
    # An acceptance or a decline handled before this event (or missed) still counts.
    if any(a.accepted_at is not None for a in assignments):
        await deadlines.settle_accepted(session, case)
    if any(a.status in deadlines.GONE for a in assignments):
        await deadlines.supersede_declined(session, case, at)


async def _accepted(session: AsyncSession, case: Case, at: datetime) -> None:
    await deadlines.settle_accepted(session, case)


async def _declined(session: AsyncSession, case: Case, at: datetime) -> None:
    await deadlines.supersede_declined(session, case, at)


async def _replied(session: AsyncSession, case: Case, at: datetime) -> None:
    await deadlines.settle_replies(session, case)
    await deadlines.open_rating_window(session, case)


async def _rework(session: AsyncSession, case: Case, at: datetime) -> None:
    await deadlines.start_rework(session, case, at)
    await follow_ups.cancel_superseded(session, case)


async def _closed(session: AsyncSession, case: Case, at: datetime) -> None:
    await deadlines.close_rating_window(session, case, at)
    await follow_ups.create_on_close(session, case)


async def _withdrawn(session: AsyncSession, case: Case, at: datetime) -> None:
    # Merged or rejected; an unmerge that already ran leaves the case handled again, so check the state.
    if case.status in (CaseStatus.merged, CaseStatus.rejected):
        await withdrawals.supersede_all(session, case, at)


async def _unmerged(session: AsyncSession, case: Case, at: datetime) -> None:
    if case.status != CaseStatus.merged:
        await withdrawals.restore_after_unmerge(session, case)


HANDLERS: dict[str, Handler] = {
    "case.dispatched": _dispatched,
    "case.accepted": _accepted,
    "case.declined": _declined,
    "case.replied": _replied,
    "case.rework": _rework,
    "case.closed": _closed,
    "case.merged": _withdrawn,
    "case.rejected": _withdrawn,
    "case.unmerged": _unmerged,
}


CASE_LISTENERS: dict[str, tuple[CaseListener, ...]] = {
    "case.received": (writers.on_case_received,),
    "case.replied": (notices.on_replied,),
    "case.feedback": (writers.on_feedback,),
    "case.follow_up_recorded": (writers.on_follow_up_recorded,),
    "suggestion.submitted": (writers.on_suggestion_submitted,),
}

EVENT_HANDLERS: dict[str, EventHandler] = {
    "reception.recorded": writers.on_reception_recorded,
}


async def handle(session: AsyncSession, event: ReceivedEvent) -> None:
    """Applies one received event; the caller has claimed its message id in the same transaction."""
    at = event.timestamp if event.timestamp.tzinfo is not None else event.timestamp.replace(tzinfo=UTC)
    event_handler = EVENT_HANDLERS.get(event.type)
    if event_handler is not None:
        await event_handler(session, event.data, at)
        await session.flush()
        return
    handler = HANDLERS.get(event.type)
    listeners = CASE_LISTENERS.get(event.type, ())
    if handler is None and not listeners:
        log.info("event_ignored", type=event.type, message_id=event.message_id)
        return
    case_id = event.data.get("case_id")
    if not isinstance(case_id, int) or isinstance(case_id, bool):
        raise Unprocessable("事件缺少有效的 case_id")
    query = select(Case).where(Case.id == case_id)
    if handler is not None:
        # Locked like routing locks it before touching its assignments: deadline writes stamp the case's
        # assignments (the department sync feed), so both services take the case row first and never deadlock.
        query = query.with_for_update()
    case = (await session.execute(query)).scalar_one_or_none()
    if case is None:
        # Events commit with their case, so this is another database's event: nothing to do here.
        log.warning("event_for_unknown_case", type=event.type, case_id=case_id, message_id=event.message_id)
        return
    if handler is not None:
        await handler(session, case, at)
        await deadlines.settle_co_opinions(session, case)
    for listener in listeners:
        await listener(session, case, event.data, at)
    await session.flush()
