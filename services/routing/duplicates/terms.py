"""Each case's words (jieba tokens, services.routing.words) as a tsvector in case_search_terms, which the
duplicate search looks them up in through a GIN index.

The tsvector is built with ``array_to_tsvector`` from the words themselves: the same lexemes the `simple`
configuration would keep (no stemming, no stop words of its own), without handing Chinese text to
PostgreSQL's parser, which does not know where Chinese words end.
"""

from __future__ import annotations

from sqlalchemy import func, inspect, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing import words
from shared.db.models import Case, CaseSearchTerms

_TEXT_FIELDS = ("title", "description", "location_text")

# Read back from the case row, so a case whose server-side defaults (created_at) were never loaded still works.
_UPSERT = text(
    """
    INSERT INTO case_search_terms (case_id, jurisdiction_id, created_at, terms)
    SELECT id, jurisdiction_id, created_at, array_to_tsvector(CAST(:words AS text[]))
    FROM cases WHERE id = :case_id
    ON CONFLICT (case_id) DO UPDATE SET terms = excluded.terms
    """
)


def text_words(title: str | None, description: str | None, location_text: str | None) -> list[str]:
    """The words the search knows a case by: its title, description and place, each word once."""
    return words.distinct("\n".join(part for part in (title, description, location_text) if part))


async def _loaded(session: AsyncSession, case: Case) -> Case:
    unloaded = [name for name in _TEXT_FIELDS if name in inspect(case).unloaded]
    if unloaded:
        await session.refresh(case, unloaded)
    return case


async def index_case(session: AsyncSession, case: Case) -> None:
    """Stores (or replaces) the case's words for the duplicate search. Called when a case arrives; cases
    from before the index existed are indexed the first time somebody asks for their similar cases."""
    case = await _loaded(session, case)
    found = text_words(case.title, case.description, case.location_text)
    await session.execute(_UPSERT, {"words": found, "case_id": case.id})


async def indexed_words(session: AsyncSession, case: Case) -> list[str]:
    """The case's indexed words, indexing it first if it has no row yet."""
    stored: list[str] | None = await session.scalar(
        select(func.tsvector_to_array(CaseSearchTerms.terms)).where(CaseSearchTerms.case_id == case.id)
    )
    if stored is not None:
        return list(stored)
    await index_case(session, case)
    return text_words(case.title, case.description, case.location_text)
