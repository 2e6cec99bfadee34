"""The year's key-supervision report (重点督办年度报告): per key item its case, departments, reply deadlines kept
or missed, reply classes, ratings and the three checks, and a summary over them.

Reply deadlines are judged on the rows in force (``superseded_at IS NULL``): an approved extension's new date
is the one that counts, and a row superseded by an extension, by a department's decline or withdrawal, or by
a merge counts neither for nor against. A deadline met by its due time is kept; one met late, or still open
after its due time, is missed; one still open before it is open (not judged yet).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime

from sqlalchemy import and_, case, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.supervision.deadlines import GONE
from services.supervision.key_item_schemas import (
    KeyCheckOut,
    KeyReport,
    Outcome,
    ReportDeadline,
    ReportDepartment,
    ReportFeedback,
    ReportItem,
    ReportReply,
    ReportSummary,
)
from shared.db.enums import CaseStatus, DeadlineKind, FeedbackSource
from shared.db.models import (
    Assignment,
    Case,
    Category,
    Committee,
    Deadline,
    Department,
    Feedback,
    KeyCheckStage,
    KeyItem,
    KeyItemCheck,
    Reply,
)

EXCERPT_CHARS = 60
STAGES = tuple(KeyCheckStage)


def excerpt(text: str, length: int = EXCERPT_CHARS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= length else flat[: length - 1] + "…"


async def build_report(
    session: AsyncSession, jurisdiction_id: int, year: int, *, now: datetime | None = None
) -> KeyReport:
    """The report of a year's key items, in the order they were chosen. A year's items are tens, not
    thousands: each part is read in one query over all of them, and the summary is counted from the very rows
    the items show, so the two never disagree."""
    now = now or datetime.now(UTC)
    rows = (
        await session.execute(
            select(KeyItem, Case, Category.code, Category.name, Committee.name)
            .join(Case, Case.id == KeyItem.case_id)
            .outerjoin(Category, Category.id == Case.category_id)
            .outerjoin(Committee, Committee.id == KeyItem.committee_id)
            .where(KeyItem.jurisdiction_id == jurisdiction_id, KeyItem.year == year)
            .order_by(KeyItem.id)
        )
    ).all()
    case_ids = [row.Case.id for row in rows]
    departments = await _departments(session, case_ids)
    deadlines = await _reply_deadlines(session, case_ids, now)
    replies = await _replies(session, case_ids)
    feedback = await _feedback(session, case_ids)
    checks = await _checks(session, [row.KeyItem.id for row in rows])
    items = []
    for item, case_, category_code, category_name, committee_name in rows:
        outcomes = Counter(d.outcome for d in deadlines[case_.id])
        items.append(
            ReportItem(
                id=item.id,
                case_id=case_.id,
                tracking_no=case_.tracking_no,
                title=case_.title,
                excerpt=excerpt(case_.description),
                category_code=category_code,
                category_name=category_name,
                kind=case_.kind,
                status=case_.status,
                lead_supervisor=item.lead_supervisor,
                goal=item.goal,
                committee_name=committee_name,
                departments=departments[case_.id],
                reply_deadlines=deadlines[case_.id],
                deadlines_kept=outcomes["kept"],
                deadlines_missed=outcomes["missed"],
                deadlines_open=outcomes["open"],
                replies=replies[case_.id],
                feedback=feedback[case_.id],
                latest_rating=_latest_rating(feedback[case_.id]),
                checks=checks[item.id],
            )
        )
    return KeyReport(year=year, generated_at=now, summary=_summary(items), items=items)


def _latest_rating(feedback: list[ReportFeedback]) -> str | None:
    """The rating of the latest rated round; where both rated it, the deputy's (they raised or adopted it)."""
    if not feedback:
        return None
    latest = max(f.round for f in feedback)
    of_round = {f.source: f.rating for f in feedback if f.round == latest}
    return of_round.get(FeedbackSource.deputy) or of_round.get(FeedbackSource.citizen)


def _summary(items: list[ReportItem]) -> ReportSummary:
    status_order = {status.value: i for i, status in enumerate(CaseStatus)}
    by_status = Counter(item.status for item in items)
    ratings = Counter(item.latest_rating or "unrated" for item in items)
    recorded: Counter[str] = Counter()
    graded: dict[str, Counter[str]] = {stage: Counter() for stage in STAGES}
    for item in items:
        for check in item.checks:
            recorded[check.stage] += 1
            if check.rating is not None:
                graded[check.stage][check.rating] += 1
    return ReportSummary(
        items=len(items),
        by_status=dict(sorted(by_status.items(), key=lambda kv: status_order.get(kv[0], len(status_order)))),
        by_kind=dict(Counter(item.kind for item in items)),
        deadlines_kept=sum(item.deadlines_kept for item in items),
        deadlines_missed=sum(item.deadlines_missed for item in items),
        deadlines_open=sum(item.deadlines_open for item in items),
        ratings=dict(ratings),
        checks_recorded={stage: recorded[stage] for stage in STAGES},
        check_ratings={stage: dict(graded[stage]) for stage in STAGES},
    )


async def _departments(session: AsyncSession, case_ids: list[int]) -> dict[int, list[ReportDepartment]]:
    found: dict[int, list[ReportDepartment]] = defaultdict(list)
    if not case_ids:
        return found
    rows = await session.execute(
        select(
            Assignment.case_id, Assignment.department_id, Department.name, Assignment.role, Assignment.status
        )
        .join(Department, Department.id == Assignment.department_id)
        .where(Assignment.case_id.in_(case_ids), Assignment.status.not_in(GONE))
        .order_by(Assignment.case_id, Assignment.id)
    )
    for case_id, department_id, name, role, status in rows.tuples():
        found[case_id].append(
            ReportDepartment(department_id=department_id, name=name, role=role, status=status)
        )
    return found


async def _reply_deadlines(
    session: AsyncSession, case_ids: list[int], now: datetime
) -> dict[int, list[ReportDeadline]]:
    found: dict[int, list[ReportDeadline]] = defaultdict(list)
    if not case_ids:
        return found
    outcome = case(
        (and_(Deadline.met_at.is_not(None), Deadline.met_at <= Deadline.due_at), "kept"),
        (Deadline.met_at.is_not(None), "missed"),
        (Deadline.due_at < now, "missed"),
        else_="open",
    )
    rows = await session.execute(
        select(
            Deadline.case_id,
            Assignment.department_id,
            Department.name,
            Deadline.round,
            Deadline.due_at,
            Deadline.met_at,
            outcome,
        )
        .outerjoin(Assignment, Assignment.id == Deadline.assignment_id)
        .outerjoin(Department, Department.id == Assignment.department_id)
        .where(
            Deadline.case_id.in_(case_ids),
            Deadline.kind == DeadlineKind.reply,
            Deadline.superseded_at.is_(None),
        )
        .order_by(Deadline.case_id, Deadline.round, Deadline.id)
    )
    for case_id, department_id, name, round_, due_at, met_at, judged in rows.tuples():
        verdict: Outcome = judged
        found[case_id].append(
            ReportDeadline(
                department_id=department_id,
                department_name=name,
                round=round_,
                due_at=due_at,
                met_at=met_at,
                outcome=verdict,
            )
        )
    return found


async def _replies(session: AsyncSession, case_ids: list[int]) -> dict[int, list[ReportReply]]:
    found: dict[int, list[ReportReply]] = defaultdict(list)
    if not case_ids:
        return found
    rows = await session.execute(
        select(
            Reply.case_id,
            Reply.department_id,
            Department.name,
            Reply.round,
            Reply.reply_class,
            Reply.created_at,
        )
        .join(Department, Department.id == Reply.department_id)
        .where(Reply.case_id.in_(case_ids))
        .order_by(Reply.case_id, Reply.round, Reply.id)
    )
    for case_id, department_id, name, round_, reply_class, created_at in rows.tuples():
        found[case_id].append(
            ReportReply(
                department_id=department_id,
                department_name=name,
                round=round_,
                reply_class=reply_class,
                created_at=created_at,
            )
        )
    return found


async def _feedback(session: AsyncSession, case_ids: list[int]) -> dict[int, list[ReportFeedback]]:
    found: dict[int, list[ReportFeedback]] = defaultdict(list)
    if not case_ids:
        return found
    rows = await session.execute(
        select(Feedback.case_id, Feedback.source, Feedback.rating, Feedback.round, Feedback.created_at)
        .where(Feedback.case_id.in_(case_ids))
        .order_by(Feedback.case_id, Feedback.round, Feedback.id)
    )
    for case_id, source, rating, round_, created_at in rows.tuples():
        found[case_id].append(
            ReportFeedback(source=source, rating=rating, round=round_, created_at=created_at)
        )
    return found


async def _checks(session: AsyncSession, item_ids: list[int]) -> dict[int, list[KeyCheckOut]]:
    found: dict[int, list[KeyCheckOut]] = defaultdict(list)
    if not item_ids:
        return found
    rows = await session.execute(select(KeyItemCheck).where(KeyItemCheck.key_item_id.in_(item_ids)))
    for check in sorted(rows.scalars(), key=lambda c: (c.key_item_id, STAGES.index(KeyCheckStage(c.stage)))):
        found[check.key_item_id].append(KeyCheckOut.model_validate(check))
    return found
