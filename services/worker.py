"""`minyi worker`: the outbox relay plus the scheduled jobs of the domains. Any number may run at once."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from services.routing import events as routing_events
from services.routing.classifier.store import retrain_stale
from services.supervision import events as supervision_events
from services.supervision.jobs import close_unrated
from shared.db.engine import session_factory, transaction
from shared.events.relay import Relay
from shared.events.subscriptions import ensure_internal_endpoint
from shared.settings import Settings

log = structlog.get_logger("minyi.worker")


async def register_internal_subscriptions(engine: AsyncEngine, settings: Settings) -> None:
    """Points the internal subscriptions at this deployment's routing and supervision services."""
    async with transaction(engine) as session:
        await ensure_internal_endpoint(
            session, "routing", settings.base_url("routing"), routing_events.SUBSCRIBED_EVENTS
        )
        await ensure_internal_endpoint(
            session, "supervision", settings.base_url("supervision"), supervision_events.SUBSCRIBED_EVENTS
        )


async def run_scheduler(engine: AsyncEngine, settings: Settings, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            async with transaction(engine) as session:
                closed = await close_unrated(session, datetime.now(UTC))
            if closed:
                log.info("closed_unrated", count=closed)
        except Exception:
            log.exception("scheduled_job_failed", job="close_unrated")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=settings.scheduler_interval_seconds)


async def run_classifier_training(engine: AsyncEngine, settings: Settings, stop: asyncio.Event) -> None:
    """Retrains the classifier models that lexicon, example or category edits marked stale."""
    sessions = session_factory(engine)
    while not stop.is_set():
        try:
            await retrain_stale(sessions)
        except Exception:
            log.exception("scheduled_job_failed", job="retrain_classifiers")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=settings.classifier_retrain_seconds)


async def run_worker(engine: AsyncEngine, settings: Settings, stop: asyncio.Event) -> None:
    await register_internal_subscriptions(engine, settings)
    async with Relay(engine, settings) as relay:
        await asyncio.gather(
            relay.run(stop),
            run_scheduler(engine, settings, stop),
            run_classifier_training(engine, settings, stop),
        )
    log.info("worker_stopped")
