"""Consultations (面商/沟通): how the department answering a deputy suggestion consulted the deputy before its
reply — face to face (面商), by phone (电话) or in writing (书面). Kept per assignment; each is also a line in
the case's log (``consulted``, for staff and the department; not an outbound event).

A jurisdiction may require one (routing settings ``require_consultation``): then a lead or separate
department's reply to a suggestion is refused until that department has recorded a consultation.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing.desk.settings import dispatch_settings
from services.routing.errors import (
    AssignmentNotFound,
    AssignmentStateConflict,
    CaseNotActive,
    ConsultationRequired,
    NotSuggestionAnswerer,
)
from services.routing.repository import lock_assignment, lock_case
from services.routing.rules import ANSWERING_ROLES
from services.routing.schemas import NoteText
from services.workflow import Actor, record_event
from shared.calendar import SHANGHAI
from shared.db.enums import GONE_ASSIGNMENT_STATUSES, CaseKind, CaseStatus, ConsultationMode
from shared.db.ids import DbId
from shared.db.models import Assignment, Case, CaseCosigner, Consultation, Deputy
from shared.errors import Unprocessable

MODE_LABELS = {
    ConsultationMode.face: "面商",
    ConsultationMode.phone: "电话",
    ConsultationMode.written: "书面",
}
# A consultation is recorded while the suggestion is being handled, replied or reworked (not once closed).
_OPEN_CASE_STATUSES = frozenset(
    {CaseStatus.dispatched, CaseStatus.in_progress, CaseStatus.replied, CaseStatus.rework}
)


def _sane_date(value: date) -> date:
    if not 2000 <= value.year <= 2200:
        raise ValueError("日期须在 2000 至 2200 年之间")
    return value


class ConsultationIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    held_on: Annotated[date, AfterValidator(_sane_date)] = Field(
        description="The day the deputy was consulted (not in the future, not before the suggestion was made)"
    )
    mode: ConsultationMode = Field(description="face 面商, phone 电话 or written 书面")
    note: NoteText | None = Field(None, description="What was discussed and agreed")
    deputy_id: DbId | None = Field(
        None, description="The deputy consulted: the suggestion's author (default) or one of its co-signers"
    )


class ConsultationView(BaseModel):
    id: int
    case_id: int
    assignment_id: int
    department_id: int
    deputy_id: int | None
    deputy_name: str | None
    held_on: date
    mode: str
    mode_label: str
    note: str | None
    created_at: datetime


def _view(row: Consultation, deputy_name: str | None) -> ConsultationView:
    return ConsultationView(
        id=row.id,
        case_id=row.case_id,
        assignment_id=row.assignment_id,
        department_id=row.department_id,
        deputy_id=row.deputy_id,
        deputy_name=deputy_name,
        held_on=row.held_on,
        mode=row.mode,
        mode_label=MODE_LABELS.get(ConsultationMode(row.mode), row.mode),
        note=row.note,
        created_at=row.created_at,
    )


def _answers_suggestion(case: Case, assignment: Assignment) -> bool:
    return case.kind == CaseKind.deputy_suggestion and assignment.role in ANSWERING_ROLES


async def _deputy_of_suggestion(session: AsyncSession, case: Case, deputy_id: int | None) -> int | None:
    """The deputy consulted: the author unless named; a named one must be the author or a co-signer."""
    if deputy_id is None or deputy_id == case.deputy_id:
        return case.deputy_id
    cosigned = await session.scalar(
        select(exists().where(CaseCosigner.case_id == case.id, CaseCosigner.deputy_id == deputy_id))
    )
    if not cosigned:
        raise Unprocessable.field("deputy_id", "该代表不是本建议的提出代表或联名代表")
    return deputy_id


def _check_held_on(case: Case, held_on: date) -> None:
    today = datetime.now(SHANGHAI).date()
    if held_on > today:
        raise Unprocessable.field("held_on", "沟通日期不能晚于今天")
    made_on = case.created_at.astimezone(SHANGHAI).date()
    if held_on < made_on:
        raise Unprocessable.field("held_on", f"沟通日期不能早于建议提出之日（{made_on.isoformat()}）")


async def record_consultation(
    session: AsyncSession, assignment: Assignment, data: ConsultationIn
) -> ConsultationView:
    """By the lead or a separate department of a deputy suggestion (422 for any other case or role), while
    the suggestion is open (409 once closed, or for a department that declined or was withdrawn)."""
    case = await lock_case(session, assignment.case_id)
    if case is None:  # the foreign key rules this out; kept for the type checker
        raise CaseNotActive()
    a = await lock_assignment(session, assignment.id)
    if not _answers_suggestion(case, a):
        raise NotSuggestionAnswerer()
    if case.status not in _OPEN_CASE_STATUSES:
        raise CaseNotActive()
    if a.status in GONE_ASSIGNMENT_STATUSES:
        raise AssignmentStateConflict(a.status, "登记与代表的沟通")
    _check_held_on(case, data.held_on)
    deputy_id = await _deputy_of_suggestion(session, case, data.deputy_id)
    now = datetime.now(UTC)
    row = Consultation(
        jurisdiction_id=case.jurisdiction_id,
        case_id=case.id,
        assignment_id=a.id,
        department_id=a.department_id,
        deputy_id=deputy_id,
        held_on=data.held_on,
        mode=data.mode,
        note=data.note,
        created_at=now,
    )
    session.add(row)
    a.updated_at = now
    await session.flush()
    await record_event(
        session,
        case,
        "consulted",
        Actor("department", a.department_id),
        public=False,
        data={
            "consultation_id": row.id,
            "assignment_id": a.id,
            "department_id": a.department_id,
            "deputy_id": deputy_id,
            "held_on": data.held_on.isoformat(),
            "mode": data.mode,
            "note": data.note,
        },
        at=now,
    )
    name = await session.scalar(select(Deputy.name).where(Deputy.id == deputy_id)) if deputy_id else None
    return _view(row, name)


async def assignment_in_jurisdiction(
    session: AsyncSession, jurisdiction_id: int, assignment_id: int
) -> Assignment:
    """Any assignment of the jurisdiction, for staff who read across departments; else a 404."""
    assignment = await session.scalar(
        select(Assignment).where(
            Assignment.id == assignment_id, Assignment.jurisdiction_id == jurisdiction_id
        )
    )
    if assignment is None:
        raise AssignmentNotFound()
    return assignment


async def list_consultations(
    session: AsyncSession, assignment: Assignment, *, limit: int, after_id: int | None
) -> list[ConsultationView]:
    """The assignment's consultations, newest first; up to ``limit + 1`` so the caller can tell if more
    follow."""
    query = (
        select(Consultation, Deputy.name)
        .outerjoin(Deputy, Deputy.id == Consultation.deputy_id)
        .where(Consultation.assignment_id == assignment.id)
    )
    if after_id is not None:
        query = query.where(Consultation.id < after_id)
    rows = await session.execute(query.order_by(Consultation.id.desc()).limit(limit + 1))
    return [_view(row, name) for row, name in rows.tuples()]


async def ensure_consulted(session: AsyncSession, case: Case, assignment: Assignment) -> None:
    """Before a reply (the caller holds the case's row lock): under the jurisdiction's require_consultation
    policy, a department answering a deputy suggestion must have recorded a consultation on its assignment
    (in any round). Citizens' cases and co-handlers are never held."""
    if not _answers_suggestion(case, assignment):
        return
    if not (await dispatch_settings(session, case.jurisdiction_id)).require_consultation:
        return
    consulted = await session.scalar(select(exists().where(Consultation.assignment_id == assignment.id)))
    if not consulted:
        raise ConsultationRequired()
