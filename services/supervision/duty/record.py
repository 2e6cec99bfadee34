"""The deputy's file (一人一档) for a year: receptions attended, the citizens' cases that came through their
codes and how they ended, the suggestions they wrote or co-signed with their reply classes and ratings, and
their duty points. Counts only for the citizens' cases: the file carries no personal data.

Cases and suggestions count in the year they were received, receptions in the year they were held, points
in the year they occurred (all in Asia/Shanghai).
"""

from __future__ import annotations

from collections import Counter
from datetime import date

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.supervision.duty import ledger
from services.supervision.duty.labels import STATUS_LABELS
from services.supervision.duty.schemas import (
    CodeCasesPart,
    DeputyRecord,
    ReceptionAttended,
    ReceptionsPart,
    SuggestionLine,
    SuggestionsPart,
)
from shared.db.enums import CaseKind, CaseStatus, FeedbackSource, Rating, ReplyClass
from shared.db.models import (
    Case,
    CaseCosigner,
    Deputy,
    Feedback,
    Reception,
    Reply,
    Station,
    reception_deputies,
)

UNRATED = "unrated"
SATISFIED = (Rating.satisfied, Rating.basically_satisfied)


async def deputy_record(session: AsyncSession, deputy: Deputy, year: int) -> DeputyRecord:
    per_action = (await ledger.subtotals(session, deputy.jurisdiction_id, year, deputy.id)).get(deputy.id, {})
    return DeputyRecord(
        deputy=ledger.brief(deputy),
        year=year,
        points=ledger.total(per_action),
        point_actions=ledger.action_totals(per_action),
        receptions=await _receptions(session, deputy, year),
        code_cases=await _code_cases(session, deputy, year),
        suggestions=await _suggestions(session, deputy, year),
    )


async def _receptions(session: AsyncSession, deputy: Deputy, year: int) -> ReceptionsPart:
    rows = await session.execute(
        select(
            Reception.id,
            Reception.held_on,
            Reception.station_id,
            Station.name,
            Reception.citizens_received,
            Reception.answered_on_spot,
        )
        .join(reception_deputies, reception_deputies.c.reception_id == Reception.id)
        .join(Station, Station.id == Reception.station_id)
        .where(
            reception_deputies.c.deputy_id == deputy.id,
            Reception.jurisdiction_id == deputy.jurisdiction_id,
            Reception.held_on >= date(year, 1, 1),
            Reception.held_on <= date(year, 12, 31),
        )
        .order_by(Reception.held_on.desc(), Reception.id.desc())
    )
    items = [
        ReceptionAttended(
            reception_id=r.id,
            held_on=r.held_on,
            station_id=r.station_id,
            station_name=r.name,
            citizens_received=r.citizens_received,
            answered_on_spot=r.answered_on_spot,
        )
        for r in rows
    ]
    return ReceptionsPart(
        count=len(items), citizens_received=sum(r.citizens_received for r in items), items=items
    )


async def _code_cases(session: AsyncSession, deputy: Deputy, year: int) -> CodeCasesPart:
    start, end = ledger.year_bounds(year)
    of_deputy = (
        Case.jurisdiction_id == deputy.jurisdiction_id,
        Case.kind == CaseKind.citizen,
        Case.deputy_id == deputy.id,
        Case.created_at >= start,
        Case.created_at < end,
    )
    by_status: dict[str, int] = {}
    replied = unrated = 0
    for status, count, had_reply, closed_unrated in await session.execute(
        select(
            Case.status,
            func.count(),
            func.count(Case.replied_at),
            func.count().filter(Case.close_reason == UNRATED),
        )
        .where(*of_deputy)
        .group_by(Case.status)
    ):
        by_status[status] = int(count)
        replied += int(had_reply)
        unrated += int(closed_unrated)
    # The citizen's latest rating of each case.
    latest = (
        select(Feedback.case_id, Feedback.rating)
        .join(Case, Case.id == Feedback.case_id)
        .where(*of_deputy, Feedback.source == FeedbackSource.citizen)
        .distinct(Feedback.case_id)
        .order_by(Feedback.case_id, Feedback.round.desc(), Feedback.id.desc())
        .subquery()
    )
    ratings = {
        rating: int(count)
        for rating, count in await session.execute(
            select(latest.c.rating, func.count()).group_by(latest.c.rating)
        )
    }
    rated = sum(ratings.values())
    pleased = sum(ratings.get(r, 0) for r in SATISFIED)
    return CodeCasesPart(
        total=sum(by_status.values()),
        by_status=by_status,
        replied=replied,
        closed=by_status.get(CaseStatus.closed, 0),
        rated=rated,
        ratings={r.value: ratings.get(r, 0) for r in Rating},
        unrated=unrated,
        satisfaction_rate=round(pleased / rated, 4) if rated else None,
    )


async def _suggestions(session: AsyncSession, deputy: Deputy, year: int) -> SuggestionsPart:
    start, end = ledger.year_bounds(year)
    cosigned = select(CaseCosigner.case_id).where(CaseCosigner.deputy_id == deputy.id)
    cases = list(
        await session.scalars(
            select(Case)
            .where(
                Case.jurisdiction_id == deputy.jurisdiction_id,
                Case.kind == CaseKind.deputy_suggestion,
                or_(Case.deputy_id == deputy.id, Case.id.in_(cosigned)),
                Case.created_at >= start,
                Case.created_at < end,
            )
            .order_by(Case.created_at.desc(), Case.id.desc())
        )
    )
    ids = [c.id for c in cases]
    # The latest round's reply classes of each suggestion.
    replies: dict[int, tuple[int, list[str]]] = {}
    for case_id, round_, reply_class in await session.execute(
        select(Reply.case_id, Reply.round, Reply.reply_class)
        .where(Reply.case_id.in_(ids))
        .order_by(Reply.case_id, Reply.round, Reply.id)
    ):
        seen_round, classes = replies.get(case_id, (round_, []))
        if round_ > seen_round:
            classes = []
        replies[case_id] = (round_, [*classes, reply_class])
    # The deputies' ratings, oldest first, so the last one kept per case is the latest.
    ratings_of: dict[int, list[str]] = {}
    for case_id, rating in await session.execute(
        select(Feedback.case_id, Feedback.rating)
        .where(Feedback.case_id.in_(ids), Feedback.source == FeedbackSource.deputy)
        .order_by(Feedback.case_id, Feedback.round, Feedback.id)
    ):
        ratings_of.setdefault(case_id, []).append(rating)

    items = [
        SuggestionLine(
            case_id=c.id,
            tracking_no=c.tracking_no,
            title=c.title,
            role="author" if c.deputy_id == deputy.id else "cosigner",
            status=c.status,
            status_label=STATUS_LABELS.get(c.status, c.status),
            created_at=c.created_at,
            replied_at=c.replied_at,
            reply_classes=sorted(replies.get(c.id, (0, []))[1]),
            rating=ratings_of[c.id][-1] if c.id in ratings_of else None,
        )
        for c in cases
    ]
    authored = [c.id for c in cases if c.deputy_id == deputy.id]
    reply_classes = Counter(k for case_id in authored for k in replies.get(case_id, (0, []))[1])
    ratings = Counter(r for case_id in authored for r in ratings_of.get(case_id, []))
    return SuggestionsPart(
        authored=len(authored),
        cosigned=len(cases) - len(authored),
        by_status=dict(Counter(c.status for c in cases)),
        reply_classes={k.value: reply_classes.get(k, 0) for k in ReplyClass},
        ratings={r.value: ratings.get(r, 0) for r in Rating},
        items=items,
    )
