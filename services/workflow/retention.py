"""Retention jobs of ``minyi worker`` and what ``minyi status`` shows of them.

Personal-data erasure (DOMAIN.md "Personal data"): the submitter's name and phone of cases closed (or
rejected, or merged into a case closed) more than ``retention_personal_months`` ago are set to NULL, in bounded batches, each erased case
getting a ``personal_data_erased`` case event (log only, never sent). Only counts are logged, never values.
The pruning of the event plumbing lives with its tables, in shared.events.pruning.

The last run of each job is kept as a small JSON file in the data directory (``retention.json``), which
``minyi status`` reads back along with the rows due now.
"""

from __future__ import annotations

import asyncio
import calendar
import contextlib
import json
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from shared.db.engine import transaction
from shared.events.pruning import due_for_pruning, prune_events
from shared.observability import metrics
from shared.settings import Settings

log = structlog.get_logger("minyi.retention")

ERASE_BATCH = 500
ERASE_MAX_BATCHES = 20
ERASED_EVENT = "personal_data_erased"
STATE_FILE = "retention.json"

# Closed: since closed_at; rejected: since its (latest) rejection; merged: since its main case closed.
_ERASABLE = """
    (submitter_name_enc IS NOT NULL OR submitter_phone_enc IS NOT NULL OR submitter_email_enc IS NOT NULL)
    AND (
        (status = 'closed' AND closed_at < :cutoff)
        OR (status = 'rejected' AND (SELECT max(e.at) FROM case_events e
                                     WHERE e.case_id = cases.id AND e.to_status = 'rejected') < :cutoff)
        OR (status = 'merged' AND EXISTS (SELECT 1 FROM cases m WHERE m.id = cases.duplicate_of_id
                                          AND m.status = 'closed' AND m.closed_at < :cutoff))
    )
"""
_ERASE = text(
    f"""
    WITH picked AS (
        SELECT id, submitter_name_enc IS NOT NULL AS had_name, submitter_phone_enc IS NOT NULL AS had_phone,
               submitter_email_enc IS NOT NULL AS had_email
        FROM cases WHERE {_ERASABLE}
        ORDER BY id LIMIT :batch FOR UPDATE SKIP LOCKED
    ), erased AS (
        UPDATE cases c SET submitter_name_enc = NULL, submitter_phone_enc = NULL, submitter_email_enc = NULL
        FROM picked WHERE c.id = picked.id
        RETURNING c.id, c.jurisdiction_id, c.status, picked.had_name, picked.had_phone, picked.had_email
    )
    INSERT INTO case_events (jurisdiction_id, case_id, type, at, actor_type, public, from_status, to_status, data)
    SELECT jurisdiction_id, id, :type, CAST(:now AS timestamptz), 'system', false, status, status,
           jsonb_build_object('fields', to_jsonb(array_remove(ARRAY[
               CASE WHEN had_name THEN 'name' END, CASE WHEN had_phone THEN 'phone' END,
               CASE WHEN had_email THEN 'email' END], NULL)))
    FROM erased
    RETURNING (data -> 'fields') ? 'name' AS name, (data -> 'fields') ? 'phone' AS phone,
              (data -> 'fields') ? 'email' AS email
    """  # noqa: S608 (the condition is a constant)
)
_DUE = text(f"SELECT count(*) FROM (SELECT 1 FROM cases WHERE {_ERASABLE} LIMIT :cap) t")  # noqa: S608


def _cutoff(now: datetime, months: int) -> datetime:
    """``months`` calendar months before ``now`` (the day clamped to the target month's length)."""
    total = now.year * 12 + now.month - 1 - months
    year, month = divmod(total, 12)
    day = min(now.day, calendar.monthrange(year, month + 1)[1])
    return now.replace(year=year, month=month + 1, day=day)


async def erase_personal_data(
    engine: AsyncEngine,
    now: datetime,
    months: int,
    *,
    batch: int = ERASE_BATCH,
    max_batches: int = ERASE_MAX_BATCHES,
) -> dict[str, int]:
    """One run: at most ``batch * max_batches`` cases, one transaction per batch. Answers the counts of
    cases, names, phones and e-mail addresses erased."""
    counts = {"cases": 0, "names": 0, "phones": 0, "emails": 0}
    params = {"now": now, "cutoff": _cutoff(now, months), "batch": batch, "type": ERASED_EVENT}
    for _ in range(max_batches):
        async with transaction(engine) as session:
            rows = (await session.execute(_ERASE, params)).all()
        counts["cases"] += len(rows)
        counts["names"] += sum(1 for row in rows if row.name)
        counts["phones"] += sum(1 for row in rows if row.phone)
        counts["emails"] += sum(1 for row in rows if row.email)
        if len(rows) < batch:
            break
    return counts


async def due_for_erasure(session: AsyncSession, now: datetime, months: int, *, cap: int = 100_000) -> int:
    return int(await session.scalar(_DUE, {"cutoff": _cutoff(now, months), "cap": cap}) or 0)


def _state_path(settings: Settings) -> Path:
    return Path(settings.data_dir) / STATE_FILE


def read_last_runs(settings: Settings) -> dict[str, Any]:
    try:
        state = json.loads(_state_path(settings).read_text())
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def _record_run(settings: Settings, job: str, at: datetime, counts: dict[str, int]) -> None:
    state = read_last_runs(settings)
    state[job] = {"at": at.isoformat(), **counts}
    path = _state_path(settings)
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(state))
        temporary.replace(path)


async def run_retention_once(engine: AsyncEngine, settings: Settings, now: datetime | None = None) -> None:
    """Both jobs once; a failure of one does not stop the other."""
    now = now or datetime.now(UTC)
    try:
        pruned = asdict(await prune_events(engine, now, settings.retention_event_days))
        _record_run(settings, "prune", now, pruned)
        if any(pruned.values()):
            log.info("event_rows_pruned", days=settings.retention_event_days, **pruned)
        metrics.job_finished("retention_prune", ok=True)
    except Exception:
        log.exception("scheduled_job_failed", job="retention_prune")
        metrics.job_finished("retention_prune", ok=False)
    try:
        erased = await erase_personal_data(engine, now, settings.retention_personal_months)
        _record_run(settings, "erase", now, erased)
        if erased["cases"]:
            log.info("personal_data_erased", months=settings.retention_personal_months, **erased)
        metrics.job_finished("retention_erase", ok=True)
    except Exception:
        log.exception("scheduled_job_failed", job="retention_erase")
        metrics.job_finished("retention_erase", ok=False)


async def run_retention(engine: AsyncEngine, settings: Settings, stop: asyncio.Event) -> None:
    """Runs the retention jobs at start and then every retention_seconds."""
    while not stop.is_set():
        await run_retention_once(engine, settings)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=settings.retention_seconds)


async def status_lines(session: AsyncSession, settings: Settings, now: datetime) -> list[str]:
    """The retention lines of ``minyi status``: settings, last runs, rows due now."""
    runs = read_last_runs(settings)
    due = await due_for_pruning(session, now, settings.retention_event_days)
    erasable = await due_for_erasure(session, now, settings.retention_personal_months)

    def last(job: str, keys: tuple[str, ...]) -> str:
        run = runs.get(job)
        if not isinstance(run, dict):
            return "never run"
        return f"last run {run.get('at')}: " + ", ".join(f"{run.get(key, 0)} {key}" for key in keys)

    return [
        f"retention    events after {settings.retention_event_days} days;"
        f" {last('prune', ('deliveries', 'outbox', 'inbox'))};"
        f" due now {due.deliveries} deliveries, {due.outbox} outbox, {due.inbox} inbox",
        f"retention    personal data after {settings.retention_personal_months} months;"
        f" {last('erase', ('cases', 'names', 'phones', 'emails'))}; due now {erasable} cases",
    ]
