"""Follow-ups (回头看): some weeks after a case closes, staff (or the deputy it came through) go back and ask
whether the problem is still solved; if it is not, the case goes back to its departments for rework.

A follow-up is created when supervision hears case.closed, for cases of a flagged category (its own flag or
its parent's) and for every case under key supervision, due ``follow_up_days`` (policy, default 30) after the
closing. One per closing: the unique (case, round) key makes a redelivered event, or a second worker, a no-op,
and a case reopened and closed again gets a new one if it still qualifies.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, false, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from services.supervision import deadlines
from services.supervision.errors import (
    FieldInvalid,
    FollowUpAlreadyRecorded,
    FollowUpMoot,
    FollowUpNotFound,
)
from services.supervision.schemas import Text
from services.workflow import Actor, change_status, record_event
from shared.db.enums import CaseStatus, FollowUpReason, FollowUpStatus, Role, SupervisionLevel
from shared.db.models import Case, Category, FollowUp, SupervisionSettings
from shared.security.apikeys import Principal

DEFAULT_FOLLOW_UP_DAYS = 30
REWORK_REASON = "follow_up"


def _single_line(value: str) -> str:
    if any(ch in value for ch in "\r\n\t"):
        raise ValueError("不能包含换行")
    return value


class FollowUpResultIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    still_solved: bool = Field(description="false sends the case back to its departments for rework")
    note: Text | None = Field(
        default=None, min_length=2, max_length=2000, description="What was found; required when not solved"
    )
    visited_by: Annotated[Text, AfterValidator(_single_line)] | None = Field(
        default=None, min_length=1, max_length=100, description="Who went to look"
    )


class FollowUpOut(BaseModel):
    id: int
    case_id: int
    tracking_no: str
    case_status: str
    round: int = Field(description="The case's rework round when it closed")
    reason: str = Field(description="category (its category asks for it) or key (key supervision)")
    due_at: datetime
    status: str = Field(description="pending, done, or cancelled (the case was reopened meanwhile)")
    still_solved: bool | None
    note: str | None
    visited_by: str | None
    recorded_by: dict[str, Any] | None = Field(description='{"type", "id"} of who recorded the result')
    deputy_id: int | None = Field(description="The deputy who recorded it, if a deputy did")
    done_at: datetime | None
    created_at: datetime


def _deputy_scope(principal: Principal) -> list[ColumnElement[bool]]:
    """A deputy's key reaches only the follow-ups of cases raised through the deputy's own codes."""
    return [Case.deputy_id == principal.deputy_id] if principal.role == Role.deputy else []


# --- creation ----------------------------------------------------------------------------------------------


async def _reason(session: AsyncSession, case: Case) -> FollowUpReason | None:
    if case.supervision_level == SupervisionLevel.key:
        return FollowUpReason.key
    if case.category_id is None:
        return None
    parent = aliased(Category)
    flagged = await session.scalar(
        select(or_(Category.follow_up, func.coalesce(parent.follow_up, false())))
        .outerjoin(parent, parent.id == Category.parent_id)
        .where(Category.id == case.category_id)
    )
    return FollowUpReason.category if flagged else None


async def create_on_close(session: AsyncSession, case: Case) -> bool:
    """The follow-up of the case's latest closing, if it qualifies and has none; tells whether one was made.
    Reads the case as it is now: a case already reopened (or not closed) gets none."""
    if case.status != CaseStatus.closed or case.closed_at is None:
        return False
    reason = await _reason(session, case)
    if reason is None:
        return False
    days = await session.scalar(
        select(SupervisionSettings.follow_up_days).where(
            SupervisionSettings.jurisdiction_id == case.jurisdiction_id
        )
    )
    due = case.closed_at + timedelta(days=DEFAULT_FOLLOW_UP_DAYS if days is None else days)
    result = await session.execute(
        pg_insert(FollowUp)
        .values(
            jurisdiction_id=case.jurisdiction_id,
            case_id=case.id,
            round=case.rework_round,
            reason=reason,
            due_at=due,
            status=FollowUpStatus.pending,
        )
        .on_conflict_do_nothing(index_elements=[FollowUp.case_id, FollowUp.round])
        .returning(FollowUp.id)
    )
    return result.first() is not None


async def cancel_superseded(session: AsyncSession, case: Case) -> int:
    """A case back in handling makes the revisit of an earlier closing moot."""
    result = await session.execute(
        update(FollowUp)
        .where(
            FollowUp.case_id == case.id,
            FollowUp.status == FollowUpStatus.pending,
            FollowUp.round < case.rework_round,
        )
        .values(status=FollowUpStatus.cancelled)
        .returning(FollowUp.id)
        .execution_options(synchronize_session=False)
    )
    return len(result.all())


# --- reading -----------------------------------------------------------------------------------------------


async def _views(session: AsyncSession, *where: ColumnElement[bool], limit: int) -> list[FollowUpOut]:
    rows = await session.execute(
        select(FollowUp, Case.tracking_no, Case.status)
        .join(Case, Case.id == FollowUp.case_id)
        .where(*where)
        .order_by(FollowUp.id)
        .limit(limit)
    )
    return [
        FollowUpOut(
            id=f.id,
            case_id=f.case_id,
            tracking_no=tracking_no,
            case_status=case_status,
            round=f.round,
            reason=f.reason,
            due_at=f.due_at,
            status=f.status,
            still_solved=f.still_solved,
            note=f.note,
            visited_by=f.visited_by,
            recorded_by=(
                {"type": f.recorded_by_type, "id": f.recorded_by_id} if f.recorded_by_type else None
            ),
            deputy_id=f.deputy_id,
            done_at=f.done_at,
            created_at=f.created_at,
        )
        for f, tracking_no, case_status in rows.tuples()
    ]


async def list_follow_ups(
    session: AsyncSession,
    principal: Principal,
    *,
    due_before: AwareDatetime | None,
    status: FollowUpStatus | None,
    limit: int,
    after_id: int | None,
) -> list[FollowUpOut]:
    """In the order they were made (which is the order they fall due while the policy stays the same);
    up to ``limit + 1`` so the caller can tell whether another page follows."""
    where = [FollowUp.jurisdiction_id == principal.jurisdiction_id, *_deputy_scope(principal)]
    if due_before is not None:
        where.append(FollowUp.due_at < due_before)
    if status is not None:
        where.append(FollowUp.status == status)
    if after_id is not None:
        where.append(FollowUp.id > after_id)
    return await _views(session, *where, limit=limit + 1)


async def get_follow_up(session: AsyncSession, principal: Principal, follow_up_id: int) -> FollowUp:
    """The follow-up within the key's reach: its jurisdiction, and for a deputy the cases raised through the
    deputy's codes; anything else is a 404."""
    follow_up = await session.scalar(
        select(FollowUp)
        .join(Case, Case.id == FollowUp.case_id)
        .where(
            FollowUp.id == follow_up_id,
            FollowUp.jurisdiction_id == principal.jurisdiction_id,
            *_deputy_scope(principal),
        )
    )
    if follow_up is None:
        raise FollowUpNotFound()
    return follow_up


async def follow_up_view(session: AsyncSession, follow_up: FollowUp) -> FollowUpOut:
    return (await _views(session, FollowUp.id == follow_up.id, limit=1))[0]


# --- the result --------------------------------------------------------------------------------------------


def _actor(principal: Principal) -> Actor:
    if principal.role == Role.deputy:
        return Actor("deputy", principal.deputy_id)
    return Actor(principal.role, principal.key_id)


async def record_result(
    session: AsyncSession, principal: Principal, follow_up: FollowUp, data: FollowUpResultIn
) -> FollowUpOut:
    """Records what the revisit found, once, with a public case.follow_up_recorded (the citizen sees 回头看).
    Not solved: the case goes from closed to rework (case.rework, reason follow_up), on which routing reopens
    the lead and separate departments' assignments; the rework reply deadlines are set here at once (the
    event, when it comes back, finds them). A deputy's record keeps the deputy for their duty points."""
    if not data.still_solved and not (data.note and data.note.strip()):
        # The department reworks the case from this note.
        raise FieldInvalid("note", "问题未解决时请说明发现的情况，承办单位将据此重新办理")
    # The case row first, as every writer of a case takes it; then the follow-up re-read under its lock.
    case = (
        await session.execute(
            select(Case)
            .where(Case.id == follow_up.case_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one()
    follow_up = (
        await session.execute(
            select(FollowUp)
            .where(FollowUp.id == follow_up.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one()
    if follow_up.status == FollowUpStatus.done:
        raise FollowUpAlreadyRecorded()
    if (
        follow_up.status != FollowUpStatus.pending
        or case.status != CaseStatus.closed
        or case.rework_round != follow_up.round
    ):
        raise FollowUpMoot()
    actor = _actor(principal)
    now = datetime.now(UTC)
    follow_up.status = FollowUpStatus.done
    follow_up.still_solved = data.still_solved
    follow_up.note = data.note
    follow_up.visited_by = data.visited_by
    follow_up.recorded_by_type = actor.type
    follow_up.recorded_by_id = actor.id
    follow_up.deputy_id = principal.deputy_id if principal.role == Role.deputy else None
    follow_up.done_at = now
    await session.flush()
    ids = {"follow_up_id": follow_up.id, "still_solved": data.still_solved}
    await record_event(
        session,
        case,
        "follow_up_recorded",
        actor,
        public=True,
        data={**ids, "note": data.note, "visited_by": data.visited_by},
        event_data=ids,
        at=now,
    )
    if not data.still_solved:
        rework = await change_status(
            session,
            case,
            CaseStatus.rework,
            "rework",
            actor,
            public=True,
            data={
                "reason": REWORK_REASON,
                "follow_up_id": follow_up.id,
                "round": case.rework_round + 1,
                "note": data.note,
            },
            event_data={"reason": REWORK_REASON, "follow_up_id": follow_up.id},
        )
        await deadlines.start_rework(session, case, rework.at)
    return await follow_up_view(session, follow_up)
