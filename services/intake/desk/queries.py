"""Which cases are a deputy's, found in SQL: those raised through the deputy's codes, the deputy's own
suggestions and the ones they co-signed, within the key's jurisdiction. Anything else is a 404."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import ColumnElement, and_, exists, not_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.desk.errors import DeputyKeyWithoutDeputy, DeskCaseNotFound
from services.intake.desk.schemas import DeskCaseFilters, DeskRelation
from shared.calendar import SHANGHAI
from shared.db.enums import CaseKind, DeadlineKind
from shared.db.models import Case, CaseCosigner, Deadline, Deputy
from shared.errors import Unprocessable

EARLIEST_YEAR, LATEST_YEAR = 1970, 2200


def _cosigned(deputy_id: int) -> ColumnElement[bool]:
    return Case.id.in_(select(CaseCosigner.case_id).where(CaseCosigner.deputy_id == deputy_id))


def visible_to(jurisdiction_id: int, deputy_id: int) -> ColumnElement[bool]:
    """The deputy's cases: ``cases.deputy_id`` is the deputy for both a case through their code and their
    own suggestion; a co-signed one has a ``case_cosigners`` row."""
    return and_(
        Case.jurisdiction_id == jurisdiction_id,
        or_(Case.deputy_id == deputy_id, _cosigned(deputy_id)),
    )


def _relation(relation: DeskRelation, deputy_id: int) -> ColumnElement[bool]:
    if relation == DeskRelation.through_code:
        return and_(Case.deputy_id == deputy_id, Case.kind == CaseKind.citizen)
    if relation == DeskRelation.authored:
        return and_(Case.deputy_id == deputy_id, Case.kind == CaseKind.deputy_suggestion)
    return _cosigned(deputy_id)


def reply_overdue(now: datetime) -> ColumnElement[bool]:
    """A reply deadline in force, not met, past due."""
    return exists().where(
        Deadline.case_id == Case.id,
        Deadline.kind == DeadlineKind.reply,
        Deadline.superseded_at.is_(None),
        Deadline.met_at.is_(None),
        Deadline.due_at < now,
    )


def _day_start(day: date) -> datetime:
    """The first moment of a day in Beijing time."""
    return datetime.combine(day, time.min, tzinfo=SHANGHAI).astimezone(UTC)


def _check_dates(filters: DeskCaseFilters) -> None:
    for field, day in (("from", filters.created_from), ("to", filters.created_to)):
        if day is not None and not EARLIEST_YEAR <= day.year <= LATEST_YEAR:
            raise Unprocessable.field(field, f"日期须在 {EARLIEST_YEAR} 至 {LATEST_YEAR} 年之间")


async def find_cases(
    session: AsyncSession,
    jurisdiction_id: int,
    deputy_id: int,
    filters: DeskCaseFilters,
    *,
    limit: int,
    before_id: int | None = None,
    now: datetime | None = None,
) -> list[Case]:
    """Up to ``limit + 1`` of the deputy's cases matching the filters, newest first."""
    _check_dates(filters)
    query = select(Case).where(visible_to(jurisdiction_id, deputy_id))
    if before_id is not None:
        query = query.where(Case.id < before_id)
    if filters.status is not None:
        query = query.where(Case.status == filters.status)
    if filters.kind is not None:
        query = query.where(Case.kind == filters.kind)
    if filters.relation is not None:
        query = query.where(_relation(filters.relation, deputy_id))
    if filters.created_from is not None:
        query = query.where(Case.created_at >= _day_start(filters.created_from))
    if filters.created_to is not None:
        query = query.where(Case.created_at < _day_start(filters.created_to + timedelta(days=1)))
    if filters.overdue is not None:
        overdue = reply_overdue(now or datetime.now(UTC))
        query = query.where(overdue if filters.overdue else not_(overdue))
    return list((await session.execute(query.order_by(Case.id.desc()).limit(limit + 1))).scalars())


async def get_case(
    session: AsyncSession, jurisdiction_id: int, deputy_id: int, case_id: int, *, for_update: bool = False
) -> Case:
    """One of the deputy's cases, or DeskCaseNotFound (404) for any other id."""
    query = select(Case).where(Case.id == case_id, visible_to(jurisdiction_id, deputy_id))
    if for_update:
        query = query.with_for_update(of=Case)
    case: Case | None = await session.scalar(query)
    if case is None:
        raise DeskCaseNotFound()
    return case


async def current_deputy(session: AsyncSession, jurisdiction_id: int, deputy_id: int | None) -> Deputy:
    """The deputy a deputy key speaks for (active or not: a former deputy still reads their desk)."""
    deputy = await session.get(Deputy, deputy_id) if deputy_id is not None else None
    if deputy is None or deputy.jurisdiction_id != jurisdiction_id:
        raise DeputyKeyWithoutDeputy()
    return deputy
