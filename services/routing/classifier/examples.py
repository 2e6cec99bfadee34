"""Labelled examples: a dispatcher's correction of a case's category, or texts an admin imports. Each one is
kept and the jurisdiction's model retrains with it."""

from __future__ import annotations

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing.classifier.errors import UnknownCategoryCode
from services.routing.classifier.schemas import ExamplesImported, ExamplesIn
from services.routing.classifier.store import mark_stale
from services.routing.errors import CategoryNotFound
from shared.db.models import Category, ClassifierExample

CORRECTION = "correction"
IMPORT = "import"


async def record_correction(
    session: AsyncSession, *, jurisdiction_id: int, case_id: int, category_id: int, text: str
) -> None:
    """A dispatcher put the case in ``category_id``: the case's text becomes an example of that category."""
    owned = await session.scalar(
        select(Category.id).where(Category.id == category_id, Category.jurisdiction_id == jurisdiction_id)
    )
    if owned is None:
        raise CategoryNotFound()
    await session.execute(
        insert(ClassifierExample).values(
            jurisdiction_id=jurisdiction_id,
            category_id=category_id,
            text=text,
            source=CORRECTION,
            case_id=case_id,
        )
    )
    await mark_stale(session, jurisdiction_id)


async def import_examples(session: AsyncSession, jurisdiction_id: int, data: ExamplesIn) -> ExamplesImported:
    """All or nothing: one unknown category code refuses the whole import."""
    codes = {item.category_code for item in data.examples}
    ids = dict(
        (
            await session.execute(
                select(Category.code, Category.id).where(
                    Category.jurisdiction_id == jurisdiction_id, Category.code.in_(codes)
                )
            )
        )
        .tuples()
        .all()
    )
    for index, item in enumerate(data.examples):
        if item.category_code not in ids:
            raise UnknownCategoryCode(index, item.category_code)
    await session.execute(
        insert(ClassifierExample),
        [
            {
                "jurisdiction_id": jurisdiction_id,
                "category_id": ids[item.category_code],
                "text": item.text,
                "source": IMPORT,
            }
            for item in data.examples
        ],
    )
    await mark_stale(session, jurisdiction_id)
    return ExamplesImported(imported=len(data.examples))
