"""What the citizen's page says of a deputy suggestion that carries the case: a deputy adopted it, or it went
into a suggestion with its neighbours' as a hot spot (热点); and once the suggestion is answered, its
replies. Read by services.intake.tracking; nothing of the suggestion's text, nor of the other citizens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.labels import REPLY_CLASS_LABELS, STATUS_LABELS
from services.intake.schemas import PublicAdoption, PublicReply
from shared.db.enums import SuggestionSourceKind
from shared.db.models import Case, Department, Deputy, Reply, SuggestionSource

# The deputy's name is public (it is on the posters).
ADOPTED_TEXT = "{deputy}代表已将您反映的问题转为代表建议"
HOTSPOT_TEXT = "您反映的问题与另外 {neighbours} 位群众反映的问题一并形成代表建议"


async def _linked(
    session: AsyncSession, case: Case, kind: SuggestionSourceKind
) -> tuple[datetime, Case, str] | None:
    """The latest suggestion of the kind carrying the case, when it was linked, and its author's name."""
    row = (
        await session.execute(
            select(SuggestionSource.created_at, Case, Deputy.name)
            .join(Case, Case.id == SuggestionSource.suggestion_id)
            .join(Deputy, Deputy.id == Case.deputy_id)
            .where(
                SuggestionSource.case_id == case.id,
                SuggestionSource.kind == kind,
                Case.jurisdiction_id == case.jurisdiction_id,
            )
            .order_by(SuggestionSource.created_at.desc(), SuggestionSource.suggestion_id.desc())
            .limit(1)
        )
    ).first()
    return row._tuple() if row is not None else None


async def _replies(session: AsyncSession, suggestion: Case) -> list[PublicReply]:
    rows = (
        await session.execute(
            select(Reply, Department.name)
            .join(Department, Department.id == Reply.department_id)
            .where(Reply.case_id == suggestion.id)
            .order_by(Reply.id)
        )
    ).tuples()
    return [
        PublicReply(
            text=reply.text,
            reply_class=reply.reply_class,
            reply_class_label=REPLY_CLASS_LABELS.get(reply.reply_class, reply.reply_class),
            department=department,
            round=reply.round,
            at=reply.created_at,
        )
        for reply, department in rows
    ]


async def public_adoption(session: AsyncSession, case: Case) -> PublicAdoption | None:
    """For the citizen's page: who took the case up, and the suggestion's progress and replies."""
    found = await _linked(session, case, SuggestionSourceKind.adopted)
    if found is None:
        return None
    adopted_at, suggestion, deputy_name = found
    return PublicAdoption(
        note=ADOPTED_TEXT.format(deputy=deputy_name),
        deputy_name=deputy_name,
        at=adopted_at,
        suggestion_tracking_no=suggestion.tracking_no,
        suggestion_status=suggestion.status,
        suggestion_status_label=STATUS_LABELS.get(suggestion.status, suggestion.status),
        replies=await _replies(session, suggestion),
    )


async def public_hotspot_suggestion(session: AsyncSession, case: Case) -> PublicAdoption | None:
    """For the citizen's page: the suggestion a hot spot with this case became, with how many neighbours'
    cases it carries, its progress and replies."""
    found = await _linked(session, case, SuggestionSourceKind.hotspot)
    if found is None:
        return None
    linked_at, suggestion, deputy_name = found
    carried = await session.scalar(
        select(func.count()).where(
            SuggestionSource.suggestion_id == suggestion.id,
            SuggestionSource.kind == SuggestionSourceKind.hotspot,
        )
    )
    neighbours = max(int(carried or 1) - 1, 0)
    return PublicAdoption(
        kind="hotspot",
        note=HOTSPOT_TEXT.format(neighbours=neighbours),
        deputy_name=deputy_name,
        neighbours=neighbours,
        at=linked_at,
        suggestion_tracking_no=suggestion.tracking_no,
        suggestion_status=suggestion.status,
        suggestion_status_label=STATUS_LABELS.get(suggestion.status, suggestion.status),
        replies=await _replies(session, suggestion),
    )
