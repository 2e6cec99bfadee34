"""Each jurisdiction's classifier model in ``classifier_models``: built from the database, kept per process,
marked stale by whoever changes what it learns from, and retrained by the worker.

A process keeps the models it used and asks the database for the current revision at most every
``REVISION_CHECK_SECONDS`` per jurisdiction, so an edit reaches every process within that time after the
worker retrained. A jurisdiction without a model yet gets one built on its first classification.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.routing.classifier.model import CategoryFact, ExampleFact, Model, TermFact
from shared.db.models import Category, ClassifierExample, ClassifierModel, ClassifierTerm

log = structlog.get_logger("minyi.classifier")

REVISION_CHECK_SECONDS = 5.0
# The most recent examples a model learns from: enough for years of corrections, small enough to keep the
# model (stored as JSON and read by every process) well under a megabyte.
MAX_EXAMPLES = 5000


@dataclass
class _Cached:
    revision: int
    built_at: datetime | None  # with the revision, tells a rebuilt row from the one this model came from
    model: Model
    checked_at: float


_cache: dict[int, _Cached] = {}
_clock: Callable[[], float] = time.monotonic


def forget_cached() -> None:
    """Drops every model this process keeps (tests; a process never needs it)."""
    _cache.clear()


def _remember(jurisdiction_id: int, revision: int, built_at: datetime | None, model: Model) -> None:
    _cache[jurisdiction_id] = _Cached(revision, built_at, model, _clock())


async def mark_stale(session: AsyncSession, jurisdiction_id: int) -> None:
    """Asks the worker to retrain the jurisdiction's model. Call it in the transaction that changes the
    categories, the lexicon or the examples: the row lock it takes makes a retraining that runs at the same
    time finish first, so the change is never lost between a build and its ``stale = false``."""
    await session.execute(
        insert(ClassifierModel)
        .values(jurisdiction_id=jurisdiction_id, stale=True)
        .on_conflict_do_update(index_elements=[ClassifierModel.jurisdiction_id], set_={"stale": True})
    )


async def _facts(
    session: AsyncSession, jurisdiction_id: int
) -> tuple[list[CategoryFact], list[TermFact], list[ExampleFact], int]:
    categories = [
        CategoryFact(id=row.id, code=row.code, name=row.name, parent_id=row.parent_id, active=row.active)
        for row in await session.execute(
            select(Category.id, Category.code, Category.name, Category.parent_id, Category.active).where(
                Category.jurisdiction_id == jurisdiction_id
            )
        )
    ]
    terms = [
        TermFact(row.category_id, row.term, row.weight)
        for row in await session.execute(
            select(ClassifierTerm.category_id, ClassifierTerm.term, ClassifierTerm.weight).where(
                ClassifierTerm.jurisdiction_id == jurisdiction_id
            )
        )
    ]
    examples = [
        ExampleFact(row.category_id, row.text)
        for row in await session.execute(
            select(ClassifierExample.category_id, ClassifierExample.text)
            .where(ClassifierExample.jurisdiction_id == jurisdiction_id)
            .order_by(ClassifierExample.id.desc())
            .limit(MAX_EXAMPLES)
        )
    ]
    total_examples = await session.scalar(
        select(func.count()).where(ClassifierExample.jurisdiction_id == jurisdiction_id)
    )
    return categories, terms, examples, int(total_examples or 0)


async def build(session: AsyncSession, jurisdiction_id: int) -> tuple[Model, dict[str, Any]]:
    """A model from what the jurisdiction knows now, and the facts shown to admins about it."""
    categories, terms, examples, total_examples = await _facts(session, jurisdiction_id)
    model = Model.build(categories, terms, examples)
    facts = {
        **model.facts(),
        "lexicon_terms": len(terms),
        "examples_total": total_examples,
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    return model, facts


async def _store_first(
    session: AsyncSession, jurisdiction_id: int, model: Model, facts: dict[str, Any]
) -> tuple[int, datetime | None]:
    """Stores a model built on demand; a row marked stale stays stale, so the worker still retrains it."""
    values = {"model": model.to_json(), "facts": facts, "built_at": func.now()}
    row = (
        await session.execute(
            insert(ClassifierModel)
            .values(jurisdiction_id=jurisdiction_id, revision=1, stale=False, **values)
            .on_conflict_do_update(
                index_elements=[ClassifierModel.jurisdiction_id],
                set_={**values, "revision": ClassifierModel.revision + 1},
            )
            .returning(ClassifierModel.revision, ClassifierModel.built_at)
        )
    ).one()
    return row.revision, row.built_at


async def current_model(session: AsyncSession, jurisdiction_id: int) -> tuple[int, Model]:
    """The jurisdiction's model and its revision: from this process's cache while it is recent, else from
    the database; built and stored first if the jurisdiction has none."""
    now = _clock()
    cached = _cache.get(jurisdiction_id)
    if cached is not None and now - cached.checked_at < REVISION_CHECK_SECONDS:
        return cached.revision, cached.model
    row = (
        await session.execute(
            select(
                ClassifierModel.revision,
                ClassifierModel.built_at,
                ClassifierModel.model.is_not(None).label("built"),
            ).where(ClassifierModel.jurisdiction_id == jurisdiction_id)
        )
    ).first()
    if row is not None and row.built:
        if cached is not None and (cached.revision, cached.built_at) == (row.revision, row.built_at):
            cached.checked_at = now
            return cached.revision, cached.model
        data = await session.scalar(
            select(ClassifierModel.model).where(ClassifierModel.jurisdiction_id == jurisdiction_id)
        )
        try:
            model = Model.from_json(data or {})
        except (ValueError, KeyError, TypeError):
            # A model stored by an older version of this module: build a current one instead.
            log.warning("classifier_model_unreadable", jurisdiction_id=jurisdiction_id, revision=row.revision)
        else:
            _remember(jurisdiction_id, row.revision, row.built_at, model)
            return row.revision, model
    model, facts = await build(session, jurisdiction_id)
    revision, built_at = await _store_first(session, jurisdiction_id, model, facts)
    log.info("classifier_built", jurisdiction_id=jurisdiction_id, revision=revision, on_demand=True)
    _remember(jurisdiction_id, revision, built_at, model)
    return revision, model


async def retrain_stale(sessions: async_sessionmaker[AsyncSession], *, limit: int = 50) -> int:
    """Rebuilds stale models, one jurisdiction per transaction, up to ``limit``; returns how many.

    The row is locked with SKIP LOCKED: workers running at once take different jurisdictions, and a
    jurisdiction whose writer has not committed yet waits for the next round.
    """
    done = 0
    while done < limit:
        async with sessions() as session, session.begin():
            jurisdiction_id = await session.scalar(
                select(ClassifierModel.jurisdiction_id)
                .where(ClassifierModel.stale)
                .order_by(ClassifierModel.jurisdiction_id)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
            if jurisdiction_id is None:
                break
            model, facts = await build(session, jurisdiction_id)
            row = (
                await session.execute(
                    update(ClassifierModel)
                    .where(ClassifierModel.jurisdiction_id == jurisdiction_id)
                    .values(
                        stale=False,
                        revision=ClassifierModel.revision + 1,
                        built_at=func.now(),
                        model=model.to_json(),
                        facts=facts,
                    )
                    .returning(ClassifierModel.revision, ClassifierModel.built_at)
                )
            ).one()
        # Committed: this process uses the new model at once, the others within REVISION_CHECK_SECONDS.
        _remember(jurisdiction_id, row.revision, row.built_at, model)
        log.info(
            "classifier_retrained", jurisdiction_id=jurisdiction_id, revision=row.revision, **model.facts()
        )
        done += 1
    return done
