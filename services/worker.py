"""`minyi worker`: the outbox relay plus the scheduled jobs of the domains. Any number may run at once."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import UTC, date, datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from services.intake.photo_cleanup import delete_expired_uploads, sweep_unnamed_files
from services.routing import events as routing_events
from services.routing.classifier.store import retrain_stale
from services.supervision import events as supervision_events
from services.supervision.alarms import scan as scan_alarms
from services.supervision.assumed_deadlines import sweep_assumed
from services.supervision.calendar_years import missing_years
from services.supervision.calendar_years import today as shanghai_today
from services.supervision.hotspots.detect import detect_all as detect_hotspots
from services.supervision.jobs import close_unrated
from services.supervision.metrics.rollup import refresh_loop as run_metrics_refresh
from services.workflow.retention import run_retention
from shared.db.engine import session_factory, transaction
from shared.events.relay import Relay
from shared.events.subscriptions import ensure_internal_endpoint
from shared.photo_storage import photo_storage
from shared.settings import Settings

log = structlog.get_logger("minyi.worker")
CALENDAR_CHECK_SECONDS = 24 * 3600
PHOTO_SWEEP_SECONDS = 24 * 3600


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
        try:
            alarms = await scan_alarms(session_factory(engine))
            if alarms.due_soon or alarms.overdue or alarms.silenced:
                log.info(
                    "alarms_raised",
                    due_soon=alarms.due_soon,
                    overdue=alarms.overdue,
                    escalated=alarms.escalated,
                    silenced=alarms.silenced,
                )
        except Exception:
            log.exception("scheduled_job_failed", job="alarms")
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


async def check_calendar(engine: AsyncEngine, today: date) -> None:
    """A warning for each year the next 60 days reach that the calendar does not cover (naming the
    jurisdictions that have not loaded it), and the deadlines counted on assumed days recomputed on what it
    covers now (a year loaded while a case was being dispatched, a newer chinesecalendar)."""
    async with transaction(engine) as session:
        missing = await missing_years(session, today)
    for year, codes in missing.items():
        log.warning("calendar_missing", year=year, jurisdictions=codes)
    moved = await sweep_assumed(session_factory(engine), datetime.now(UTC))
    if moved:
        log.info("assumed_deadlines_recomputed", changed=moved)


async def run_calendar_watch(
    engine: AsyncEngine,
    stop: asyncio.Event,
    *,
    today: Callable[[], date] = shanghai_today,
    interval: float = CALENDAR_CHECK_SECONDS,
) -> None:
    """Runs check_calendar at start and then daily."""
    while not stop.is_set():
        try:
            await check_calendar(engine, today())
        except Exception:
            log.exception("scheduled_job_failed", job="calendar_watch")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)


async def run_photo_cleanup(
    engine: AsyncEngine,
    settings: Settings,
    stop: asyncio.Event,
    *,
    sweep_interval: float = PHOTO_SWEEP_SECONDS,
) -> None:
    """Deletes expired uploads no case took every photo_cleanup_seconds; at start and then daily, sweeps the
    files no row names."""
    last_sweep: float | None = None
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        storage = photo_storage()
        try:
            removed = await delete_expired_uploads(engine, storage)
            if removed:
                log.info("expired_uploads_deleted", count=removed)
        except Exception:
            log.exception("scheduled_job_failed", job="expired_uploads")
        if last_sweep is None or loop.time() - last_sweep >= sweep_interval:
            last_sweep = loop.time()
            try:
                swept = await sweep_unnamed_files(engine, storage)
                if swept.files or swept.temporaries:
                    log.info("photo_files_swept", files=swept.files, temporaries=swept.temporaries)
            except Exception:
                log.exception("scheduled_job_failed", job="photo_sweep")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=settings.photo_cleanup_seconds)


async def run_hotspot_detection(engine: AsyncEngine, settings: Settings, stop: asyncio.Event) -> None:
    """Looks for hot spots every hotspot_seconds: opens, grows and closes them (one transaction per
    jurisdiction; a jurisdiction another worker is scanning is skipped)."""
    sessions = session_factory(engine)
    while not stop.is_set():
        try:
            changed = await detect_hotspots(sessions, datetime.now(UTC))
            for jurisdiction_id, done in changed.items():
                log.info(
                    "hotspots_detected",
                    jurisdiction_id=jurisdiction_id,
                    opened=done.opened,
                    joined=done.joined,
                    joined_by_text=done.joined_by_text,
                    closed=done.closed,
                )
        except Exception:
            log.exception("scheduled_job_failed", job="hotspots")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=settings.hotspot_seconds)


async def run_worker(engine: AsyncEngine, settings: Settings, stop: asyncio.Event) -> None:
    await register_internal_subscriptions(engine, settings)
    async with Relay(engine, settings) as relay:
        await asyncio.gather(
            relay.run(stop),
            run_scheduler(engine, settings, stop),
            run_classifier_training(engine, settings, stop),
            run_calendar_watch(engine, stop),
            run_photo_cleanup(engine, settings, stop),
            run_metrics_refresh(engine, stop, interval=settings.metrics_refresh_seconds),
            run_hotspot_detection(engine, settings, stop),
            run_retention(engine, settings, stop),
        )
    log.info("worker_stopped")
