"""The citizen's view of a case, opened with its tracking number and access key, and the citizen's rating.

The view is the "four public" (四公开) subset: the commitment (departments and their reply deadlines), the
public progress (status and public events), the result (replies), the citizen's ratings, and a dispatcher's
question while the case waits for the citizen's answer. It never carries the submitter's name or phone (not
even masked), the description (nor the citizen's supplements to it), decline reasons, internal progress
notes or feedback comments.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import case as sql_case
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.desk.public import public_adoption, public_hotspot_suggestion
from services.intake.errors import CaseNotFound
from services.intake.labels import (
    RATING_LABELS,
    REPLY_CLASS_LABELS,
    REQUEST_TYPE_LABELS,
    ROLE_LABELS,
    STATUS_LABELS,
    event_label,
)
from services.intake.schemas import (
    FeedbackIn,
    FeedbackOut,
    PublicCaseView,
    PublicDepartment,
    PublicFeedback,
    PublicMainCase,
    PublicReply,
    TimelineEntry,
)
from services.intake.supplements import awaits_supplement
from services.workflow import main_awaits_rating, rate, rate_merged, reporters
from services.workflow.actors import CITIZEN
from services.workflow.deadlines import TIER_LABELS
from services.workflow.errors import NotAwaitingRating
from services.workflow.merging import MERGED_TEXT
from shared.calendar import SHANGHAI
from shared.db.enums import (
    GONE_ASSIGNMENT_STATUSES,
    CaseKind,
    CaseStatus,
    DeadlineKind,
    FeedbackSource,
)
from shared.db.models import Assignment, Case, CaseEvent, Category, Deadline, Department, Feedback, Reply
from shared.security.keys import hash_matches, sha256_hex

_TRACKING_NO = re.compile(r"^[\x21-\x7e]{1,32}$")
_ACCESS_KEY = re.compile(r"^[\x21-\x7e]{1,128}$")
_NO_CASE_HASH = sha256_hex("no such case")

# The only data keys of public events that reach the citizen, per event type.
_PUBLIC_TEXT = {
    "progress": "text",
    "assignment_replied": "text",
    "replied": "text",
    "rejected": "reason",
    "returned": "text",
    "merged": "text",
    "unmerged": "text",
    "adopted": "text",
}
_REPLY_EVENTS = frozenset({"assignment_replied", "replied"})
# Declines are between the dispatcher and departments, even if an event were marked public by mistake.
_NEVER_SHOWN = frozenset({"declined", "decline"})
# Units no longer on the case: they sent it back, or a dispatcher took it from them (a merge).
_GONE = GONE_ASSIGNMENT_STATUSES
_ROLE_ORDER = sql_case({"lead": 0, "separate": 1, "co": 2}, value=Assignment.role, else_=3)


async def find_case(
    session: AsyncSession, tracking_no: str, access_key: str | None, *, for_update: bool = False
) -> Case:
    """The case if the access key fits; an unknown number and a wrong or missing key are the same 404."""
    if not access_key or not _ACCESS_KEY.match(access_key) or not _TRACKING_NO.match(tracking_no):
        raise CaseNotFound()
    case = (await session.execute(select(Case).where(Case.tracking_no == tracking_no))).scalar_one_or_none()
    # Compare in constant time, and compare even when there is no case, so timing tells nothing.
    matches = hash_matches(access_key, case.access_key_hash if case is not None else _NO_CASE_HASH)
    if case is None or not matches:
        raise CaseNotFound()
    if for_update:
        # Locked only once the key fits, so a wrong key never waits on (or holds) the case's row lock.
        query = select(Case).where(Case.id == case.id).with_for_update()
        case = (await session.execute(query.execution_options(populate_existing=True))).scalar_one()
    return case


def _public_text(event: CaseEvent) -> tuple[str | None, str | None]:
    key = _PUBLIC_TEXT.get(event.type)
    text = event.data.get(key) if key else None
    reply_class = event.data.get("reply_class") if event.type in _REPLY_EVENTS else None
    return (
        text if isinstance(text, str) and text else None,
        reply_class if reply_class in REPLY_CLASS_LABELS else None,
    )


@dataclass(frozen=True)
class _Progress:
    """The public progress of one case: who handles it, by when, what happened and the answers."""

    category: str | None
    departments: list[PublicDepartment]
    deadline: datetime | None
    due_at: datetime | None
    timeline: list[TimelineEntry]
    replies: list[PublicReply]


async def _progress(session: AsyncSession, case: Case) -> _Progress:
    category = (
        await session.scalar(select(Category.name).where(Category.id == case.category_id))
        if case.category_id is not None
        else None
    )
    # Each assignment's reply deadline in force, of its latest round: the commitment shown to the citizen.
    reply_due = (
        select(Deadline.assignment_id, Deadline.due_at, Deadline.met_at)
        .where(
            Deadline.case_id == case.id,
            Deadline.kind == DeadlineKind.reply,
            Deadline.superseded_at.is_(None),
        )
        .distinct(Deadline.assignment_id)
        .order_by(Deadline.assignment_id, Deadline.round.desc())
        .subquery()
    )
    departments = (
        await session.execute(
            select(Department.name, Assignment.role, reply_due.c.due_at, reply_due.c.met_at)
            .join(Department, Department.id == Assignment.department_id)
            .outerjoin(reply_due, reply_due.c.assignment_id == Assignment.id)
            .where(Assignment.case_id == case.id, Assignment.status.not_in(_GONE))
            .order_by(_ROLE_ORDER, Assignment.id)
        )
    ).all()
    deadline = await session.scalar(
        select(func.min(Deadline.due_at)).where(
            Deadline.case_id == case.id,
            Deadline.kind == DeadlineKind.reply,
            Deadline.met_at.is_(None),
            Deadline.superseded_at.is_(None),
        )
    )
    events = [
        e
        for e in (
            await session.execute(
                select(CaseEvent)
                .where(CaseEvent.case_id == case.id, CaseEvent.public.is_(True))
                .order_by(CaseEvent.id)
            )
        ).scalars()
        if e.type not in _NEVER_SHOWN
    ]
    replies = list(
        (await session.execute(select(Reply).where(Reply.case_id == case.id).order_by(Reply.id))).scalars()
    )
    names = await _department_names(session, case.jurisdiction_id, events, replies)

    seen: set[tuple[str, str]] = set()
    handling = []
    for name, role, due_at, met_at in departments:
        if (name, role) not in seen:
            seen.add((name, role))
            handling.append(
                PublicDepartment(
                    name=name,
                    role=role,
                    role_label=ROLE_LABELS.get(role, role),
                    due_at=due_at,
                    due_date=_local_date(due_at),
                    replied_at=met_at,
                )
            )
    timeline = []
    for event in events:
        text, reply_class = _public_text(event)
        timeline.append(
            TimelineEntry(
                type=event.type,
                label=event_label(event.type),
                at=event.at,
                text=text,
                reply_class=reply_class,
                department=names.get(_department_id(event.data)),
            )
        )
    due_at = min((d.due_at for d in handling if d.due_at is not None), default=None)
    return _Progress(
        category=category,
        departments=handling,
        deadline=deadline,
        due_at=due_at,
        timeline=timeline,
        replies=[
            PublicReply(
                text=r.text,
                reply_class=r.reply_class,
                reply_class_label=REPLY_CLASS_LABELS.get(r.reply_class, r.reply_class),
                department=names.get(r.department_id, ""),
                round=r.round,
                at=r.created_at,
            )
            for r in replies
        ],
    )


async def _main_case(session: AsyncSession, case: Case) -> Case | None:
    """The case a merged case is handled with (the same jurisdiction's, by construction)."""
    if case.status != CaseStatus.merged or case.duplicate_of_id is None:
        return None
    main: Case | None = await session.scalar(
        select(Case).where(Case.id == case.duplicate_of_id, Case.jurisdiction_id == case.jurisdiction_id)
    )
    return main


async def _main_view(session: AsyncSession, main: Case) -> PublicMainCase:
    progress = await _progress(session, main)
    return PublicMainCase(
        tracking_no=main.tracking_no,
        status=main.status,
        status_label=STATUS_LABELS.get(main.status, main.status),
        category=progress.category,
        tier_label=TIER_LABELS.get(main.tier) if main.tier else None,
        reporters=await reporters(session, main.id),
        departments=progress.departments,
        deadline=progress.deadline,
        due_at=progress.due_at,
        due_date=_local_date(progress.due_at),
        timeline=progress.timeline,
        replies=progress.replies,
    )


async def public_view(session: AsyncSession, case: Case) -> PublicCaseView:
    """The citizen's page. A merged case shows its own short history and, beside it, the main case's
    public progress and replies, which its citizen may rate too; the main case counts its citizens."""
    progress = await _progress(session, case)
    feedback = list(
        (
            await session.execute(
                select(Feedback)
                .where(Feedback.case_id == case.id, Feedback.source == FeedbackSource.citizen)
                .order_by(Feedback.id)
            )
        ).scalars()
    )
    rated_rounds = {f.round for f in feedback}
    main = await _main_case(session, case)
    merged_into = await _main_view(session, main) if main is not None else None
    if main is not None and merged_into is not None:
        can_rate = main_awaits_rating(case, main) and main.rework_round not in rated_rounds
        count = merged_into.reporters
    else:
        # A deputy suggestion is rated by its deputy (supervision_api), never here.
        can_rate = (
            case.status == CaseStatus.replied
            and case.kind != CaseKind.deputy_suggestion
            and case.rework_round not in rated_rounds
        )
        count = await reporters(session, case.id)
    question = _question(progress.timeline) if awaits_supplement(case) else None
    return PublicCaseView(
        tracking_no=case.tracking_no,
        status=case.status,
        status_label=STATUS_LABELS.get(case.status, case.status),
        request_type=case.request_type,
        request_type_label=REQUEST_TYPE_LABELS.get(case.request_type, case.request_type),
        category=progress.category,
        tier_label=TIER_LABELS.get(case.tier) if case.tier else None,
        created_at=case.created_at,
        departments=progress.departments,
        deadline=progress.deadline,
        due_at=progress.due_at,
        due_date=_local_date(progress.due_at),
        timeline=progress.timeline,
        replies=progress.replies,
        can_rate=can_rate,
        feedback=[
            PublicFeedback(
                rating=f.rating,
                rating_label=RATING_LABELS.get(f.rating, f.rating),
                round=f.round,
                at=f.created_at,
            )
            for f in feedback
        ],
        can_supplement=question is not None,
        supplement_request=question,
        reporters=count,
        merged_note=MERGED_TEXT.format(tracking_no=main.tracking_no) if main is not None else None,
        merged_into=merged_into,
        adoption=await public_adoption(session, case),
        hotspot_suggestion=await public_hotspot_suggestion(session, case),
    )


def _local_date(moment: datetime | None) -> date | None:
    return moment.astimezone(SHANGHAI).date() if moment is not None else None


def _question(timeline: list[TimelineEntry]) -> str | None:
    """The dispatcher's latest question (a case returned, answered and returned again asks anew)."""
    return next((e.text for e in reversed(timeline) if e.type == "returned" and e.text), None)


def _department_id(data: dict[str, Any]) -> int | None:
    value = data.get("department_id")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


async def _department_names(
    session: AsyncSession, jurisdiction_id: int, events: list[CaseEvent], replies: list[Reply]
) -> dict[int | None, str]:
    ids = {r.department_id for r in replies} | {
        i for i in (_department_id(e.data) for e in events) if i is not None
    }
    if not ids:
        return {}
    rows = await session.execute(
        select(Department.id, Department.name).where(
            Department.jurisdiction_id == jurisdiction_id, Department.id.in_(ids)
        )
    )
    return {department_id: name for department_id, name in rows}


async def give_feedback(session: AsyncSession, case: Case, data: FeedbackIn) -> FeedbackOut:
    """The citizen's rating of the latest reply: satisfied closes the case, dissatisfied sends it to rework.
    A merged case's citizen rates the main case's reply instead, which is recorded and changes nothing.
    Load the case with ``for_update`` so two ratings at once cannot both pass the checks."""
    if case.status == CaseStatus.merged:
        main = await _main_case(session, case)
        if main is None:
            raise NotAwaitingRating()
        await rate_merged(
            session,
            case,
            main,
            source=FeedbackSource.citizen,
            rating=data.rating,
            comment=data.comment,
            actor=CITIZEN,
        )
    else:
        await rate(
            session,
            case,
            source=FeedbackSource.citizen,
            rating=data.rating,
            comment=data.comment,
            actor=CITIZEN,
        )
    return FeedbackOut(
        tracking_no=case.tracking_no,
        status=case.status,
        status_label=STATUS_LABELS.get(case.status, case.status),
    )
