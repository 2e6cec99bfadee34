"""The deadlines of a case and its assignments (签收, 退回, 答复, 会办意见, 评价), set and settled as the case moves.

Every function here looks at the case's current state rather than trusting the event that triggered it, and
writes with ON CONFLICT DO NOTHING / ``WHERE met_at IS NULL``, so a redelivered or late event changes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Update, and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.workflow.deadlines import compute_due, work_calendar
from shared.calendar import SHANGHAI, InvalidDuration, WorkCalendar
from shared.db.enums import (
    GONE_ASSIGNMENT_STATUSES,
    AssignmentRole,
    AssignmentStatus,
    CaseKind,
    CaseStatus,
    DeadlineKind,
)
from shared.db.models import Assignment, Case, CaseEvent, Category, Deadline, Reply

# The key of the deadline in force (unique index uq_deadlines_in_force, over rows not superseded): a superseded
# row, such as the reply deadline an approved extension replaced, stays beside the one now in force.
DEADLINE_KEY = ("case_id", "assignment_id", "kind", "round")
IN_FORCE = Deadline.superseded_at.is_(None)
# A co-handler's opinion is due this many working days before the lead's reply deadline.
CO_OPINION_LEAD_WORKING_DAYS = 5
FALLBACK_TIER = "week"
CO_OPINION_EVENT = "co_opinion"  # the case event routing records for a co-handler's opinion
ANSWERING_ROLES = (AssignmentRole.lead, AssignmentRole.separate)
# Assignments whose department no longer handles the case: declined, or withdrawn by a dispatcher.
GONE = GONE_ASSIGNMENT_STATUSES


# A deadline still running: neither met nor replaced by a later one.
_OPEN = and_(Deadline.met_at.is_(None), Deadline.superseded_at.is_(None))


def working_days_before(calendar: WorkCalendar, moment: datetime, count: int) -> datetime:
    """The same local clock time on the ``count``-th working day before ``moment``'s date, as UTC."""
    local = moment.astimezone(SHANGHAI)
    day = local.date()
    remaining = count
    for _ in range(count * 7 + 400):
        if remaining <= 0:
            break
        day -= timedelta(days=1)
        if calendar.is_workday(day):
            remaining -= 1
    if remaining > 0:
        raise InvalidDuration("no working day found within the search bound")
    return datetime.combine(day, local.timetz().replace(tzinfo=None), tzinfo=SHANGHAI).astimezone(UTC)


async def _insert(
    session: AsyncSession,
    case: Case,
    *,
    assignment_id: int | None,
    kind: DeadlineKind,
    round: int,
    tier: str | None,
    starts_at: datetime,
    due_at: datetime,
    met_at: datetime | None = None,
    assumed: bool = False,
) -> bool:
    row = _row(assignment_id, kind, round, tier, starts_at, due_at, met_at, assumed)
    return await _insert_many(session, case, [row]) == 1


def _row(
    assignment_id: int | None,
    kind: DeadlineKind,
    round: int,
    tier: str | None,
    starts_at: datetime,
    due_at: datetime,
    met_at: datetime | None = None,
    assumed: bool = False,
) -> dict[str, object]:
    """``assumed``: the due time counted days the calendar did not cover (loading that year recomputes it)."""
    return {
        "assignment_id": assignment_id,
        "kind": kind,
        "round": round,
        "tier": tier,
        "starts_at": starts_at,
        "due_at": due_at,
        "met_at": met_at,
        "assumed": assumed,
    }


async def _insert_many(session: AsyncSession, case: Case, rows: list[dict[str, object]]) -> int:
    """Adds the deadlines a case does not have yet, in one statement; returns how many were added."""
    if not rows:
        return 0
    owner = {"jurisdiction_id": case.jurisdiction_id, "case_id": case.id}
    result = await session.execute(
        pg_insert(Deadline)
        .values([{**owner, **row} for row in rows])
        .on_conflict_do_nothing(index_elements=DEADLINE_KEY, index_where=IN_FORCE)
        .returning(Deadline.id)
    )
    return len(result.all())


async def _reply_due(
    session: AsyncSession, case: Case, start: datetime, calendar: WorkCalendar
) -> tuple[str, datetime, bool]:
    """The tier a case's reply is counted on, its due time and whether that counted assumed days: the case's
    tier, else what its kind or category implies, else the week tier (a tier the jurisdiction has no policy
    for falls through)."""
    candidates: list[str] = []
    if case.tier:
        candidates.append(case.tier)
    if case.kind == CaseKind.deputy_suggestion:
        candidates.append("deputy_suggestion")
    if case.category_id is not None:
        default_tier = await _category_tier(session, case.category_id)
        if default_tier:
            candidates.append(default_tier)
    candidates.append(FALLBACK_TIER)
    for tier in candidates:
        counting = calendar.counting()
        due = await compute_due(session, case.jurisdiction_id, start, tier, calendar=counting)
        if due is not None:
            return tier, due, bool(counting.assumed_days)
    raise InvalidDuration(f"no policy for tier {FALLBACK_TIER}")


async def _category_tier(session: AsyncSession, category_id: int) -> str | None:
    # Read once per session: a batch of events shares one, and categories change only through routing's
    # admin requests, never inside a batch.
    tiers: dict[int, str | None] = session.info.setdefault("minyi.category_tiers", {})
    if category_id not in tiers:
        tiers[category_id] = await session.scalar(
            select(Category.default_tier).where(Category.id == category_id)
        )
    return tiers[category_id]


async def _window_due(
    session: AsyncSession, case: Case, start: datetime, tier: str, calendar: WorkCalendar
) -> tuple[datetime, bool]:
    """The due time of a window and whether it counted days the calendar did not cover."""
    counting = calendar.counting()
    due = await compute_due(session, case.jurisdiction_id, start, tier, calendar=counting)
    if due is None:
        raise InvalidDuration(f"no policy for tier {tier}")
    return due, bool(counting.assumed_days)


async def _count(session: AsyncSession, statement: Update) -> int:
    """Runs an UPDATE of deadlines and tells how many rows it changed."""
    result = await session.execute(statement.returning(Deadline.id))
    return len(result.all())


async def _assignments(session: AsyncSession, case: Case) -> list[Assignment]:
    rows = await session.execute(
        select(Assignment).where(Assignment.case_id == case.id).order_by(Assignment.id)
    )
    return list(rows.scalars().all())


async def case_assignments(session: AsyncSession, case: Case) -> list[Assignment]:
    """All the case's assignments as they are now, declined ones included."""
    return await _assignments(session, case)


async def ensure_dispatch_deadlines(
    session: AsyncSession, case: Case, all_assignments: list[Assignment] | None = None
) -> int:
    """Accept and decline windows for every live assignment, a reply deadline for each lead and separate
    department, and the co-handlers' opinion deadlines; only what is missing. Returns how many were added.
    ``all_assignments``: the case's assignments, when the caller has just read them."""
    if all_assignments is None:
        all_assignments = await _assignments(session, case)
    assignments = [a for a in all_assignments if a.status not in GONE]
    if not assignments:
        return 0
    existing = await session.execute(
        select(Deadline.assignment_id, Deadline.kind).where(
            Deadline.case_id == case.id, Deadline.assignment_id.is_not(None)
        )
    )
    have = {(assignment_id, kind) for assignment_id, kind in existing}
    calendar = await work_calendar(session, case.jurisdiction_id)
    rows: list[dict[str, object]] = []
    for assignment in assignments:
        start = assignment.dispatched_at
        for window in (DeadlineKind.accept, DeadlineKind.decline):
            if (assignment.id, window) not in have:
                due, assumed = await _window_due(session, case, start, window.value, calendar)
                # Accepting settles both windows (see settle_accepted).
                met_at = assignment.accepted_at
                rows.append(_row(assignment.id, window, 0, window.value, start, due, met_at, assumed))
        if assignment.role in ANSWERING_ROLES and (assignment.id, DeadlineKind.reply) not in have:
            tier, due, assumed = await _reply_due(session, case, start, calendar)
            rows.append(
                _row(assignment.id, DeadlineKind.reply, case.rework_round, tier, start, due, assumed=assumed)
            )
    created = await _insert_many(session, case, rows)
    created += await _ensure_co_opinions(session, case, assignments, have, calendar)
    if case.rework_round or any(a.replied_at is not None for a in all_assignments):
        # A reply that came before this event. In round 0 a reply leaves replied_at set (only a rework
        # clears it), so without one there is nothing to settle.
        await settle_replies(session, case)
    await session.flush()
    return created


async def _ensure_co_opinions(
    session: AsyncSession,
    case: Case,
    assignments: list[Assignment],
    have: set[tuple[int | None, str]],
    calendar: WorkCalendar,
) -> int:
    co_handlers = [a for a in assignments if a.role == AssignmentRole.co]
    if not co_handlers:
        return 0
    lead = await lead_reply_deadline(session, case.id)
    if lead is None:
        return 0
    lead_due, lead_assumed = lead
    created = 0
    for co in co_handlers:
        due, assumed = co_opinion_due(calendar, lead_due, lead_assumed, co.dispatched_at)
        if (co.id, DeadlineKind.co_opinion) not in have:
            created += await _insert(
                session,
                case,
                assignment_id=co.id,
                kind=DeadlineKind.co_opinion,
                round=case.rework_round,
                tier=None,
                starts_at=co.dispatched_at,
                due_at=due,
                assumed=assumed,
            )
        else:
            # The lead changed (declined and redispatched): an open opinion deadline follows the new lead.
            await session.execute(
                update(Deadline)
                .where(
                    Deadline.assignment_id == co.id,
                    Deadline.kind == DeadlineKind.co_opinion,
                    _OPEN,
                    or_(Deadline.due_at != due, Deadline.assumed != assumed),
                )
                .values(due_at=due, assumed=assumed)
                .execution_options(synchronize_session=False)
            )
    return created


async def lead_reply_deadline(session: AsyncSession, case_id: int) -> tuple[datetime, bool] | None:
    """The lead department's current reply deadline (due time, assumed), which co-handlers' opinions follow."""
    row = (
        await session.execute(
            select(Deadline.due_at, Deadline.assumed)
            .join(Assignment, Assignment.id == Deadline.assignment_id)
            .where(
                Deadline.case_id == case_id,
                Deadline.kind == DeadlineKind.reply,
                Deadline.superseded_at.is_(None),
                Assignment.role == AssignmentRole.lead,
                Assignment.status.not_in(GONE),
            )
            .order_by(Deadline.round.desc(), Deadline.id)
            .limit(1)
        )
    ).first()
    return None if row is None else (row.due_at, row.assumed)


def co_opinion_due(
    calendar: WorkCalendar, lead_due: datetime, lead_assumed: bool, dispatched_at: datetime
) -> tuple[datetime, bool]:
    """A co-handler's opinion deadline, never before its dispatch, and whether it rests on assumed days (its
    own count or the lead's deadline)."""
    counting = calendar.counting()
    due = max(working_days_before(counting, lead_due, CO_OPINION_LEAD_WORKING_DAYS), dispatched_at)
    return due, lead_assumed or bool(counting.assumed_days)


async def settle_accepted(session: AsyncSession, case: Case) -> int:
    """Marks the accept deadline and the decline window of every assignment that has been accepted as met,
    at its acceptance.

    A unit that accepted has stopped deciding whether the case is its own, so its decline window no longer
    waits for anything (routing still lets it decline until the window's due time): only a unit still
    pending when the window ends is overdue on it.
    """
    return await _count(
        session,
        update(Deadline)
        .where(
            Deadline.case_id == case.id,
            Deadline.assignment_id == Assignment.id,
            Deadline.kind.in_((DeadlineKind.accept, DeadlineKind.decline)),
            _OPEN,
            Assignment.accepted_at.is_not(None),
        )
        .values(met_at=Assignment.accepted_at)
        .execution_options(synchronize_session=False),
    )


async def supersede_declined(session: AsyncSession, case: Case, at: datetime) -> int:
    """A department that declined (or was withdrawn) drops out of the case, and so do its open deadlines
    (its decline window included: no alarm is raised on a unit that left)."""
    declined = select(Assignment.id).where(Assignment.case_id == case.id, Assignment.status.in_(GONE))
    return await _count(
        session,
        update(Deadline)
        .where(
            Deadline.assignment_id.in_(declined),
            _OPEN,
        )
        .values(superseded_at=at)
        .execution_options(synchronize_session=False),
    )


async def settle_replies(session: AsyncSession, case: Case) -> int:
    """Reply deadlines are met by the department's first reply of that round.

    The replies table is the record that lasts (routing clears ``replied_at`` when it reopens an assignment
    for rework, possibly before this runs); an assignment marked replied without one counts for the
    current round.
    """
    first_reply = (
        select(func.min(Reply.created_at))
        .where(Reply.assignment_id == Deadline.assignment_id, Reply.round == Deadline.round)
        .scalar_subquery()
    )
    settled = await _count(
        session,
        update(Deadline)
        .where(
            Deadline.case_id == case.id,
            Deadline.kind == DeadlineKind.reply,
            _OPEN,
            first_reply.is_not(None),
        )
        .values(met_at=first_reply)
        .execution_options(synchronize_session=False),
    )
    return settled + await _count(
        session,
        update(Deadline)
        .where(
            Deadline.case_id == case.id,
            Deadline.assignment_id == Assignment.id,
            Deadline.kind == DeadlineKind.reply,
            Deadline.round == case.rework_round,
            _OPEN,
            Assignment.status == AssignmentStatus.replied,
            Assignment.replied_at.is_not(None),
            Assignment.replied_at >= Deadline.starts_at,
        )
        .values(met_at=Assignment.replied_at)
        .execution_options(synchronize_session=False),
    )


async def settle_co_opinions(session: AsyncSession, case: Case) -> int:
    """Co-handlers' opinion deadlines are met by their first opinion since the deadline started.

    Opinions are internal and raise no event; routing logs each as a ``co_opinion`` case event by the
    department, which is read here whenever another event of the case arrives.
    """
    first_opinion = (
        select(func.min(CaseEvent.at))
        .where(
            CaseEvent.case_id == Deadline.case_id,
            CaseEvent.type == CO_OPINION_EVENT,
            CaseEvent.actor_type == "department",
            CaseEvent.actor_id == Assignment.department_id,
            CaseEvent.at >= Deadline.starts_at,
        )
        .scalar_subquery()
    )
    return await _count(
        session,
        update(Deadline)
        .where(
            Deadline.case_id == case.id,
            Deadline.assignment_id == Assignment.id,
            Deadline.kind == DeadlineKind.co_opinion,
            _OPEN,
            first_opinion.is_not(None),
        )
        .values(met_at=first_opinion)
        .execution_options(synchronize_session=False),
    )


async def open_rating_window(session: AsyncSession, case: Case) -> bool:
    """The case-level window for the citizen or deputy to rate the current round's reply."""
    if case.replied_at is None or case.status not in (CaseStatus.replied, CaseStatus.closed):
        return False
    calendar = await work_calendar(session, case.jurisdiction_id)
    met_at = case.closed_at if case.status == CaseStatus.closed else None
    due, assumed = await _window_due(session, case, case.replied_at, "rating", calendar)
    return await _insert(
        session,
        case,
        assignment_id=None,
        kind=DeadlineKind.rating,
        round=case.rework_round,
        tier="rating",
        starts_at=case.replied_at,
        due_at=due,
        met_at=met_at,
        assumed=assumed,
    )


def rework_tier(case: Case) -> str:
    """A deputy suggestion is reworked on its own tier (a jurisdiction may allow 2 months instead of 1)."""
    return "suggestion_rework" if case.kind == CaseKind.deputy_suggestion else "rework"


async def start_rework(session: AsyncSession, case: Case, at: datetime) -> int:
    """Dissatisfied: the rating window is void and lead and separate departments answer again, counted
    from the moment the case went to rework on the rework tier (rework_tier)."""
    await session.execute(
        update(Deadline)
        .where(
            Deadline.case_id == case.id,
            Deadline.kind == DeadlineKind.rating,
            _OPEN,
        )
        .values(superseded_at=at)
        .execution_options(synchronize_session=False)
    )
    calendar = await work_calendar(session, case.jurisdiction_id)
    tier = rework_tier(case)
    due, assumed = await _window_due(session, case, at, tier, calendar)
    created = 0
    for assignment in await _assignments(session, case):
        if assignment.status in GONE or assignment.role not in ANSWERING_ROLES:
            continue
        created += await _insert(
            session,
            case,
            assignment_id=assignment.id,
            kind=DeadlineKind.reply,
            round=case.rework_round,
            tier=tier,
            starts_at=at,
            due_at=due,
            assumed=assumed,
        )
    await settle_replies(session, case)  # a reply that came before this event
    await session.flush()
    return created


async def close_rating_window(session: AsyncSession, case: Case, at: datetime) -> int:
    """Closing ends the rating window, rated or not."""
    return await _count(
        session,
        update(Deadline)
        .where(
            Deadline.case_id == case.id,
            Deadline.kind == DeadlineKind.rating,
            _OPEN,
        )
        .values(met_at=case.closed_at or at)
        .execution_options(synchronize_session=False),
    )
