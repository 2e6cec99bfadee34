"""A case merged into the main case that handles the same matter (并案): the state change both ways, how many
citizens the main case speaks for, and the merged citizen's rating of the main case's reply.

Routing decides what may be merged and takes the assignments off the merged case; this module only moves the
case and writes its events, like every other change of a case's state.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.workflow.actors import Actor
from services.workflow.errors import NotAwaitingRating
from services.workflow.service import change_status, record_event, store_feedback
from shared.db.enums import CaseStatus, Rating
from shared.db.models import Case, CaseEvent, Feedback

# What the merged citizen reads on the tracking page; a tracking number is all it says of the other case.
MERGED_TEXT = "您反映的问题已与编号 {tracking_no} 的事项合并办理"
UNMERGED_TEXT = "已撤销并案，您反映的问题恢复单独办理"
# The main case's reply can be rated by a merged citizen once it exists: while it waits for its own
# citizen's rating and after it closed.
RATABLE_MAIN = frozenset({CaseStatus.replied, CaseStatus.closed})


async def mark_merged(
    session: AsyncSession, case: Case, into: Case, actor: Actor, *, data: dict[str, Any]
) -> CaseEvent:
    """Moves ``case`` to merged, pointing at ``into``. The caller holds both row locks and has checked that
    the merge is allowed. ``data`` (staff-only details, e.g. the withdrawn assignments) joins the event.

    ``merged_at`` is the merge event's own time, so "superseded at the merge" reads back exactly."""
    event = await change_status(
        session,
        case,
        CaseStatus.merged,
        "merged",
        actor,
        public=True,
        data={
            **data,
            "into_case_id": into.id,
            "into_tracking_no": into.tracking_no,
            "text": MERGED_TEXT.format(tracking_no=into.tracking_no),
        },
        event_data={"into_case_id": into.id},
    )
    case.duplicate_of_id = into.id
    case.merged_at = event.at
    await session.flush()
    # The main case's own log says who joined it (staff only: the public count is reporters()).
    await record_event(
        session,
        into,
        "duplicate_merged",
        actor,
        data={"case_id": case.id, "tracking_no": case.tracking_no},
    )
    return event


async def mark_unmerged(
    session: AsyncSession,
    case: Case,
    main: Case,
    to_status: CaseStatus,
    actor: Actor,
    *,
    data: dict[str, Any],
) -> CaseEvent:
    """Undoes ``mark_merged``: the case goes back to ``to_status`` (the state it was merged from)."""
    event = await change_status(
        session,
        case,
        to_status,
        "unmerged",
        actor,
        public=True,
        data={**data, "main_case_id": main.id, "main_tracking_no": main.tracking_no, "text": UNMERGED_TEXT},
        event_data={"main_case_id": main.id},
    )
    case.duplicate_of_id = None
    case.merged_at = None
    await session.flush()
    await record_event(
        session,
        main,
        "duplicate_unmerged",
        actor,
        data={"case_id": case.id, "tracking_no": case.tracking_no},
    )
    return event


async def reporters(session: AsyncSession, case_id: int) -> int:
    """ "N 位群众反映": the case's own citizen plus one for each case merged into it."""
    merged = await session.scalar(select(func.count()).where(Case.duplicate_of_id == case_id))
    return 1 + int(merged or 0)


def main_awaits_rating(case: Case, main: Case) -> bool:
    """Whether the merged ``case`` may rate its main case's latest reply (once per reply round)."""
    return (
        case.status == CaseStatus.merged
        and case.duplicate_of_id == main.id
        and main.status in RATABLE_MAIN
        and main.replied_at is not None
    )


async def rate_merged(
    session: AsyncSession,
    case: Case,
    main: Case,
    *,
    source: str,
    rating: Rating,
    comment: str | None,
    actor: Actor,
) -> Feedback:
    """The merged citizen's rating of the main case's reply. Stored on the merged case with the main case's
    reply round; neither case changes state (the main case's own citizen decides on rework or closing).
    Load ``case`` under its row lock so two ratings at once cannot both pass the checks."""
    if not main_awaits_rating(case, main):
        raise NotAwaitingRating()
    return await store_feedback(
        session,
        case,
        source=source,
        rating=rating,
        comment=comment,
        round=main.rework_round,
        actor=actor,
        extra={"main_case_id": main.id},
    )
