"""The deputy's rating (满意度) of the reply to their suggestion: for a deputy suggestion it is the rating that
decides, as the citizen's does for a citizen's case (services.workflow.service.check_rater).

Satisfied or basically satisfied closes the suggestion; dissatisfied sends it back to its lead and separate
departments, who answer again on the ``suggestion_rework`` tier (1 month by default; a jurisdiction sets e.g.
2 months through PUT /v1/sla-policies). One rating per reply round.

Who rates: the deputy who authored the suggestion (``cases.deputy_id``); a co-signer (联名代表) is told of
the reply but does not rate (403), any other deputy does not see the suggestion (404). A supervisor may
record the deputy's rating on the deputy's behalf (collected on paper or by phone): the rating is still the
deputy's (source ``deputy``), and the case log keeps the supervisor's key as the one who recorded it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.supervision import deadlines
from services.supervision.deputy_feedback_schemas import RATING_LABELS, DeputyFeedbackIn, DeputyFeedbackOut
from services.supervision.errors import (
    CaseNotFound,
    CosignerCannotRate,
    SuggestionClosed,
    SuggestionNotReplied,
    SuggestionWithoutDeputy,
)
from services.workflow import Actor, rate
from services.workflow.errors import AlreadyRated
from services.workflow.service import check_rater
from shared.db.enums import CaseStatus, DeadlineKind, FeedbackSource, Role
from shared.db.models import Case, CaseCosigner, CaseEvent, Deadline, Feedback, Reply
from shared.security.apikeys import Principal


async def get_ratable_case(session: AsyncSession, principal: Principal, case_id: int) -> Case:
    """The case within the key's reach: its jurisdiction, and for a deputy the cases raised by or through
    the deputy (a citizen's case through the deputy's code is found, then refused as not the deputy's to
    rate). A co-signer of the suggestion is told it may not rate; anything else is a 404."""
    case = await session.scalar(
        select(Case).where(Case.id == case_id, Case.jurisdiction_id == principal.jurisdiction_id)
    )
    if case is None:
        raise CaseNotFound()
    if principal.role != Role.deputy or case.deputy_id == principal.deputy_id:
        return case
    cosigned = await session.scalar(
        select(exists().where(CaseCosigner.case_id == case.id, CaseCosigner.deputy_id == principal.deputy_id))
    )
    if cosigned:
        raise CosignerCannotRate()
    raise CaseNotFound()


def _actor(principal: Principal) -> Actor:
    if principal.role == Role.deputy:
        return Actor("deputy", principal.deputy_id)
    return Actor(principal.role, principal.key_id)


async def _rated_latest_reply(session: AsyncSession, case: Case) -> bool:
    """Whether the deputy has rated the latest reply round (which may lie behind a case already in rework
    or closed by that rating)."""
    latest = select(func.max(Reply.round)).where(Reply.case_id == case.id).scalar_subquery()
    found = await session.scalar(
        select(
            exists().where(
                Feedback.case_id == case.id,
                Feedback.source == FeedbackSource.deputy,
                Feedback.round == latest,
            )
        )
    )
    return bool(found)


async def _lock(session: AsyncSession, case: Case) -> Case:
    return (
        await session.execute(
            select(Case).where(Case.id == case.id).with_for_update().execution_options(populate_existing=True)
        )
    ).scalar_one()


async def _rework_due(session: AsyncSession, case: Case) -> datetime | None:
    due: datetime | None = await session.scalar(
        select(func.min(Deadline.due_at)).where(
            Deadline.case_id == case.id,
            Deadline.kind == DeadlineKind.reply,
            Deadline.round == case.rework_round,
            Deadline.superseded_at.is_(None),
        )
    )
    return due


async def _went_to_rework_at(session: AsyncSession, case: Case) -> datetime:
    at: datetime = (
        await session.execute(
            select(CaseEvent.at)
            .where(CaseEvent.case_id == case.id, CaseEvent.type == "rework")
            .order_by(CaseEvent.id.desc())
            .limit(1)
        )
    ).scalar_one()
    return at


async def rate_reply(
    session: AsyncSession, principal: Principal, case: Case, data: DeputyFeedbackIn
) -> DeputyFeedbackOut:
    """Records the deputy's rating of the suggestion's latest reply, under the case's row lock, and moves
    the suggestion through the workflow: case.feedback, then case.closed or case.rework. On rework the new
    reply deadlines are set here at once (the event, when supervision hears it, finds them in place)."""
    case = await _lock(session, case)
    source = FeedbackSource.deputy
    check_rater(case, source)  # a citizen's case: 422, rated by its citizen
    if case.deputy_id is None:
        raise SuggestionWithoutDeputy()
    if await _rated_latest_reply(session, case):
        raise AlreadyRated()
    if case.status == CaseStatus.closed:
        raise SuggestionClosed()  # closed unrated when the rating window passed
    if case.status != CaseStatus.replied:
        raise SuggestionNotReplied()
    actor = _actor(principal)
    feedback = await rate(
        session,
        case,
        source=source,
        rating=data.rating,
        comment=data.comment,
        actor=actor,
        extra={"deputy_id": case.deputy_id, "recorded_by": actor.type},
    )
    await session.refresh(feedback, ["created_at"])  # a server default
    rework_due = None
    if case.status == CaseStatus.rework:
        await deadlines.start_rework(session, case, await _went_to_rework_at(session, case))
        rework_due = await _rework_due(session, case)
    return DeputyFeedbackOut(
        feedback_id=feedback.id,
        case_id=case.id,
        tracking_no=case.tracking_no,
        deputy_id=case.deputy_id,
        rating=feedback.rating,
        rating_label=RATING_LABELS[data.rating],
        comment=feedback.comment,
        round=feedback.round,
        recorded_by=actor.as_data(),
        status=case.status,
        rework_due_at=rework_due,
        created_at=feedback.created_at,
    )
