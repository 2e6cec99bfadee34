"""The escalation ladder (催办 reminder, 督办 formal, 重点督办 key): changing a case's level, its history, and
the list of the watched cases.

Every change, automatic or manual, goes through ``change_level``: the case's columns, a history row and a
``case.supervision_changed`` event in the caller's transaction, so the three never disagree.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.supervision.deadlines import GONE
from services.supervision.errors import CaseNotSupervisable, FieldInvalid, LeadSupervisorRequired
from services.supervision.oversight_schemas import (
    OpenDeadline,
    SupervisedCase,
    SupervisedDepartment,
    SupervisionChangeOut,
)
from services.workflow import SYSTEM, Actor, record_event
from services.workflow.oversight import supervision_views
from shared.db.enums import CaseStatus, SupervisionLevel, SupervisionSource
from shared.db.models import Assignment, Case, Category, Deadline, Department, SupervisionChange

__all__ = ["LEVEL_RANK", "change_level", "change_out", "escalate", "history", "list_supervised"]

# Higher is stronger. The alarm scan only ever moves a case up; a supervisor may set any level.
LEVEL_RANK: dict[str, int] = {
    SupervisionLevel.reminder: 1,
    SupervisionLevel.formal: 2,
    SupervisionLevel.key: 3,
}
SOURCES = frozenset(source.value for source in SupervisionSource)
# Cases out of handling: nothing left for a department to do, so nothing to supervise.
UNSUPERVISABLE = (CaseStatus.merged, CaseStatus.rejected)
MAX_LEAD_SUPERVISOR = 50
MAX_NOTE = 2000


def rank(level: str | None) -> int:
    return LEVEL_RANK.get(level or "", 0)


async def change_level(
    session: AsyncSession,
    case: Case,
    *,
    level: str,
    lead_supervisor: str | None,
    note: str | None,
    actor: Actor,
    source: str,
) -> SupervisionChange:
    """Puts the case at ``level`` and keeps the change as history, with ``case.supervision_changed``.

    ``key`` needs a lead supervisor (a named congress leader). A manual change sets the lead supervisor
    given (none clears it); an automatic one keeps the case's. The case row is locked first, as every
    writer of a case does, so two changes at once are kept in the order they happened.
    """
    if level not in LEVEL_RANK:
        raise FieldInvalid("level", f"未知的督办级别“{level}”，应为 reminder、formal 或 key")
    if source not in SOURCES:
        raise ValueError(f"unknown supervision source {source!r}")
    lead_supervisor = (lead_supervisor or "").strip() or None
    if lead_supervisor is not None and len(lead_supervisor) > MAX_LEAD_SUPERVISOR:
        raise FieldInvalid("lead_supervisor", f"领衔督办人姓名最多 {MAX_LEAD_SUPERVISOR} 个字")
    if note is not None and len(note) > MAX_NOTE:
        raise FieldInvalid("note", f"说明最多 {MAX_NOTE} 个字")
    await session.flush()
    await session.execute(
        select(Case).where(Case.id == case.id).with_for_update().execution_options(populate_existing=True)
    )
    if source == SupervisionSource.auto:
        lead_supervisor = lead_supervisor or case.lead_supervisor
    if level == SupervisionLevel.key and lead_supervisor is None:
        raise LeadSupervisorRequired()
    if case.status in UNSUPERVISABLE:
        raise CaseNotSupervisable()
    previous = case.supervision_level
    case.supervision_level = level
    case.lead_supervisor = lead_supervisor
    change = SupervisionChange(
        jurisdiction_id=case.jurisdiction_id,
        case_id=case.id,
        level=level,
        previous_level=previous,
        lead_supervisor=lead_supervisor,
        note=note,
        source=source,
        actor_type=actor.type,
        actor_id=actor.id,
        created_at=datetime.now(UTC),
    )
    session.add(change)
    await session.flush()
    facts = {
        "supervision_change_id": change.id,
        "level": level,
        "previous_level": previous,
        "lead_supervisor": lead_supervisor,
        "source": source,
    }
    # The note stays in the case's own log (staff read it there); events carry no free text.
    await record_event(
        session,
        case,
        "supervision_changed",
        actor,
        data={**facts, "note": note},
        event_data=facts,
        at=change.created_at,
    )
    return change


async def escalate(
    session: AsyncSession, case: Case, level: SupervisionLevel, note: str
) -> SupervisionChange | None:
    """The automatic step: to ``level`` unless the case already stands there or higher."""
    if rank(case.supervision_level) >= rank(level) or case.status in UNSUPERVISABLE:
        return None
    return await change_level(
        session,
        case,
        level=level,
        lead_supervisor=None,
        note=note,
        actor=SYSTEM,
        source=SupervisionSource.auto,
    )


def change_out(row: SupervisionChange) -> SupervisionChangeOut:
    return SupervisionChangeOut(
        id=row.id,
        case_id=row.case_id,
        level=row.level,
        previous_level=row.previous_level,
        lead_supervisor=row.lead_supervisor,
        note=row.note,
        source=row.source,
        actor={"type": row.actor_type, "id": row.actor_id},
        created_at=row.created_at,
    )


async def history(session: AsyncSession, case: Case) -> list[SupervisionChangeOut]:
    rows = await session.scalars(
        select(SupervisionChange).where(SupervisionChange.case_id == case.id).order_by(SupervisionChange.id)
    )
    return [change_out(row) for row in rows]


async def list_supervised(
    session: AsyncSession,
    jurisdiction_id: int,
    *,
    level: str | None,
    lead_supervisor: str | None,
    limit: int,
    before_id: int | None,
    now: datetime | None = None,
) -> list[SupervisedCase]:
    """The jurisdiction's watched cases, newest first, with their departments and open deadlines; up to
    ``limit + 1`` so the caller can tell whether another page follows."""
    query = (
        select(
            Case.id,
            Case.tracking_no,
            Case.status,
            Category.code,
            Case.supervision_level,
            Case.lead_supervisor,
        )
        .outerjoin(Category, Category.id == Case.category_id)
        .where(Case.jurisdiction_id == jurisdiction_id, Case.supervision_level.is_not(None))
    )
    if level is not None:
        query = query.where(Case.supervision_level == level)
    if lead_supervisor is not None:
        query = query.where(Case.lead_supervisor == lead_supervisor.strip())
    if before_id is not None:
        query = query.where(Case.id < before_id)
    rows = (await session.execute(query.order_by(Case.id.desc()).limit(limit + 1))).all()
    ids = [row.id for row in rows]
    views = await supervision_views(session, [(r.id, r.supervision_level, r.lead_supervisor) for r in rows])
    departments = await _departments(session, ids)
    deadlines = await _open_deadlines(session, ids, now or datetime.now(UTC))
    return [
        SupervisedCase(
            id=row.id,
            tracking_no=row.tracking_no,
            status=row.status,
            category_code=row.code,
            level=row.supervision_level,
            lead_supervisor=row.lead_supervisor,
            since=views[row.id].since,
            departments=departments.get(row.id, []),
            deadlines=deadlines.get(row.id, []),
        )
        for row in rows
    ]


async def _departments(session: AsyncSession, case_ids: list[int]) -> dict[int, list[SupervisedDepartment]]:
    if not case_ids:
        return {}
    rows = await session.execute(
        select(Assignment, Department.name)
        .join(Department, Department.id == Assignment.department_id)
        .where(Assignment.case_id.in_(case_ids), Assignment.status.not_in(GONE))
        .order_by(Assignment.id)
    )
    found: dict[int, list[SupervisedDepartment]] = defaultdict(list)
    for assignment, name in rows.tuples():
        found[assignment.case_id].append(
            SupervisedDepartment(
                assignment_id=assignment.id,
                department_id=assignment.department_id,
                name=name,
                role=assignment.role,
                status=assignment.status,
            )
        )
    return found


async def _open_deadlines(
    session: AsyncSession, case_ids: list[int], now: datetime
) -> dict[int, list[OpenDeadline]]:
    if not case_ids:
        return {}
    rows = await session.scalars(
        select(Deadline)
        .where(
            Deadline.case_id.in_(case_ids),
            Deadline.met_at.is_(None),
            Deadline.superseded_at.is_(None),
        )
        .order_by(Deadline.due_at, Deadline.id)
    )
    found: dict[int, list[OpenDeadline]] = defaultdict(list)
    for d in rows:
        found[d.case_id].append(
            OpenDeadline(
                id=d.id,
                kind=d.kind,
                assignment_id=d.assignment_id,
                round=d.round,
                due_at=d.due_at,
                overdue=d.due_at <= now,
            )
        )
    return found
