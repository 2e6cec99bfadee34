"""Prometheus metrics of every Minyi process: their definitions, the helpers that count, and the exposition.

Names start with ``minyi_``; docs/observability.md lists them. Labels take only bounded values (route
templates, lanes, job and limit names), never an id, a tracking number, an address or a text.

Each process counts on its own. When several processes serve one service (`minyi serve --workers N`, N > 1),
the command points PROMETHEUS_MULTIPROC_DIR at a folder it empties first, before the processes start:
prometheus_client then keeps each process's values in files there and a scrape, whichever process answers
it, adds them up (its multiprocess mode; read at import, so the variable must be set before this module is
imported, as it is in the processes uvicorn starts). Without the variable a scrape sees the one process.
This module imports no web framework: domain code counts through it.
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Iterable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from shared.settings import get_settings

METRICS_PATH = "/metrics"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
UNMATCHED_ROUTE = "unmatched"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

# HTTP, in each service.
HTTP_REQUESTS = Counter(
    "minyi_http_requests_total",
    "HTTP requests answered, by route template and status",
    ["service", "method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "minyi_http_request_duration_seconds",
    "Time from a request's arrival to the end of its answer",
    ["service", "method", "route"],
)

# The relay and the database, in the worker (refreshed every few seconds by shared.observability.db_gauges).
OUTBOX_BACKLOG = Gauge(
    "minyi_outbox_backlog", "Outbox events not yet fanned out into deliveries", multiprocess_mode="mostrecent"
)
DELIVERIES_PENDING = Gauge(
    "minyi_deliveries_pending",
    "Deliveries pending (waiting, retrying or in flight), by lane",
    ["lane"],
    multiprocess_mode="mostrecent",
)
DELIVERY_OLDEST_DUE = Gauge(
    "minyi_delivery_oldest_due_seconds",
    "How long the longest-waiting due delivery of an enabled endpoint has been due (0: none due), by lane",
    ["lane"],
    multiprocess_mode="mostrecent",
)
INTERNAL_STUCK = Gauge(
    "minyi_internal_deliveries_stuck",
    "Internal deliveries pending for longer than MINYI_INTERNAL_STUCK_SECONDS (the alarm of minyi status)",
    multiprocess_mode="mostrecent",
)
GAUGES_REFRESHED = Gauge(
    "minyi_db_gauges_refreshed_timestamp_seconds",
    "When the worker last read the backlog gauges from the database (Unix time)",
    multiprocess_mode="mostrecent",
)
DELIVERY_ATTEMPTS = Counter(
    "minyi_delivery_attempts_total",
    "Delivery attempts by lane and outcome: succeeded, retry (tried again later) or failed (given up)",
    ["lane", "outcome"],
)

# Scheduled jobs, in the worker.
JOB_RUNS = Counter(
    "minyi_job_runs_total", "Runs of the worker's scheduled jobs, by result", ["job", "result"]
)
JOB_LAST_SUCCESS = Gauge(
    "minyi_job_last_success_timestamp_seconds",
    "When a scheduled job last ran without error (Unix time)",
    ["job"],
    multiprocess_mode="max",
)

# Domain counters, in the process where they happen.
CLASSIFICATIONS = Counter(
    "minyi_classifications_total",
    "Arriving cases by who chose the category (citizen, classifier) and outcome (named, confident, queued)",
    ["source", "outcome"],
)
RATE_LIMIT_CHECKS = Counter(
    "minyi_rate_limit_checks_total", "Abuse-limit checks, by limit (one per bucket checked)", ["limit"]
)
RATE_LIMIT_REFUSALS = Counter(
    "minyi_rate_limit_refusals_total", "Abuse-limit checks over the limit, by limit", ["limit"]
)


def observe_request(service: str, method: str, route: str, status: int, seconds: float) -> None:
    method = method if method in _METHODS else "OTHER"
    HTTP_REQUESTS.labels(service, method, route, str(status)).inc()
    HTTP_DURATION.labels(service, method, route).observe(seconds)


def count_deliveries(internal: Iterable[bool], statuses: Iterable[object]) -> None:
    """One attempt per (lane, status written) pair; a status still pending means a retry is scheduled."""
    for is_internal, status in zip(internal, statuses, strict=True):
        outcome = "retry" if status == "pending" else str(status)
        DELIVERY_ATTEMPTS.labels("internal" if is_internal else "integrators", outcome).inc()


def job_finished(job: str, ok: bool) -> None:
    JOB_RUNS.labels(job, "ok" if ok else "failed").inc()
    if ok:
        JOB_LAST_SUCCESS.labels(job).set(time.time())


def count_classification(source: str, outcome: str) -> None:
    CLASSIFICATIONS.labels(source, outcome).inc()


def limit_name(bucket: str) -> str:
    """A bucket's limit, without what it counts: "submit:addr:203.0.113.7" -> "submit:addr"."""
    return ":".join(bucket.split(":", 2)[:2])


def count_rate_limit(bucket: str, refused: bool) -> None:
    name = limit_name(bucket)
    RATE_LIMIT_CHECKS.labels(name).inc()
    if refused:
        RATE_LIMIT_REFUSALS.labels(name).inc()


def token_accepted(authorization: str | None) -> bool:
    """Whether a scrape may read /metrics: always when MINYI_METRICS_TOKEN is empty, else with it as bearer."""
    token = get_settings().metrics_token
    if not token:
        return True
    scheme, _, given = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def exposition() -> tuple[bytes, str]:
    """The text a scrape reads, and its content type: this process's metrics, or in multiprocess mode every
    process's of the folder added up."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
