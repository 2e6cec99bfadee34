"""Opening cases, changing their state and recording what happened, always with the event log and the outbox
written in the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.workflow.actors import CITIZEN, Actor
from services.workflow.errors import (
    AlreadyRated,
    CitizenCaseRatedByCitizen,
    IllegalTransition,
    NotAwaitingRating,
    SuggestionRatedByDeputy,
)
from services.workflow.states import can_transition
from shared.db.enums import AssignmentStatus, CaseKind, CaseStatus, FeedbackSource, Rating
from shared.db.models import Assignment, Case, CaseEvent, Feedback, Jurisdiction
from shared.events.outbox import emit

# Event types the outside world hears about (as "case.<type>"); the rest stay in the case's own log.
EMITTED = frozenset(
    {
        "received",
        "dispatched",
        "accepted",
        "declined",
        "progress",
        "replied",
        "feedback",
        "rework",
        "closed",
        "merged",
        "unmerged",
        "rejected",
        "returned",
        "supplemented",
        "extension_requested",
        "extension_decided",
        "due_soon",
        "overdue",
        "supervision_changed",
        "deadline_changed",
        "follow_up_recorded",
        "adopted",
    }
)


def withdraw(assignments: Iterable[Assignment], at: datetime) -> None:
    """Takes the case away from these units (a merge, a rejection, a meeting's decision): the assignments stay
    as history with status withdrawn. The caller holds the case's row lock and flushes."""
    for a in assignments:
        a.status = AssignmentStatus.withdrawn
        a.withdrawn_at = at
        a.updated_at = at


async def jurisdiction_code(session: AsyncSession, jurisdiction_id: int) -> str:
    return (
        await session.execute(select(Jurisdiction.code).where(Jurisdiction.id == jurisdiction_id))
    ).scalar_one()


_PAYLOAD_FACTS = text(
    """
    SELECT (SELECT code FROM categories WHERE id = :category_id) AS category_code,
           (SELECT code FROM jurisdictions WHERE id = :jurisdiction_id) AS jurisdiction,
           ARRAY(SELECT DISTINCT department_id FROM assignments
                 WHERE case_id = :case_id AND status NOT IN ('declined', 'withdrawn')
                 ORDER BY 1) AS department_ids
    """
)


async def case_payload(session: AsyncSession, case: Case) -> dict[str, Any]:
    """The thin, personal-data-free body every case event carries (read in one round trip)."""
    facts = (
        await session.execute(
            _PAYLOAD_FACTS,
            {"category_id": case.category_id, "jurisdiction_id": case.jurisdiction_id, "case_id": case.id},
        )
    ).one()
    return {
        "case_id": case.id,
        "tracking_no": case.tracking_no,
        "jurisdiction": facts.jurisdiction,
        "status": case.status,
        "category_code": facts.category_code,
        "department_ids": list(facts.department_ids),
    }


async def record_event(
    session: AsyncSession,
    case: Case,
    type: str,
    actor: Actor,
    *,
    public: bool = False,
    data: dict[str, Any] | None = None,
    event_data: dict[str, Any] | None = None,
    from_status: str | None = None,
    at: datetime | None = None,
) -> CaseEvent:
    """Appends to the case's log and, for event types others care about, to the outbox.

    ``data`` goes into the case log only (it may hold text shown on the case's pages); ``event_data`` adds
    ids to the outbound event, which never carries personal data.
    """
    now = at or datetime.now(UTC)
    event = CaseEvent(
        jurisdiction_id=case.jurisdiction_id,
        case_id=case.id,
        type=type,
        at=now,
        actor_type=actor.type,
        actor_id=actor.id,
        public=public,
        from_status=from_status,
        to_status=case.status,
        data=data or {},
    )
    session.add(event)
    if type in EMITTED:
        payload = await case_payload(session, case)
        payload.update(event_data or {})
        await emit(
            session,
            type=f"case.{type}",
            jurisdiction_id=case.jurisdiction_id,
            case_id=case.id,
            payload=payload,
            occurred_at=now,
        )
    await session.flush()
    return event


async def change_status(
    session: AsyncSession,
    case: Case,
    to_status: CaseStatus,
    type: str,
    actor: Actor,
    *,
    public: bool = True,
    data: dict[str, Any] | None = None,
    event_data: dict[str, Any] | None = None,
) -> CaseEvent:
    """Moves a case to a new state if the state machine allows it, and records the event."""
    from_status = case.status
    if not can_transition(from_status, to_status):
        raise IllegalTransition(from_status, to_status)
    now = datetime.now(UTC)
    case.status = to_status
    case.updated_at = now
    if to_status == CaseStatus.dispatched and case.dispatched_at is None:
        case.dispatched_at = now
    elif to_status == CaseStatus.replied:
        case.replied_at = now
    elif to_status == CaseStatus.closed:
        case.closed_at = now
    elif to_status == CaseStatus.rework:
        case.rework_round += 1
        case.closed_at = None
        case.close_reason = None
    return await record_event(
        session,
        case,
        type,
        actor,
        public=public,
        data=data,
        event_data=event_data,
        from_status=from_status,
        at=now,
    )


async def open_case(session: AsyncSession, case: Case, actor: Actor = CITIZEN) -> Case:
    """Stores a new case (status received) with its first event; the caller filled in the fields."""
    case.status = CaseStatus.received
    session.add(case)
    await session.flush()
    await record_event(session, case, "received", actor, public=True, data={}, from_status=None)
    return case


async def store_feedback(
    session: AsyncSession,
    case: Case,
    *,
    source: str,
    rating: Rating,
    comment: str | None,
    round: int,
    actor: Actor,
    extra: dict[str, Any] | None = None,
) -> Feedback:
    """Keeps a rating of reply round ``round`` on the case, once per source and round, with its event
    (``extra`` goes into both the log and the outbound event). The caller decides what it does to states."""
    existing = await session.execute(
        select(Feedback.id).where(
            Feedback.case_id == case.id, Feedback.source == source, Feedback.round == round
        )
    )
    if existing.first() is not None:
        raise AlreadyRated()
    feedback = Feedback(
        jurisdiction_id=case.jurisdiction_id,
        case_id=case.id,
        source=source,
        rating=rating,
        comment=comment,
        round=round,
    )
    session.add(feedback)
    await session.flush()
    await record_event(
        session,
        case,
        "feedback",
        actor,
        public=True,
        data={"source": source, "rating": rating, "round": round, **(extra or {})},
        event_data={"feedback_id": feedback.id, "rating": rating, "source": source, **(extra or {})},
    )
    return feedback


def check_rater(case: Case, source: str) -> None:
    """Who decides on a case: its citizen for a citizen's case, its deputy for a deputy suggestion."""
    if case.kind == CaseKind.deputy_suggestion and source != FeedbackSource.deputy:
        raise SuggestionRatedByDeputy()
    if case.kind != CaseKind.deputy_suggestion and source == FeedbackSource.deputy:
        raise CitizenCaseRatedByCitizen()


async def rate(
    session: AsyncSession,
    case: Case,
    *,
    source: str,
    rating: Rating,
    comment: str | None,
    actor: Actor,
    extra: dict[str, Any] | None = None,
) -> Feedback:
    """A rating of the latest reply: satisfied closes the case, dissatisfied sends it back for rework. Only
    the one who decides rates here (check_rater); ``extra`` as in store_feedback."""
    check_rater(case, source)
    if case.status != CaseStatus.replied:
        raise NotAwaitingRating()
    feedback = await store_feedback(
        session,
        case,
        source=source,
        rating=rating,
        comment=comment,
        round=case.rework_round,
        actor=actor,
        extra=extra,
    )
    if rating == Rating.dissatisfied:
        await change_status(
            session, case, CaseStatus.rework, "rework", actor, data={"round": case.rework_round + 1}
        )
    else:
        case.close_reason = "rated"
        await change_status(
            session,
            case,
            CaseStatus.closed,
            "closed",
            actor,
            data={"reason": "rated"},
            event_data={"reason": "rated"},
        )
    return feedback
