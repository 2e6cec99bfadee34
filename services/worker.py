"""`minyi worker`: the outbox relay plus the scheduled jobs of the domains. Any number may run at once."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from functools import partial
from typing import TypeVar

import structlog
from sqlalchemy.exc import DBAPIError
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
from shared.observability import metrics
from shared.observability.db_gauges import refresh_loop as refresh_metric_gauges
from shared.observability.exporter import start_exporter
from shared.photo_storage import photo_storage
from shared.settings import Settings

log = structlog.get_logger("minyi.worker")
CALENDAR_CHECK_SECONDS = 24 * 3600
PHOTO_SWEEP_SECONDS = 24 * 3600
T = TypeVar("T")


async def run_job(job: str, work: Callable[[], Awaitable[T]]) -> T | None:
    """One run of a scheduled job: a failure is logged and counted (minyi_job_runs_total) and returns None,
    never ending the job's loop; a success also sets minyi_job_last_success_timestamp_seconds."""
    try:
        result = await work()
    except Exception:
        log.exception("scheduled_job_failed", job=job)
        metrics.job_finished(job, ok=False)
        return None
    metrics.job_finished(job, ok=True)
    return result


async def register_internal_subscriptions(engine: AsyncEngine, settings: Settings) -> None:
    """Points the internal subscriptions at this deployment's routing and supervision services."""
    async with transaction(engine) as session:
        await ensure_internal_endpoint(
            session, "routing", settings.base_url("routing"), routing_events.SUBSCRIBED_EVENTS
        )
        await ensure_internal_endpoint(
            session, "supervision", settings.base_url("supervision"), supervision_events.SUBSCRIBED_EVENTS
        )


async def _close_unrated(engine: AsyncEngine) -> None:
    async with transaction(engine) as session:
        closed = await close_unrated(session, datetime.now(UTC))
    if closed:
        log.info("closed_unrated", count=closed)


async def _scan_alarms(engine: AsyncEngine) -> None:
    alarms = await scan_alarms(session_factory(engine))
    if alarms.due_soon or alarms.overdue or alarms.silenced:
        log.info(
            "alarms_raised",
            due_soon=alarms.due_soon,
            overdue=alarms.overdue,
            escalated=alarms.escalated,
            silenced=alarms.silenced,
        )


async def run_scheduler(engine: AsyncEngine, settings: Settings, stop: asyncio.Event) -> None:
    while not stop.is_set():
        await run_job("close_unrated", lambda: _close_unrated(engine))
        await run_job("alarms", lambda: _scan_alarms(engine))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=settings.scheduler_interval_seconds)


async def run_classifier_training(engine: AsyncEngine, settings: Settings, stop: asyncio.Event) -> None:
    """Retrains the classifier models that lexicon, example or category edits marked stale."""
    sessions = session_factory(engine)
    while not stop.is_set():
        await run_job("retrain_classifiers", lambda: retrain_stale(sessions))
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
        await run_job("calendar_watch", lambda: check_calendar(engine, today()))
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
        removed = await run_job("expired_uploads", partial(delete_expired_uploads, engine, storage))
        if removed:
            log.info("expired_uploads_deleted", count=removed)
        if last_sweep is None or loop.time() - last_sweep >= sweep_interval:
            last_sweep = loop.time()
            swept = await run_job("photo_sweep", partial(sweep_unnamed_files, engine, storage))
            if swept is not None and (swept.files or swept.temporaries):
                log.info("photo_files_swept", files=swept.files, temporaries=swept.temporaries)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=settings.photo_cleanup_seconds)


async def run_hotspot_detection(engine: AsyncEngine, settings: Settings, stop: asyncio.Event) -> None:
    """Looks for hot spots every hotspot_seconds: opens, grows and closes them (one transaction per
    jurisdiction; a jurisdiction another worker is scanning is skipped)."""
    sessions = session_factory(engine)
    while not stop.is_set():
        changed = await run_job("hotspots", lambda: detect_hotspots(sessions, datetime.now(UTC)))
        for jurisdiction_id, done in (changed or {}).items():
            log.info(
                "hotspots_detected",
                jurisdiction_id=jurisdiction_id,
                opened=done.opened,
                joined=done.joined,
                joined_by_text=done.joined_by_text,
                closed=done.closed,
            )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=settings.hotspot_seconds)


async def run_metrics(engine: AsyncEngine, settings: Settings, stop: asyncio.Event) -> None:
    """Serves /metrics on MINYI_WORKER_METRICS_PORT (0: not at all) and keeps the database gauges fresh
    meanwhile. A port another process holds (a second worker on the host) leaves this worker without metrics,
    with a warning."""
    if not settings.worker_metrics_port:
        return
    server = await start_exporter(settings.host, settings.worker_metrics_port)
    if server is None:
        return
    async with server:
        await refresh_metric_gauges(engine, settings.internal_stuck_seconds, stop)


# Starting while the database is unreachable: the worker waits for it, retrying this far apart at most.
REGISTER_RETRY_MAX_SECONDS = 30.0


async def register_when_reachable(engine: AsyncEngine, settings: Settings, stop: asyncio.Event) -> bool:
    """Registers the internal subscriptions, waiting for the database if it is not reachable yet (a worker
    started with, or just before, its database); False if told to stop first."""
    delay = 1.0
    while not stop.is_set():
        try:
            await register_internal_subscriptions(engine, settings)
            return True
        except (OSError, DBAPIError) as exc:
            log.warning("database_unreachable_at_start", error=type(exc).__name__, retry_in=delay)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=delay)
        delay = min(delay * 2, REGISTER_RETRY_MAX_SECONDS)
    return False


async def run_worker(engine: AsyncEngine, settings: Settings, stop: asyncio.Event) -> None:
    if not await register_when_reachable(engine, settings, stop):
        return
    async with Relay(engine, settings) as relay:
        await asyncio.gather(
            relay.run(stop),
            run_metrics(engine, settings, stop),
            run_scheduler(engine, settings, stop),
            run_classifier_training(engine, settings, stop),
            run_calendar_watch(engine, stop),
            run_photo_cleanup(engine, settings, stop),
            run_metrics_refresh(engine, stop, interval=settings.metrics_refresh_seconds),
            run_hotspot_detection(engine, settings, stop),
            run_retention(engine, settings, stop),
        )
    log.info("worker_stopped")
