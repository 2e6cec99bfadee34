"""Shaping the deputy's cases: who handles each, the reply deadlines in force, the replies, the co-signers and
the adoption links, read for a whole page at once (one query per kind of row, never one per case).

The citizen's name and phone appear masked, and never for a confidential (保密) case.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import case as sql_case
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from services.intake import tracking
from services.intake.desk import queries
from services.intake.desk.schemas import (
    KIND_LABELS,
    RELATION_LABELS,
    CaseLink,
    DeputyRef,
    DeskCase,
    DeskCaseDetail,
    DeskCaseFilters,
    DeskDeadline,
    DeskDepartment,
    DeskRelation,
    DeskReply,
)
from services.intake.labels import REPLY_CLASS_LABELS, ROLE_LABELS, STATUS_LABELS
from services.workflow.deadlines import TIER_LABELS
from services.workflow.views import submitter_of
from shared.db.enums import GONE_ASSIGNMENT_STATUSES, CaseKind, DeadlineKind, SuggestionSourceKind
from shared.db.models import (
    Assignment,
    Case,
    CaseCosigner,
    Category,
    Deadline,
    Department,
    Deputy,
    Reply,
    SuggestionSource,
)

SUMMARY_LENGTH = 40
_ROLE_ORDER = sql_case({"lead": 0, "separate": 1, "co": 2}, value=Assignment.role, else_=3)


def _summary(case: Case) -> str:
    if case.title:
        return case.title
    text = " ".join(case.description.split())
    return text if len(text) <= SUMMARY_LENGTH else text[:SUMMARY_LENGTH] + "…"


def relation_of(case: Case, deputy_id: int) -> DeskRelation:
    if case.deputy_id == deputy_id:
        return DeskRelation.authored if case.kind == CaseKind.deputy_suggestion else DeskRelation.through_code
    return DeskRelation.cosigned


class _Page:
    """The rows around a page of cases, by case id."""

    def __init__(self) -> None:
        self.categories: dict[int, tuple[str, str]] = {}
        self.departments: dict[int, list[DeskDepartment]] = defaultdict(list)
        self.deadlines: dict[int, list[DeskDeadline]] = defaultdict(list)
        self.replies: dict[int, list[DeskReply]] = defaultdict(list)
        self.cosigners: dict[int, list[DeputyRef]] = defaultdict(list)
        self.authors: dict[int, str] = {}
        self.adopted_from: dict[int, list[CaseLink]] = defaultdict(list)
        self.adopted_by: dict[int, CaseLink] = {}


async def _departments(session: AsyncSession, ids: list[int], page: _Page) -> None:
    rows = await session.execute(
        select(
            Assignment.case_id, Assignment.department_id, Assignment.role, Assignment.status, Department.name
        )
        .join(Department, Department.id == Assignment.department_id)
        .where(Assignment.case_id.in_(ids), Assignment.status.not_in(GONE_ASSIGNMENT_STATUSES))
        .order_by(Assignment.case_id, _ROLE_ORDER, Assignment.id)
    )
    for row in rows:
        page.departments[row.case_id].append(
            DeskDepartment(
                department_id=row.department_id,
                name=row.name,
                role=row.role,
                role_label=ROLE_LABELS.get(row.role, row.role),
                status=row.status,
            )
        )


async def _deadlines(session: AsyncSession, ids: list[int], page: _Page, now: datetime) -> None:
    rows = await session.execute(
        select(Deadline, Department.name)
        .outerjoin(Assignment, Assignment.id == Deadline.assignment_id)
        .outerjoin(Department, Department.id == Assignment.department_id)
        .where(
            Deadline.case_id.in_(ids),
            Deadline.kind == DeadlineKind.reply,
            Deadline.superseded_at.is_(None),
        )
        .order_by(Deadline.case_id, Deadline.round, Deadline.due_at, Deadline.id)
    )
    for deadline, department in rows.tuples():
        page.deadlines[deadline.case_id].append(
            DeskDeadline(
                department=department,
                round=deadline.round,
                tier=deadline.tier,
                tier_label=TIER_LABELS.get(deadline.tier) if deadline.tier else None,
                due_at=deadline.due_at,
                met_at=deadline.met_at,
                overdue=deadline.met_at is None and deadline.due_at < now,
            )
        )


async def _replies(session: AsyncSession, ids: list[int], page: _Page) -> None:
    rows = await session.execute(
        select(Reply, Department.name)
        .join(Department, Department.id == Reply.department_id)
        .where(Reply.case_id.in_(ids))
        .order_by(Reply.case_id, Reply.id)
    )
    for reply, department in rows.tuples():
        page.replies[reply.case_id].append(
            DeskReply(
                reply_class=reply.reply_class,
                reply_class_label=REPLY_CLASS_LABELS.get(reply.reply_class, reply.reply_class),
                text=reply.text,
                department=department,
                round=reply.round,
                at=reply.created_at,
            )
        )


async def _people(session: AsyncSession, cases: Sequence[Case], ids: list[int], page: _Page) -> None:
    """The co-signers of each case and the authors of the suggestions."""
    rows = await session.execute(
        select(CaseCosigner.case_id, Deputy.id, Deputy.name)
        .join(Deputy, Deputy.id == CaseCosigner.deputy_id)
        .where(CaseCosigner.case_id.in_(ids))
        .order_by(CaseCosigner.case_id, CaseCosigner.position, Deputy.id)
    )
    for row in rows:
        page.cosigners[row.case_id].append(DeputyRef(deputy_id=row.id, name=row.name))
    author_ids = {c.deputy_id for c in cases if c.kind == CaseKind.deputy_suggestion and c.deputy_id}
    if author_ids:
        authors = await session.execute(select(Deputy.id, Deputy.name).where(Deputy.id.in_(author_ids)))
        page.authors = {row.id: row.name for row in authors}


async def _adoptions(session: AsyncSession, ids: list[int], page: _Page) -> None:
    citizen, suggestion = aliased(Case), aliased(Case)
    rows = await session.execute(
        select(
            SuggestionSource.suggestion_id,
            SuggestionSource.case_id,
            citizen.tracking_no.label("case_tracking_no"),
            suggestion.tracking_no.label("suggestion_tracking_no"),
        )
        .join(citizen, citizen.id == SuggestionSource.case_id)
        .join(suggestion, suggestion.id == SuggestionSource.suggestion_id)
        .where(
            SuggestionSource.kind == SuggestionSourceKind.adopted,
            or_(SuggestionSource.suggestion_id.in_(ids), SuggestionSource.case_id.in_(ids)),
        )
        .order_by(SuggestionSource.suggestion_id, SuggestionSource.case_id)
    )
    for row in rows:
        page.adopted_from[row.suggestion_id].append(
            CaseLink(id=row.case_id, tracking_no=row.case_tracking_no)
        )
        page.adopted_by[row.case_id] = CaseLink(id=row.suggestion_id, tracking_no=row.suggestion_tracking_no)


async def _read_page(session: AsyncSession, cases: Sequence[Case], now: datetime) -> _Page:
    page = _Page()
    ids = [c.id for c in cases]
    if not ids:
        return page
    category_ids = {c.category_id for c in cases if c.category_id is not None}
    if category_ids:
        rows = await session.execute(
            select(Category.id, Category.code, Category.name).where(Category.id.in_(category_ids))
        )
        page.categories = {row.id: (row.code, row.name) for row in rows}
    await _departments(session, ids, page)
    await _deadlines(session, ids, page, now)
    await _replies(session, ids, page)
    await _people(session, cases, ids, page)
    await _adoptions(session, ids, page)
    return page


def _item(case: Case, deputy_id: int, page: _Page) -> DeskCase:
    relation = relation_of(case, deputy_id)
    category = page.categories.get(case.category_id) if case.category_id is not None else None
    is_suggestion = case.kind == CaseKind.deputy_suggestion
    author = (
        DeputyRef(deputy_id=case.deputy_id, name=page.authors.get(case.deputy_id, ""))
        if is_suggestion and case.deputy_id is not None
        else None
    )
    return DeskCase(
        id=case.id,
        tracking_no=case.tracking_no,
        kind=case.kind,
        kind_label=KIND_LABELS.get(case.kind, case.kind),
        relation=relation,
        relation_label=RELATION_LABELS[relation],
        status=case.status,
        status_label=STATUS_LABELS.get(case.status, case.status),
        title=case.title,
        summary=_summary(case),
        category_code=category[0] if category else None,
        category=category[1] if category else None,
        urgency=case.urgency,
        created_at=case.created_at,
        author=author,
        confidential=case.confidential,
        submitter=None if is_suggestion else submitter_of(case),
        departments=page.departments.get(case.id, []),
        deadlines=page.deadlines.get(case.id, []),
        replies=page.replies.get(case.id, []),
        cosigners=page.cosigners.get(case.id, []),
        adopted_from=page.adopted_from.get(case.id, []),
        adopted_by=page.adopted_by.get(case.id),
    )


async def desk_cases(
    session: AsyncSession, cases: Sequence[Case], deputy_id: int, *, now: datetime | None = None
) -> list[DeskCase]:
    page = await _read_page(session, cases, now or datetime.now(UTC))
    return [_item(case, deputy_id, page) for case in cases]


async def desk_case_detail(session: AsyncSession, case: Case, deputy_id: int) -> DeskCaseDetail:
    (item,) = await desk_cases(session, [case], deputy_id)
    public = await tracking.public_view(session, case)
    return DeskCaseDetail(
        **item.model_dump(),
        description=case.description,
        request_type=case.request_type,
        location_text=case.location_text,
        timeline=public.timeline,
    )


async def list_cases(
    session: AsyncSession,
    jurisdiction_id: int,
    deputy_id: int,
    filters: DeskCaseFilters,
    *,
    limit: int,
    before_id: int | None = None,
) -> list[DeskCase]:
    """GET /v1/deputy/cases: up to ``limit + 1`` of the deputy's cases, newest first."""
    cases = await queries.find_cases(
        session, jurisdiction_id, deputy_id, filters, limit=limit, before_id=before_id
    )
    return await desk_cases(session, cases, deputy_id)
