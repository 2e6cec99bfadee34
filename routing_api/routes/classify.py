"""The text classifier: /v1/classify for the dispatcher's desk; each category's lexicon, example import and the
model's state for admins (/v1/categories/{id}/lexicon, /v1/classifier)."""

from __future__ import annotations

from fastapi import APIRouter

from routing_api.deps import AdminKey, DeskKey, PathId
from services.routing.classifier import examples, lexicon, service
from services.routing.classifier.schemas import (
    CandidateOut,
    ClassifierOut,
    ClassifyIn,
    ExamplesImported,
    ExamplesIn,
    LexiconIn,
    LexiconOut,
)
from shared.web.db import Session

router = APIRouter(tags=["classifier"])


@router.post(
    "/v1/classify",
    summary="Suggest categories for a text (dispatcher, admin)",
    description=(
        "The five likeliest assignable categories, best first. `score` (0..1) behaves like the probability "
        "that the category is right; `matched` are the words that spoke for it. The text is not kept."
    ),
)
async def classify(data: ClassifyIn, key: DeskKey, session: Session) -> list[CandidateOut]:
    return await service.suggest(session, key.jurisdiction_id, data.text)


@router.get("/v1/categories/{category_id}/lexicon", summary="A category's lexicon (admin)")
async def get_lexicon(category_id: PathId, key: AdminKey, session: Session) -> LexiconOut:
    return await lexicon.get_lexicon(session, key.jurisdiction_id, category_id)


@router.put(
    "/v1/categories/{category_id}/lexicon",
    summary="Replace a category's lexicon (admin)",
    description=(
        "The terms become exactly those sent (up to 500; 1-32 characters; weight 0.1-10, default 1). "
        "A term counts wherever it appears in a text. The model retrains within seconds."
    ),
)
async def replace_lexicon(
    category_id: PathId, data: LexiconIn, key: AdminKey, session: Session
) -> LexiconOut:
    return await lexicon.replace_lexicon(session, key.jurisdiction_id, category_id, data)


@router.post(
    "/v1/classifier/examples",
    status_code=201,
    summary="Import labelled examples (admin)",
    description="Up to 1,000 texts with their category codes, all or none. The model retrains within seconds.",
)
async def import_examples(data: ExamplesIn, key: AdminKey, session: Session) -> ExamplesImported:
    return await examples.import_examples(session, key.jurisdiction_id, data)


@router.get(
    "/v1/classifier", summary="The jurisdiction's model: revision, whether it is stale, facts (admin)"
)
async def get_classifier(key: AdminKey, session: Session) -> ClassifierOut:
    return await service.status(session, key.jurisdiction_id)
