"""What routing does with a case that has just arrived: index its words for the duplicate search, classify it
when the submitter named no category (or "其他"), then dispatch it by the routing rules; a case nobody could
place waits in the dispatch queue with the reason."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing.classifier import Classification, classify
from services.routing.desk.settings import dispatch_settings
from services.routing.dispatch import Plans, dispatch_case
from services.routing.duplicates.terms import index_case
from services.workflow import SYSTEM, Actor, record_event
from shared.db.enums import CategorySource, QueueReason
from shared.db.models import Case, CaseClassification, Category
from shared.observability.metrics import count_classification

# A category with one of these names means "I don't know": the text decides.
UNKNOWN_CATEGORY_NAMES = frozenset({"其他", "其它", "不清楚", "不清楚/其他", "其他问题"})
QUEUE_CANDIDATES = 3


async def enqueue(
    session: AsyncSession, case: Case, reason: QueueReason, actor: Actor = SYSTEM, **data: Any
) -> None:
    """Puts the case in the dispatch queue (or keeps it there with the newer reason)."""
    case.queue_reason = reason
    case.queued_at = datetime.now(UTC)
    await record_event(session, case, "queued", actor, public=False, data={"reason": reason.value, **data})


def leave_queue(case: Case) -> None:
    case.queue_reason = None
    case.queued_at = None


async def _category_unknown(session: AsyncSession, case: Case) -> bool:
    if case.category_id is None:
        return True
    name = await session.scalar(select(Category.name).where(Category.id == case.category_id))
    return name is None or name.strip() in UNKNOWN_CATEGORY_NAMES


SUPPLEMENT_MARK = "\n【补充说明】"


def _text(case: Case) -> str:
    """What the classifier reads: the title, the citizen's supplements (newest first: they answer what the
    dispatcher found unclear) and then the original description. The classifier reads only a text's head."""
    original, *supplements = case.description.split(SUPPLEMENT_MARK)
    return "\n".join(part for part in (case.title, *reversed(supplements), original) if part)


def _candidate_rows(result: Classification) -> list[dict[str, Any]]:
    return [
        {
            "category_id": c.category_id,
            "category_code": c.category_code,
            "name": c.name,
            "score": round(c.score, 4),
            "matched": c.matched,
        }
        for c in result.candidates[:QUEUE_CANDIDATES]
    ]


async def _classify(session: AsyncSession, case: Case, threshold: float) -> bool:
    """Classifies the case's text. Returns whether the classifier was sure enough to choose its category."""
    result = await classify(session, case.jurisdiction_id, _text(case))
    top = result.candidates[0] if result.candidates else None
    decided = top is not None and top.score >= threshold
    candidates = _candidate_rows(result)
    values = {"model_revision": result.revision, "candidates": candidates, "decided": decided}
    await session.execute(
        pg_insert(CaseClassification)
        .values(case_id=case.id, jurisdiction_id=case.jurisdiction_id, **values)
        .on_conflict_do_update(index_elements=[CaseClassification.case_id], set_=values)
    )
    if not decided or top is None:
        await enqueue(session, case, QueueReason.low_confidence, candidates=candidates)
        return False
    case.category_id = top.category_id
    case.category_source = CategorySource.system
    case.classification_score = round(top.score, 4)
    await record_event(
        session,
        case,
        "classified",
        SYSTEM,
        public=False,
        data={"category_code": top.category_code, "score": case.classification_score, "matched": top.matched},
    )
    return True


async def handle_arrival(session: AsyncSession, case: Case, plans: Plans) -> None:
    """A received case that was never dispatched (the caller holds its row lock)."""
    await index_case(session, case)
    settings = await dispatch_settings(session, case.jurisdiction_id)
    if await _category_unknown(session, case):
        decided = await _classify(session, case, settings.classify_threshold)
        count_classification("classifier", "confident" if decided else "queued")
        if not decided:
            return
    elif case.category_source is None:
        case.category_source = CategorySource.citizen
        count_classification("citizen", "named")
    if not await dispatch_case(session, case, plans=plans, use_fallback=not settings.queue_unmatched):
        await enqueue(session, case, QueueReason.no_rule)
