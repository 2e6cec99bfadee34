"""Adopting (转为代表建议) a citizen's case raised through the deputy's own code: a suggestion linked to the
case (suggestion_sources, kind adopted), a public ``adopted`` event on the citizen's case (``case.adopted``),
and on the citizen's page the news that the deputy took it up and, once answered, the suggestion's replies.
The citizen's case keeps its own life: it is handled, replied and rated as before."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.desk.errors import CaseAlreadyAdopted, CaseNotAdoptable, DeskCaseNotFound
from services.intake.desk.public import ADOPTED_TEXT
from services.intake.desk.schemas import AdoptIn, SuggestionOut
from services.intake.desk.suggestions import Draft, deputy_actor, ensure_active, open_suggestion
from services.intake.labels import STATUS_LABELS
from services.intake.tracking_numbers import TrackingNumbers
from services.workflow import record_event
from shared.db.enums import CaseKind, CaseStatus, SuggestionSourceKind
from shared.db.models import Case, Deputy, SuggestionSource

NOT_ADOPTABLE = frozenset({CaseStatus.merged, CaseStatus.rejected})


async def _adoptable_case(session: AsyncSession, author: Deputy, case_id: int) -> Case:
    """The citizen's case through the author's code, locked so two adoptions at once are taken in turn."""
    case: Case | None = await session.scalar(
        select(Case)
        .where(
            Case.id == case_id,
            Case.jurisdiction_id == author.jurisdiction_id,
            Case.deputy_id == author.id,
            Case.kind == CaseKind.citizen,
        )
        .with_for_update()
    )
    if case is None:
        raise DeskCaseNotFound()
    return case


async def _adopted_by(session: AsyncSession, case_id: int) -> tuple[int, str] | None:
    row = (
        await session.execute(
            select(SuggestionSource.suggestion_id, Case.tracking_no)
            .join(Case, Case.id == SuggestionSource.suggestion_id)
            .where(SuggestionSource.case_id == case_id, SuggestionSource.kind == SuggestionSourceKind.adopted)
        )
    ).first()
    return (row.suggestion_id, row.tracking_no) if row is not None else None


async def adopt(
    session: AsyncSession, numbers: TrackingNumbers, author: Deputy, case_id: int, data: AdoptIn
) -> SuggestionOut:
    """POST /v1/deputy/cases/{id}/adopt: 404 unless the case came through the author's code, 422 when merged
    or rejected, 409 when adopted already (naming the suggestion)."""
    ensure_active(author)
    citizen = await _adoptable_case(session, author, case_id)
    if citizen.status in NOT_ADOPTABLE:
        raise CaseNotAdoptable(STATUS_LABELS.get(citizen.status, citizen.status))
    existing = await _adopted_by(session, citizen.id)
    if existing is not None:
        raise CaseAlreadyAdopted(*existing)
    draft = Draft(
        title=data.title,
        description=data.description or citizen.description,
        urgency=data.urgency or citizen.urgency,
        category_code=data.category_code,
        category_id=citizen.category_id,
        grid_id=citizen.grid_id,
        location_text=citizen.location_text,
        lat=citizen.lat,
        long=citizen.long,
        cosigner_ids=list(data.cosigner_ids),
    )
    out = await open_suggestion(session, numbers, author, draft, adopted=citizen)
    await record_event(
        session,
        citizen,
        "adopted",
        deputy_actor(author.id),
        public=True,
        data={
            "text": ADOPTED_TEXT.format(deputy=author.name),
            "deputy_name": author.name,
            "suggestion_tracking_no": out.tracking_no,
        },
        event_data={"suggestion_id": out.id, "deputy_id": author.id},
    )
    return out
