"""退回补充: a dispatcher returns a case that is too vague to dispatch to its citizen with a question. The case
stays received and waits in the dispatch queue as `awaiting_citizen` until the citizen answers on the tracking
page (intake records `supplemented` and clears the wait; routing then routes the case again)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.routing.desk.errors import AlreadyReturned, NotReturnable
from services.routing.desk.manual import locked_case, staff_actor
from services.routing.desk.schemas import ReturnIn, ReturnOut
from services.workflow import record_event
from shared.db.enums import CaseStatus, QueueReason
from shared.security.apikeys import Principal


async def return_to_citizen(session: AsyncSession, key: Principal, case_id: int, data: ReturnIn) -> ReturnOut:
    """The message is shown on the citizen's tracking page beside a form for the answer. A dispatcher can
    still dispatch or reject the case while it waits (the citizen may never answer)."""
    case = await locked_case(session, key.jurisdiction_id, case_id)
    if case.status != CaseStatus.received:
        raise NotReturnable(case.status)
    if case.queue_reason == QueueReason.awaiting_citizen:
        raise AlreadyReturned()
    now = datetime.now(UTC)
    case.queue_reason = QueueReason.awaiting_citizen
    case.queued_at = now
    case.updated_at = now
    await record_event(
        session, case, "returned", staff_actor(key), public=True, data={"text": data.message}, at=now
    )
    return ReturnOut(
        case_id=case.id,
        tracking_no=case.tracking_no,
        status=case.status,
        queue_reason=case.queue_reason,
        message=data.message,
        returned_at=now,
    )
