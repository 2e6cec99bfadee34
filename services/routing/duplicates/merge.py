"""并案: a dispatcher (or supervisor) merges a case into the main case that handles the same matter, and may
undo it within a day.

The merged case's assignments are withdrawn, not deleted: their prior states ride in the merge event's data,
which is what an unmerge restores from. Both cases are locked in id order, whichever the request names
first, so merges and unmerges touching the same cases wait for each other instead of deadlocking; every
check runs on the rows as they are once locked.

Refused: merging a case into itself (422); a case already answered, closed, rejected or merged (409); a
case that other cases were merged into, since merges do not chain (409: merge the other way instead); a main
case that is itself merged (409, naming its main case: merge there) or rejected (409). The main case may be
in any other state, closed included: the merged citizen then follows its reply.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing.duplicates.errors import (
    AlreadyMerged,
    CaseNotFound,
    HasDuplicates,
    MainCaseMerged,
    MainCaseNotFound,
    MainCaseRejected,
    MergeChanged,
    MergedCitizenRated,
    NotMergeable,
    NotMerged,
    UnmergeWindowClosed,
)
from services.routing.duplicates.schemas import MergedAssignment, MergeState
from services.workflow import Actor, mark_merged, mark_unmerged, reporters, withdraw
from shared.db.enums import AssignmentStatus, CaseStatus
from shared.db.models import Assignment, Case, CaseEvent, Feedback
from shared.errors import Unprocessable
from shared.security.apikeys import Principal

UNMERGE_WINDOW = timedelta(hours=24)
# The states the workflow lets a case be merged from (and unmerged back to).
MERGEABLE = frozenset({CaseStatus.received, CaseStatus.dispatched, CaseStatus.in_progress})
# Assignments still on the case; declined ones left already and keep their state.
WITHDRAWABLE = frozenset({AssignmentStatus.pending, AssignmentStatus.accepted, AssignmentStatus.replied})


def staff_actor(key: Principal) -> Actor:
    return Actor(key.role, key.key_id)


async def jurisdiction_case(session: AsyncSession, jurisdiction_id: int, case_id: int) -> Case:
    """The case if it is this jurisdiction's; any other id is a 404."""
    case = await session.scalar(
        select(Case).where(Case.id == case_id, Case.jurisdiction_id == jurisdiction_id)
    )
    if case is None:
        raise CaseNotFound()
    return case


async def _lock(session: AsyncSession, jurisdiction_id: int, case_id: int) -> Case | None:
    case: Case | None = await session.scalar(
        select(Case)
        .where(Case.id == case_id, Case.jurisdiction_id == jurisdiction_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return case


async def _lock_pair(
    session: AsyncSession, jurisdiction_id: int, case_id: int, main_id: int
) -> tuple[Case, Case]:
    """Both cases under their row locks, the lower id first; another jurisdiction's id is a 404."""
    locked: dict[int, Case] = {}
    for id_ in sorted({case_id, main_id}):
        row = await _lock(session, jurisdiction_id, id_)
        if row is None:
            raise CaseNotFound() if id_ == case_id else MainCaseNotFound()
        locked[id_] = row
    return locked[case_id], locked[main_id]


async def _lock_assignments(session: AsyncSession, case_id: int) -> list[Assignment]:
    rows = await session.execute(
        select(Assignment)
        .where(Assignment.case_id == case_id)
        .order_by(Assignment.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return list(rows.scalars().all())


async def _tracking_no(session: AsyncSession, case_id: int | None) -> str:
    found = await session.scalar(select(Case.tracking_no).where(Case.id == case_id)) if case_id else None
    return found or ""


async def _merged_into_count(session: AsyncSession, case_id: int) -> int:
    return int(await session.scalar(select(func.count()).where(Case.duplicate_of_id == case_id)) or 0)


async def _check_mergeable(session: AsyncSession, case: Case, into: Case) -> None:
    if case.status == CaseStatus.merged:
        raise AlreadyMerged(await _tracking_no(session, case.duplicate_of_id))
    if case.status not in MERGEABLE:
        raise NotMergeable(case.status)
    merged_into = await _merged_into_count(session, case.id)
    if merged_into:
        raise HasDuplicates(merged_into, into.tracking_no)
    if into.status == CaseStatus.merged:
        raise MainCaseMerged(into.tracking_no, await _tracking_no(session, into.duplicate_of_id))
    if into.status == CaseStatus.rejected:
        raise MainCaseRejected(into.tracking_no)


async def merge(session: AsyncSession, key: Principal, case: Case, into_case_id: int) -> MergeState:
    """Merges ``case`` into the main case ``into_case_id`` (both of the case's jurisdiction)."""
    if into_case_id == case.id:
        raise Unprocessable.field("into_case_id", "不能将事项并入其自身")
    case, into = await _lock_pair(session, case.jurisdiction_id, case.id, into_case_id)
    await _check_mergeable(session, case, into)
    taken = [a for a in await _lock_assignments(session, case.id) if a.status in WITHDRAWABLE]
    withdrawn = [
        {"id": a.id, "department_id": a.department_id, "role": a.role, "status": a.status} for a in taken
    ]
    event = await mark_merged(
        session, case, into, staff_actor(key), data={"withdrawn_assignments": withdrawn}
    )
    withdraw(taken, event.at)
    await session.flush()
    return await merge_state(session, case)


async def _merge_event(session: AsyncSession, case: Case) -> CaseEvent | None:
    event: CaseEvent | None = await session.scalar(
        select(CaseEvent)
        .where(CaseEvent.case_id == case.id, CaseEvent.type == "merged")
        .order_by(CaseEvent.id.desc())
        .limit(1)
    )
    return event


def _prior_states(event: CaseEvent | None) -> dict[int, str]:
    """Assignment id -> the state the merge took it from, as the merge event recorded it."""
    found: dict[int, str] = {}
    listed: Any = event.data.get("withdrawn_assignments") if event is not None else None
    for item in listed if isinstance(listed, list) else []:
        if isinstance(item, dict) and isinstance(item.get("id"), int) and item.get("status") in WITHDRAWABLE:
            found[item["id"]] = item["status"]
    return found


async def unmerge(session: AsyncSession, key: Principal, case: Case) -> MergeState:
    """Undoes the case's merge within ``UNMERGE_WINDOW`` of it: the case returns to the state it was merged
    from and its withdrawn assignments to theirs. Refused once the merged citizen rated the main case's
    reply, since that rating belongs to the merged handling."""
    main_id = await session.scalar(select(Case.duplicate_of_id).where(Case.id == case.id))
    if main_id is None:
        raise NotMerged()
    case, main = await _lock_pair(session, case.jurisdiction_id, case.id, main_id)
    if case.status != CaseStatus.merged or case.duplicate_of_id != main.id:
        raise MergeChanged()
    now = datetime.now(UTC)
    if case.merged_at is None or now - case.merged_at > UNMERGE_WINDOW:
        raise UnmergeWindowClosed()
    rated = await session.scalar(
        select(Feedback.id).where(Feedback.case_id == case.id, Feedback.created_at >= case.merged_at).limit(1)
    )
    if rated is not None:
        raise MergedCitizenRated()
    event = await _merge_event(session, case)
    prior = _prior_states(event)
    back_to = (
        CaseStatus(event.from_status) if event and event.from_status in MERGEABLE else CaseStatus.received
    )
    restored = []
    for a in await _lock_assignments(session, case.id):
        if a.status == AssignmentStatus.withdrawn and a.id in prior:
            a.status = prior[a.id]
            a.withdrawn_at = None
            a.updated_at = now
            restored.append({"id": a.id, "department_id": a.department_id, "status": a.status})
    await session.flush()
    await mark_unmerged(
        session, case, main, back_to, staff_actor(key), data={"restored_assignments": restored}
    )
    return await merge_state(session, case)


async def merge_state(session: AsyncSession, case: Case) -> MergeState:
    assignments = await session.execute(
        select(Assignment).where(Assignment.case_id == case.id).order_by(Assignment.id)
    )
    main_id = case.duplicate_of_id
    return MergeState(
        case_id=case.id,
        tracking_no=case.tracking_no,
        status=case.status,
        duplicate_of_id=main_id,
        duplicate_of_tracking_no=await _tracking_no(session, main_id) if main_id else None,
        merged_at=case.merged_at,
        unmerge_until=case.merged_at + UNMERGE_WINDOW if case.merged_at else None,
        main_reporters=await reporters(session, main_id or case.id),
        assignments=[
            MergedAssignment(id=a.id, department_id=a.department_id, role=a.role, status=a.status)
            for a in assignments.scalars()
        ],
    )
