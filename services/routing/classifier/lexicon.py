"""A category's lexicon (分类词库): the words admins say speak for it, each with a weight."""

from __future__ import annotations

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing.classifier.errors import DuplicateTerm
from services.routing.classifier.model import normalize
from services.routing.classifier.schemas import LexiconIn, LexiconOut, TermOut
from services.routing.classifier.store import mark_stale
from services.routing.errors import CategoryNotFound
from services.routing.repository import load_scoped
from shared.db.models import Category, ClassifierTerm


async def _lexicon_out(session: AsyncSession, category: Category) -> LexiconOut:
    rows = await session.execute(
        select(ClassifierTerm.term, ClassifierTerm.weight)
        .where(ClassifierTerm.category_id == category.id)
        .order_by(ClassifierTerm.id)
    )
    return LexiconOut(
        category_id=category.id,
        category_code=category.code,
        terms=[TermOut(term=term, weight=weight) for term, weight in rows.tuples()],
    )


async def get_lexicon(session: AsyncSession, jurisdiction_id: int, category_id: int) -> LexiconOut:
    category = await load_scoped(session, Category, jurisdiction_id, category_id, CategoryNotFound)
    return await _lexicon_out(session, category)


async def replace_lexicon(
    session: AsyncSession, jurisdiction_id: int, category_id: int, data: LexiconIn
) -> LexiconOut:
    """The category's terms become exactly those sent, in that order; the model retrains soon after."""
    category = await load_scoped(session, Category, jurisdiction_id, category_id, CategoryNotFound)
    seen: set[str] = set()
    for index, item in enumerate(data.terms):
        key = normalize(item.term)
        if key in seen:
            raise DuplicateTerm(index, item.term)
        seen.add(key)
    await session.execute(delete(ClassifierTerm).where(ClassifierTerm.category_id == category.id))
    if data.terms:
        await session.execute(
            insert(ClassifierTerm),
            [
                {
                    "jurisdiction_id": jurisdiction_id,
                    "category_id": category.id,
                    "term": item.term,
                    "weight": item.weight,
                }
                for item in data.terms
            ],
        )
    await mark_stale(session, jurisdiction_id)
    return await _lexicon_out(session, category)
