"""Classifying a text with the jurisdiction's current model, and what admins see of that model."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing.classifier.schemas import CandidateOut, Classification, ClassifierOut
from services.routing.classifier.store import current_model
from shared.db.models import ClassifierModel

# Candidates a classification keeps (the arrival flow stores them with the case); the desk shows fewer.
CANDIDATES = 10
SHOWN = 5


async def classify(session: AsyncSession, jurisdiction_id: int, text: str) -> Classification:
    """The jurisdiction's assignable categories for the text, best first (up to ``CANDIDATES``)."""
    revision, model = await current_model(session, jurisdiction_id)
    return Classification(revision=revision, candidates=model.predict(text, limit=CANDIDATES))


async def suggest(session: AsyncSession, jurisdiction_id: int, text: str) -> list[CandidateOut]:
    """What the dispatcher's desk shows for a text: the best ``SHOWN`` candidates."""
    _, model = await current_model(session, jurisdiction_id)
    return [
        CandidateOut(category_code=c.category_code, name=c.name, score=c.score, matched=c.matched)
        for c in model.predict(text, limit=SHOWN)
    ]


async def status(session: AsyncSession, jurisdiction_id: int) -> ClassifierOut:
    row = await session.scalar(
        select(ClassifierModel).where(ClassifierModel.jurisdiction_id == jurisdiction_id)
    )
    if row is None:  # nothing built yet: the first classification builds it
        return ClassifierOut(revision=0, stale=True, built_at=None, facts={})
    return ClassifierOut(revision=row.revision, stale=row.stale, built_at=row.built_at, facts=row.facts)
