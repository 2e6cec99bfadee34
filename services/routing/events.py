"""The events routing hears (over its /internal/events endpoint) and what it does with them. Each handler
checks the case's current state first, so a redelivered or out-of-order event changes nothing."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing.assignments import reopen_for_rework
from services.routing.desk.arrival import enqueue, handle_arrival
from services.routing.dispatch import Plans
from services.routing.duplicates.terms import index_case
from services.routing.repository import lock_case
from shared.db.enums import CaseStatus, QueueReason
from shared.db.ids import MAX_ID
from shared.db.models import Assignment
from shared.errors import Unprocessable
from shared.events.inbox import ReceivedEvent

# The worker subscribes the routing service to these event types.
SUBSCRIBED_EVENTS = ("case.received", "case.rework", "case.unmerged", "case.supplemented")
# Back to received and out of the queue: merged and now on its own again, or the citizen answered a return.
_ROUTE_AGAIN = frozenset({"case.unmerged", "case.supplemented"})


def _case_id(event: ReceivedEvent) -> int:
    value = event.data.get("case_id")
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        raise Unprocessable("事件缺少有效的 case_id")
    return value


async def handle(session: AsyncSession, event: ReceivedEvent) -> None:
    if event.type not in SUBSCRIBED_EVENTS:
        return
    case = await lock_case(session, _case_id(event))
    if case is None:
        return
    if event.type == "case.received":
        if case.status != CaseStatus.received or case.queue_reason is not None:
            return  # handled already: dispatched, or waiting in the queue for a person
        # A case that was dispatched before and came back (every department declined) waits for a person.
        dispatched_before = await session.scalar(
            select(Assignment.id).where(Assignment.case_id == case.id).limit(1)
        )
        if dispatched_before is None:
            # The events of one batch share a transaction, in which the routing rules cannot change.
            plans: Plans = session.info.setdefault("minyi.dispatch_plans", {})
            await handle_arrival(session, case, plans)
    elif event.type == "case.rework" and case.status == CaseStatus.rework:
        await reopen_for_rework(session, case)
    elif event.type in _ROUTE_AGAIN and case.status == CaseStatus.received and case.queue_reason is None:
        # Never dispatched: it is routed like a new case, classified from its (perhaps supplemented) text.
        dispatched_before = await session.scalar(
            select(Assignment.id).where(Assignment.case_id == case.id).limit(1)
        )
        if dispatched_before is None:
            await handle_arrival(session, case, session.info.setdefault("minyi.dispatch_plans", {}))
        else:
            # Units had it and declined it: a person redispatches it, finding it by its new words too.
            await index_case(session, case)
            await enqueue(session, case, QueueReason.declined)
