"""Duty points written from the events supervision hears: what each event earns and for whom.

Each writer reads the rows the event names (the case, its co-signers, the feedback, the follow-up, the
reception) as they are now and hands the awards to the ledger, whose ON CONFLICT makes a second delivery of
the same event, or a second event about the same thing, count once.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.supervision.duty.ledger import Award, award
from shared.db.enums import CaseKind, DutyAction, FeedbackSource
from shared.db.models import (
    Case,
    CaseCosigner,
    Feedback,
    FollowUp,
    Reception,
    Station,
    reception_deputies,
)

log = structlog.get_logger("minyi.supervision.duty")


def _id(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _ids(value: object) -> set[int]:
    if not isinstance(value, list):
        return set()
    return {i for i in (_id(v) for v in value) if i is not None}


async def cosigners(session: AsyncSession, case: Case) -> set[int]:
    """The deputies who co-signed a suggestion (联名), its author excluded."""
    rows = await session.scalars(select(CaseCosigner.deputy_id).where(CaseCosigner.case_id == case.id))
    return set(rows) - {case.deputy_id}


async def _award_one(
    session: AsyncSession,
    case: Case,
    deputy_id: int,
    action: DutyAction,
    source: str,
    reason: str,
    at: datetime,
) -> None:
    """One award about one case (its tracking number ends the reason)."""
    award_ = Award(
        deputy_id=deputy_id,
        action=action,
        source=source,
        reason=f"{reason} {case.tracking_no}",
        case_id=case.id,
    )
    await award(session, case.jurisdiction_id, [award_], at)


async def on_case_received(session: AsyncSession, case: Case, data: Mapping[str, Any], at: datetime) -> None:
    """A citizen's case that came in through a deputy's code (cases.deputy_id set): case_raised."""
    if case.kind != CaseKind.citizen or case.deputy_id is None:
        return
    await _award_one(
        session, case, case.deputy_id, DutyAction.case_raised, f"case:{case.id}", "群众通过代表码反映问题", at
    )


async def on_suggestion_submitted(
    session: AsyncSession, case: Case, data: Mapping[str, Any], at: datetime
) -> None:
    """The author earns suggestion_submitted, each co-signer suggestion_cosigned (the case_cosigners rows, and
    any further ids the event names)."""
    if case.kind != CaseKind.deputy_suggestion:
        return
    author = case.deputy_id or _id(data.get("deputy_id"))
    others = ((await cosigners(session, case)) | _ids(data.get("cosigner_ids"))) - {author}
    source = f"case:{case.id}"
    awards = [
        Award(
            deputy_id=deputy_id,
            action=DutyAction.suggestion_cosigned,
            source=source,
            reason=f"联名提出代表建议 {case.tracking_no}",
            case_id=case.id,
        )
        for deputy_id in sorted(others)
    ]
    if author is not None:
        awards.insert(
            0,
            Award(
                deputy_id=author,
                action=DutyAction.suggestion_submitted,
                source=source,
                reason=f"提出代表建议 {case.tracking_no}",
                case_id=case.id,
            ),
        )
    await award(session, case.jurisdiction_id, awards, at)


async def on_feedback(session: AsyncSession, case: Case, data: Mapping[str, Any], at: datetime) -> None:
    """A deputy's rating of a reply to a suggestion: rating_given for the suggestion's author."""
    feedback_id = _id(data.get("feedback_id"))
    if data.get("source") != FeedbackSource.deputy or feedback_id is None:
        return
    if case.kind != CaseKind.deputy_suggestion or case.deputy_id is None:
        return
    source = await session.scalar(
        select(Feedback.source).where(Feedback.id == feedback_id, Feedback.case_id == case.id)
    )
    if source != FeedbackSource.deputy:
        log.warning("duty_feedback_not_found", case_id=case.id, feedback_id=feedback_id)
        return
    await _award_one(
        session,
        case,
        case.deputy_id,
        DutyAction.rating_given,
        f"feedback:{feedback_id}",
        "评价代表建议的答复",
        at,
    )


async def on_follow_up_recorded(
    session: AsyncSession, case: Case, data: Mapping[str, Any], at: datetime
) -> None:
    """A follow-up visit (回头看) a deputy recorded (follow_ups.deputy_id set): follow_up."""
    follow_up_id = _id(data.get("follow_up_id"))
    if follow_up_id is None:
        return
    deputy_id = await session.scalar(
        select(FollowUp.deputy_id).where(FollowUp.id == follow_up_id, FollowUp.case_id == case.id)
    )
    if deputy_id is None:
        return
    await _award_one(
        session, case, deputy_id, DutyAction.follow_up, f"follow_up:{follow_up_id}", "回头看走访", at
    )


async def on_reception_recorded(session: AsyncSession, data: Mapping[str, Any], at: datetime) -> None:
    """A reception at a station (an event without a case): reception for every deputy present, as the
    reception's rows list them."""
    reception_id = _id(data.get("reception_id"))
    if reception_id is None:
        log.warning("duty_reception_without_id")
        return
    row = (
        await session.execute(
            select(Reception.jurisdiction_id, Reception.held_on, Station.name)
            .join(Station, Station.id == Reception.station_id)
            .where(Reception.id == reception_id)
        )
    ).one_or_none()
    if row is None:
        # Events commit with their rows, so this is another database's event: nothing to do here.
        log.warning("duty_reception_not_found", reception_id=reception_id)
        return
    present = await session.scalars(
        select(reception_deputies.c.deputy_id)
        .where(reception_deputies.c.reception_id == reception_id)
        .order_by(reception_deputies.c.deputy_id)
    )
    awards = [
        Award(
            deputy_id=deputy_id,
            action=DutyAction.reception,
            source=f"reception:{reception_id}",
            reason=f"在{row.name}接待群众（{row.held_on.isoformat()}）",
            reception_id=reception_id,
        )
        for deputy_id in present
    ]
    await award(session, row.jurisdiction_id, awards, at)
