"""The citizen's answer to a dispatcher who returned the case for more detail (退回补充): the text is added to
the case's description, the case stops waiting for the citizen, and routing hears `case.supplemented`."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.errors import NotAwaitingSupplement
from services.intake.labels import STATUS_LABELS
from services.intake.schemas import SupplementIn, SupplementOut
from services.workflow import record_event
from services.workflow.actors import CITIZEN
from shared.db.enums import CaseStatus, QueueReason
from shared.db.models import Case

SUPPLEMENT_MARK = "【补充说明】"


def awaits_supplement(case: Case) -> bool:
    return case.status == CaseStatus.received and case.queue_reason == QueueReason.awaiting_citizen


async def supplement(session: AsyncSession, case: Case, data: SupplementIn) -> SupplementOut:
    """Load the case with ``for_update`` so that a dispatcher's action at the same moment (a dispatch, a
    second return) is taken before or after this one, never interleaved with it."""
    if not awaits_supplement(case):
        raise NotAwaitingSupplement()
    now = datetime.now(UTC)
    case.description = f"{case.description}\n{SUPPLEMENT_MARK}{data.text}"
    case.queue_reason = None
    case.queued_at = None
    case.updated_at = now
    await record_event(session, case, "supplemented", CITIZEN, public=True, data={"text": data.text}, at=now)
    return SupplementOut(
        tracking_no=case.tracking_no,
        status=case.status,
        status_label=STATUS_LABELS.get(case.status, case.status),
    )
