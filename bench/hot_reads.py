"""The hot reads, timed through the services' own code on a loaded database (see bench.dataset).

Each read is a named async callable in ``READS``, called with a fresh session (one transaction, rolled back,
as a request would have) and a ``Subject`` naming the case, department and assignment it reads. ``measure``
runs each a few times to warm up, then ``runs`` times; it records the SQL each run emits and EXPLAINs the
slowest statement with its parameters, flagging sequential scans of the big tables.

To add a read: decorate ``async def read(session, subject)`` with ``@hot_read("name")``;
``@hot_read("name", runs=100)`` times it at least that many times (a read whose cost varies with its input).
The metrics and dashboard reads live in bench.hot_reads_metrics and are merged in after this module's own.
"""

from __future__ import annotations

import asyncio
import re
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bench import hot_reads_metrics
from bench.dataset import access_key
from services.intake.tracking import find_case, public_view
from services.routing.duplicates.merge import jurisdiction_case
from services.routing.duplicates.search import similar
from services.routing.schemas import AssignmentFilters
from services.routing.views import assignment_detail, list_assignments, own_assignment
from services.supervision.alarms import BATCH_SIZE, raise_alarms
from services.supervision.cases import case_view, get_case, search_cases
from services.supervision.deadlines import settle_replies
from services.supervision.jobs import close_unrated
from services.supervision.levels import list_supervised
from services.supervision.schemas import CaseFilters
from shared.db.engine import build_engine, session_factory
from shared.db.enums import CaseStatus

BIG_TABLES = ("cases", "case_events", "assignments", "deadlines", "replies", "feedback")
PAGE = 50  # the API's default page size


@dataclass(frozen=True)
class Subject:
    """What the reads look at: the demo jurisdiction's busiest department and a recent closed case."""

    jurisdiction_id: int
    department_id: int
    assignment_id: int
    case_id: int
    tracking_no: str
    open_case_id: int  # a recent case in progress: its reply deadlines are still open
    small_department_id: int  # the unit with the fewest assignments: its rows are far apart in id order


Read = Callable[[AsyncSession, Subject], Awaitable[Any]]
READS: dict[str, Read] = {}
MIN_RUNS: dict[str, int] = {}


def hot_read(name: str, *, runs: int = 0) -> Callable[[Read], Read]:
    def register(read: Read) -> Read:
        READS[name] = read
        if runs:
            MIN_RUNS[name] = runs
        return read

    return register


async def _search(session: AsyncSession, subject: Subject, filters: CaseFilters) -> Any:
    return await search_cases(session, subject.jurisdiction_id, filters, limit=PAGE)


@hot_read("case_search")
async def _case_search(session: AsyncSession, subject: Subject) -> Any:
    """GET /v1/cases: staff's first page, no filter."""
    return await _search(session, subject, CaseFilters())


@hot_read("case_search_status")
async def _case_search_status(session: AsyncSession, subject: Subject) -> Any:
    """GET /v1/cases?status=in_progress."""
    return await _search(session, subject, CaseFilters(status=CaseStatus.in_progress))


@hot_read("dispatch_queue")
async def _dispatch_queue(session: AsyncSession, subject: Subject) -> Any:
    """GET /v1/cases?status=received: the cases still waiting for a department (there is no other queue)."""
    return await _search(session, subject, CaseFilters(status=CaseStatus.received))


@hot_read("case_search_department")
async def _case_search_department(session: AsyncSession, subject: Subject) -> Any:
    """GET /v1/cases?department_id=: what one department has on its desk."""
    return await _search(session, subject, CaseFilters(department_id=subject.department_id))


@hot_read("overdue_scan")
async def _overdue_scan(session: AsyncSession, subject: Subject) -> Any:
    """GET /v1/cases?overdue=true: open cases with a lapsed accept, reply or opinion deadline."""
    return await _search(session, subject, CaseFilters(overdue=True))


@hot_read("case_by_tracking_no_staff")
async def _by_tracking_no(session: AsyncSession, subject: Subject) -> Any:
    """GET /v1/cases?tracking_no=: staff looking up the number a citizen quotes."""
    return await _search(session, subject, CaseFilters(tracking_no=subject.tracking_no))


@hot_read("public_tracking")
async def _public_tracking(session: AsyncSession, subject: Subject) -> Any:
    """GET /v1/public/cases/{no}?k=: the citizen's tracking page."""
    case = await find_case(session, subject.tracking_no, access_key(subject.tracking_no))
    return await public_view(session, case)


@hot_read("staff_case_view")
async def _staff_case_view(session: AsyncSession, subject: Subject) -> Any:
    """GET /v1/cases/{id}: everything about one case."""
    return await case_view(session, await get_case(session, subject.jurisdiction_id, subject.case_id))


async def _first_page(
    session: AsyncSession, jurisdiction_id: int, department_id: int, *, status: str | None = None
) -> Any:
    """The first page of a department's assignments, as GET /v1/assignments reads it."""
    return await list_assignments(
        session, jurisdiction_id, department_id, AssignmentFilters(status=status), limit=PAGE, after_id=None
    )


@hot_read("department_assignments")
async def _department_assignments(session: AsyncSession, subject: Subject) -> Any:
    """GET /v1/assignments: a department's first page, newest first."""
    return await _first_page(session, subject.jurisdiction_id, subject.department_id)


@hot_read("department_assignments_small")
async def _small_department_assignments(session: AsyncSession, subject: Subject) -> Any:
    """GET /v1/assignments for the department with the fewest assignments."""
    return await _first_page(session, subject.jurisdiction_id, subject.small_department_id)


@hot_read("case_search_small_department")
async def _case_search_small_department(session: AsyncSession, subject: Subject) -> Any:
    """GET /v1/cases?department_id= for the department with the fewest assignments."""
    return await _search(session, subject, CaseFilters(department_id=subject.small_department_id))


@hot_read("department_assignments_pending")
async def _department_pending(session: AsyncSession, subject: Subject) -> Any:
    """GET /v1/assignments?status=pending: what a department has yet to accept."""
    return await _first_page(session, subject.jurisdiction_id, subject.department_id, status="pending")


@hot_read("assignment_detail")
async def _assignment_detail(session: AsyncSession, subject: Subject) -> Any:
    """GET /v1/assignments/{id}: one assignment with its case, timeline and co-opinions."""
    assignment = await own_assignment(
        session, subject.jurisdiction_id, subject.department_id, subject.assignment_id
    )
    return await assignment_detail(session, assignment)


_SIMILAR_SAMPLE = 100
_similar_cases: list[int] = []


@hot_read("similar", runs=100)
async def _similar(session: AsyncSession, subject: Subject) -> Any:
    """GET /v1/cases/{id}/similar: possible duplicates of a case. Each run asks about the next of 100 cases
    spread over the newest 100,000 (texts with common words only and with rare ones), so the p95 covers the
    spread; the sample is read on the first (warm-up) run."""
    if not _similar_cases:
        rows = await session.execute(
            text(
                "SELECT id FROM cases WHERE jurisdiction_id = :j AND id > (SELECT max(id) - 100000 FROM cases)"
                " ORDER BY id DESC"
            ),
            {"j": subject.jurisdiction_id},
        )
        ids = list(rows.scalars())
        _similar_cases.extend(ids[:: max(1, len(ids) // _SIMILAR_SAMPLE)][:_SIMILAR_SAMPLE])
    case_id = _similar_cases.pop(0)
    _similar_cases.append(case_id)
    return await similar(session, await jurisdiction_case(session, subject.jurisdiction_id, case_id))


@hot_read("settle_replies")
async def _settle_replies(session: AsyncSession, subject: Subject) -> Any:
    """Supervision on every case.replied / dispatch / rework event: reply deadlines met by a reply (an UPDATE,
    rolled back here; its cost is the replies lookup per open deadline)."""
    case = await get_case(session, subject.jurisdiction_id, subject.open_case_id)
    return await settle_replies(session, case)


@hot_read("close_unrated_job")
async def _close_unrated(session: AsyncSession, subject: Subject) -> Any:
    """The worker's scan for replied cases whose rating window lapsed (closing 10 per run, rolled back: the scan is what is timed)."""
    return await close_unrated(session, datetime.now(UTC), batch_size=10)


@hot_read("alarm_scan")
async def _alarm_scan(session: AsyncSession, subject: Subject) -> Any:
    """The worker's alarm scan, one whole pass: batches of due-soon and overdue claims over the partial
    indexes of unraised alarms, their events and escalations, until a batch comes back short. The dataset
    leaves the alarms of the last few minutes unraised (and more come due while it loads); rolled back, so
    every run finds the same backlog."""
    now = datetime.now(UTC)
    raised = 0
    while True:
        batch = await raise_alarms(session, now)
        raised += batch.due_soon + batch.overdue + batch.silenced
        if max(batch.claimed) < BATCH_SIZE:
            return raised


@hot_read("supervised_cases")
async def _supervised_cases(session: AsyncSession, subject: Subject) -> Any:
    """GET /v1/supervision?level=formal: the first page of the cases under formal supervision."""
    return await list_supervised(
        session, subject.jurisdiction_id, level="formal", lead_supervisor=None, limit=PAGE, before_id=None
    )


READS.update(hot_reads_metrics.READS)
TARGETS_MS: dict[str, float] = dict(hot_reads_metrics.TARGETS_MS)


# --- measuring ---------------------------------------------------------------------------------------------


async def _subject(engine: AsyncEngine) -> Subject:
    async with engine.connect() as conn:
        jurisdiction_id, department_id = (
            await conn.execute(
                text(
                    "SELECT jurisdiction_id, department_id FROM assignments"
                    " WHERE id > (SELECT max(id) - 200000 FROM assignments)"
                    " GROUP BY 1, 2 ORDER BY count(*) DESC LIMIT 1"
                )
            )
        ).one()
        # A recent closed case: the full set of rows, on a page staff and citizens still open.
        case_id, tracking_no = (
            await conn.execute(
                text(
                    "SELECT id, tracking_no FROM cases WHERE jurisdiction_id = :j AND status = 'closed'"
                    " ORDER BY id DESC LIMIT 1 OFFSET 1000"
                ),
                {"j": jurisdiction_id},
            )
        ).one()
        small_department_id = (
            await conn.execute(
                text(
                    "SELECT department_id FROM assignments WHERE jurisdiction_id = :j"
                    " GROUP BY 1 ORDER BY count(*), department_id LIMIT 1"
                ),
                {"j": jurisdiction_id},
            )
        ).scalar_one()
        open_case_id = (
            await conn.execute(
                text(
                    "SELECT id FROM cases WHERE jurisdiction_id = :j AND status = 'in_progress'"
                    " ORDER BY id DESC LIMIT 1 OFFSET 10"
                ),
                {"j": jurisdiction_id},
            )
        ).scalar_one()
        assignment_id = (
            await conn.execute(
                text("SELECT max(id) FROM assignments WHERE department_id = :d AND status = 'replied'"),
                {"d": department_id},
            )
        ).scalar_one()
    return Subject(
        jurisdiction_id, department_id, assignment_id, case_id, tracking_no, open_case_id, small_department_id
    )


class _Recorder:
    """Collects the statements the engine runs while ``on``, with their parameters and durations."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.on = False
        self.current: list[tuple[str, Any, float]] = []
        sync = engine.sync_engine
        event.listen(sync, "before_cursor_execute", self._before)
        event.listen(sync, "after_cursor_execute", self._after)

    def _before(
        self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> None:
        conn.info["bench_started"] = time.perf_counter()

    def _after(
        self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> None:
        if self.on:
            elapsed = (time.perf_counter() - conn.info.pop("bench_started")) * 1000
            self.current.append((statement, parameters, elapsed))


def _compact(sql: str) -> str:
    return re.sub(r"\s+", " ", sql).strip()


def _seq_scans(plan: str) -> list[str]:
    found = re.findall(r"Seq Scan on (\w+)", plan)
    return sorted({table for table in found if table in BIG_TABLES})


def _execution_ms(plan: str) -> float | None:
    found = re.search(r"Execution Time: ([\d.]+) ms", plan)
    return float(found.group(1)) if found else None


def _is_setting(statement: str) -> bool:
    """A statement that changes the transaction's settings (``SET LOCAL jit = off``, ``set_config(...)``)."""
    return bool(re.match(r"\s*(SET\s|SELECT\s+set_config\()", statement, re.IGNORECASE))


async def _explain(session: AsyncSession, statement: str, parameters: Any, settings: list[str]) -> str:
    """EXPLAIN ANALYZE of a captured statement, run on the driver with the same parameters, after the settings
    the read made in its transaction (the facts statement runs with JIT off)."""
    raw = await (await session.connection()).get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    for setting in settings:
        await driver.execute(setting)
    args = list(parameters or ())
    rows = await driver.fetch(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT TEXT) {statement}", *args)
    return "\n".join(row[0] for row in rows)


async def _measure_one(
    engine: AsyncEngine, recorder: _Recorder, name: str, read: Read, subject: Subject, runs: int, warmup: int
) -> dict[str, Any]:
    factory = session_factory(engine)
    runs = max(runs, MIN_RUNS.get(name, 0))
    times: list[float] = []
    per_statement: dict[str, list[float]] = {}
    slowest: dict[str, tuple[float, Any]] = {}
    settings: dict[str, None] = {}  # parameterless settings statements, in the order the read ran them
    for n in range(warmup + runs):
        recorder.current = []
        recorder.on = True
        async with factory() as session, session.begin():
            started = time.perf_counter()
            await read(session, subject)
            elapsed = (time.perf_counter() - started) * 1000
            recorder.on = False
            await session.rollback()
        if n < warmup:
            continue
        times.append(elapsed)
        for statement, parameters, ms in recorder.current:
            per_statement.setdefault(statement, []).append(ms)
            if _is_setting(statement) and not parameters:
                settings.setdefault(statement)
            if ms >= slowest.get(statement, (-1.0, None))[0]:
                slowest[statement] = (ms, parameters)
    worst = max(per_statement, key=lambda s: statistics.median(per_statement[s]))
    async with factory() as session, session.begin():
        plan = await _explain(session, worst, slowest[worst][1], list(settings))
        await session.rollback()
    return {
        "name": name,
        "p50_ms": round(statistics.median(times), 2),
        "p95_ms": round(statistics.quantiles(times, n=20, method="inclusive")[18], 2),
        "max_ms": round(max(times), 2),
        "runs": runs,
        "target_ms": TARGETS_MS.get(name),
        "statements": [
            {"sql": _compact(s), "p50_ms": round(statistics.median(ms), 2), "calls_per_run": len(ms) / runs}
            for s, ms in per_statement.items()
        ],
        "slowest_sql": _compact(worst),
        "plan": plan,
        "plan_ms": _execution_ms(plan),
        "seq_scans": _seq_scans(plan),
    }


async def _measure(
    database_url: str, names: list[str] | None, runs: int, warmup: int
) -> list[dict[str, Any]]:
    engine = build_engine(database_url, pool_size=1)
    try:
        recorder = _Recorder(engine)
        subject = await _subject(engine)
        return [
            await _measure_one(engine, recorder, name, READS[name], subject, runs, warmup)
            for name in (names or list(READS))
        ]
    finally:
        await engine.dispose()


def measure(
    database_url: str, *, names: list[str] | None = None, runs: int = 20, warmup: int = 3
) -> list[dict[str, Any]]:
    """Times each registered hot read (or those named): [{"name", "p50_ms", "p95_ms", "max_ms", "runs",
    "statements", "slowest_sql", "plan", "seq_scans"}]."""
    return asyncio.run(_measure(database_url, names, runs, warmup))


if __name__ == "__main__":  # python -m bench.hot_reads URL [name ...]: a summary line per read
    import sys

    for result in measure(sys.argv[1], names=sys.argv[2:] or None):
        first = next((line.strip() for line in result["plan"].splitlines() if "Scan" in line), "")
        sys.stdout.write(
            f"{result['name']:32} p50 {result['p50_ms']:8.2f} p95 {result['p95_ms']:8.2f} max {result['max_ms']:8.2f}"
            f" plan {result['plan_ms']} seq {result['seq_scans']} | {first[:110]}\n"
        )
