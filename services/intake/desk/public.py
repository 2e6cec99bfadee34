"""What the citizen's page says of an adopted case: the deputy took it up, and once the suggestion is
answered, its replies. Read by services.intake.tracking; nothing of the suggestion's text or its people."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.labels import REPLY_CLASS_LABELS, STATUS_LABELS
from services.intake.schemas import PublicAdoption, PublicReply
from shared.db.enums import SuggestionSourceKind
from shared.db.models import Case, Department, Deputy, Reply, SuggestionSource

# The deputy's name is public (it is on the posters).
ADOPTED_TEXT = "{deputy}代表已将您反映的问题转为代表建议"


async def public_adoption(session: AsyncSession, case: Case) -> PublicAdoption | None:
    """For the citizen's page: who took the case up, and the suggestion's progress and replies."""
    row = (
        await session.execute(
            select(SuggestionSource.created_at, Case, Deputy.name)
            .join(Case, Case.id == SuggestionSource.suggestion_id)
            .join(Deputy, Deputy.id == Case.deputy_id)
            .where(
                SuggestionSource.case_id == case.id,
                SuggestionSource.kind == SuggestionSourceKind.adopted,
                Case.jurisdiction_id == case.jurisdiction_id,
            )
        )
    ).first()
    if row is None:
        return None
    adopted_at, suggestion, deputy_name = row._tuple()
    replies = (
        await session.execute(
            select(Reply, Department.name)
            .join(Department, Department.id == Reply.department_id)
            .where(Reply.case_id == suggestion.id)
            .order_by(Reply.id)
        )
    ).tuples()
    return PublicAdoption(
        note=ADOPTED_TEXT.format(deputy=deputy_name),
        deputy_name=deputy_name,
        at=adopted_at,
        suggestion_tracking_no=suggestion.tracking_no,
        suggestion_status=suggestion.status,
        suggestion_status_label=STATUS_LABELS.get(suggestion.status, suggestion.status),
        replies=[
            PublicReply(
                text=reply.text,
                reply_class=reply.reply_class,
                reply_class_label=REPLY_CLASS_LABELS.get(reply.reply_class, reply.reply_class),
                department=department,
                round=reply.round,
                at=reply.created_at,
            )
            for reply, department in replies
        ],
    )
