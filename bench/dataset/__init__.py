"""A realistic dataset for `make bench`: ``generate(url, cases=1_000_000)`` loads that many cases spread over
the last months, with every assignment, event, deadline, reply and rating their lives leave behind, and each
case's search terms for the duplicate search.

Rows are built in Python in chunks (memory stays bounded) by worker processes that each stream their chunks
with a binary COPY on their own connection, so generating and loading overlap on the machine's cores.

The load runs in replica mode, so the case_events trigger that marks metric days does not fire: once loaded,
the metrics rollup (metric_days) is built for every day as ``minyi metrics rebuild`` builds it on an existing
database, and timed.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import asyncpg
import psycopg2
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.dataset.rows import COLUMNS, PER_CASE, ChunkBuilder, access_key
from bench.dataset.world import ID_TABLES, TABLES, World, read_world
from services.routing.words import warm_up
from services.supervision.metrics.rollup import RefreshResult, rebuild, refresh
from shared.db.engine import build_engine, sync_url
from shared.db.migrate import upgrade

__all__ = ["access_key", "generate"]

CHUNK = 5_000


def generate(
    database_url: str, *, cases: int = 1_000_000, months: int = 12, seed: int = 7, workers: int = 2
) -> dict[str, Any]:
    """Loads ``cases`` cases into the database (migrated first, the demo jurisdiction loaded if absent).

    Returns {"cases", "rows": {table: rows loaded}, "seconds", "rows_per_second", "rollup": {"days",
    "rows", "seconds"}} ("seconds" includes the rollup's).
    """
    started = time.perf_counter()
    upgrade(database_url, "heads")  # every head: other branches may be in flight
    world = read_world(database_url, cases=cases, months=months, seed=seed, chunk=CHUNK, per_case=PER_CASE)
    dsn = sync_url(database_url).replace("postgresql+psycopg2://", "postgresql://", 1)
    indexes = _drop_indexes(dsn)
    _progress("ready", started)
    try:
        rows = _load(database_url, world, workers)
        _progress("loaded", started)
    finally:
        # Rebuilding each index once after the load is several times cheaper than maintaining it per row.
        _create_indexes(dsn, indexes)
        _progress("indexed", started)
    _finish(dsn, world)
    _progress("analyzed", started)
    rollup = _rollup(database_url, dsn, world.jurisdiction_id)
    _progress(f"rolled up {rollup['days']} days in {rollup['seconds']}s", started)
    seconds = time.perf_counter() - started
    total = sum(rows.values())
    return {
        "cases": cases,
        "rows": rows,
        "seconds": round(seconds, 1),
        "rows_per_second": round(total / seconds),
        "rollup": rollup,
    }


def _progress(step: str, started: float) -> None:
    _say(f"{step} at {time.perf_counter() - started:.1f}s")


def _say(message: str) -> None:
    sys.stderr.write(f"bench.dataset: {message}\n")
    sys.stderr.flush()


# --- secondary indexes around the load -------------------------------------------------------------------


def _drop_indexes(dsn: str) -> list[str]:
    """Drops the loaded tables' plain indexes and returns their definitions. Indexes behind primary keys and
    unique constraints stay: they are what keeps the generated ids and tracking numbers honest."""
    conn = psycopg2.connect(dsn)
    with conn, conn.cursor() as cur:
        cur.execute(
            """
            SELECT i.relname, pg_get_indexdef(i.oid)
            FROM pg_index x
            JOIN pg_class i ON i.oid = x.indexrelid
            JOIN pg_class t ON t.oid = x.indrelid
            WHERE t.relnamespace = current_schema()::regnamespace
              AND t.relname = ANY(%s)
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
            ORDER BY i.relname
            """,
            (list(TABLES),),
        )
        found = cur.fetchall()
        for name, _ in found:
            cur.execute(f'DROP INDEX "{name}"')
        for table in TABLES:
            # Autovacuum would rescan the growing tables again and again while they load.
            cur.execute(f"ALTER TABLE {table} SET (autovacuum_enabled = off)")
    conn.close()
    return [definition for _, definition in found]


def _create_indexes(dsn: str, definitions: list[str]) -> None:
    def create(definition: str) -> None:
        conn = psycopg2.connect(dsn)
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute("SET maintenance_work_mem = '256MB'")
                cur.execute(definition)
        finally:
            conn.close()

    # Two at a time: one per core; the biggest first so they finish together.
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(create, sorted(definitions, key=lambda d: "case_events" not in d)))
    conn = psycopg2.connect(dsn)
    with conn, conn.cursor() as cur:
        for table in TABLES:
            cur.execute(f"ALTER TABLE {table} RESET (autovacuum_enabled)")
    conn.close()


# --- the load ------------------------------------------------------------------------------------------------

_worker: dict[str, Any] = {}
_PG_EPOCH = 946_684_800  # 2000-01-01T00:00:00Z in Unix seconds


def _connect_args(url: str) -> dict[str, Any]:
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    host = parsed.query.get("host") or parsed.host
    return {
        "host": host if isinstance(host, str) else None,
        "port": parsed.port,
        "user": parsed.username,
        "password": parsed.password,
        "database": parsed.database,
    }


def _init_worker(url: str, world: World) -> None:
    loop = asyncio.new_event_loop()
    conn = loop.run_until_complete(asyncpg.connect(**_connect_args(url)))
    # The rows reference each other consistently by construction, so the per-row foreign-key triggers only
    # cost time; replica mode skips them (CHECK constraints and unique indexes still apply). Only a
    # superuser may set it: others load with the checks on.
    try:
        loop.run_until_complete(conn.execute("SET session_replication_role = replica"))
    except asyncpg.InsufficientPrivilegeError:
        _say("not a superuser; foreign keys are checked row by row")
    loop.run_until_complete(conn.execute("SET synchronous_commit = off"))
    # The generator keeps moments as epoch seconds: encode them straight to PostgreSQL's binary form
    # (microseconds since 2000-01-01) instead of building a datetime object for each of ~40M values.
    loop.run_until_complete(
        conn.set_type_codec(
            "timestamptz",
            schema="pg_catalog",
            encoder=lambda seconds: (int((seconds - _PG_EPOCH) * 1_000_000),),
            decoder=lambda value: value,
            format="tuple",
        )
    )
    # Search terms arrive already in tsvector's binary form (bench.dataset.texts.encode_tsvector).
    loop.run_until_complete(
        conn.set_type_codec(
            "tsvector",
            schema="pg_catalog",
            encoder=lambda value: value,
            decoder=lambda value: value,
            format="binary",
        )
    )
    _worker.update(loop=loop, conn=conn, world=world)


def _load_chunk(k: int) -> dict[str, int]:
    rows = ChunkBuilder(_worker["world"], k, CHUNK).build()

    async def copy() -> None:
        conn: asyncpg.Connection = _worker["conn"]
        async with conn.transaction():
            for table in TABLES:
                if rows[table]:
                    await conn.copy_records_to_table(table, records=rows[table], columns=COLUMNS[table])

    _worker["loop"].run_until_complete(copy())
    return {table: len(rows[table]) for table in TABLES}


def _close_worker() -> None:
    if "conn" in _worker:
        _worker["loop"].run_until_complete(_worker["conn"].close())


def _load(url: str, world: World, workers: int) -> dict[str, int]:
    chunks = -(-world.cases // CHUNK)
    totals = dict.fromkeys(TABLES, 0)
    # Fork: the children inherit the imported modules (and jieba's loaded dictionary); each opens its own
    # connection after the fork.
    warm_up()
    context = multiprocessing.get_context("fork")
    with context.Pool(workers, initializer=_init_worker, initargs=(url, world)) as pool:
        step = max(1, chunks // 10)
        for done, counts in enumerate(pool.imap_unordered(_load_chunk, range(chunks)), 1):
            for table, n in counts.items():
                totals[table] += n
            if done % step == 0:
                _say(f"{done}/{chunks} chunks")
    return totals


def _finish(dsn: str, world: World) -> None:
    """Sequences past the loaded ids, tracking counters past the loaded numbers, fresh statistics."""
    conn = psycopg2.connect(dsn)
    with conn, conn.cursor() as cur:
        for table in ID_TABLES:
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"  # noqa: S608 (our own table names)
            )
        # The intake allocator starts a day at its counter: new submissions must not reuse loaded numbers.
        prefix = len(world.code)
        cur.execute(
            """
            INSERT INTO tracking_counters (jurisdiction_id, day, next_value)
            SELECT jurisdiction_id, to_date(substr(tracking_no, %(p)s + 1, 8), 'YYYYMMDD'),
                   max(split_part(tracking_no, '-', 2)::bigint) + 1
            FROM cases WHERE jurisdiction_id = %(j)s AND id >= %(first)s
            GROUP BY 1, 2
            ON CONFLICT (jurisdiction_id, day)
            DO UPDATE SET next_value = greatest(tracking_counters.next_value, excluded.next_value)
            """,
            {"p": prefix, "j": world.jurisdiction_id, "first": world.case_base},
        )
    conn.close()
    # VACUUM too: it sets the visibility map (index-only scans, as on a database that has been running a
    # while) and leaves autovacuum nothing to do while the hot reads are timed.
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f"VACUUM (ANALYZE) {', '.join(TABLES)}, tracking_counters")
    conn.close()


# --- the metrics rollup ----------------------------------------------------------------------------------------


def _rollup(database_url: str, dsn: str, jurisdiction_id: int) -> dict[str, Any]:
    """Builds metric_days for every day of the jurisdiction with the rollup's own rebuild (what
    ``minyi metrics rebuild`` runs) and returns {"days", "rows", "seconds"}. A refresh run stops early when
    another transaction stays open (an autovacuum worker, say) and leaves its days marked, as the worker's
    next run would take them: so does this, until no mark is left."""

    async def run() -> RefreshResult:
        engine = build_engine(database_url, pool_size=2)
        try:
            result = await rebuild(engine, jurisdiction_id)
            while await _marked(engine, jurisdiction_id):
                again = await refresh(engine)
                result.days += again.days
                result.failed += again.failed
                if again.failed:
                    break
            return result
        finally:
            await engine.dispose()

    started = time.perf_counter()
    result = asyncio.run(run())
    seconds = time.perf_counter() - started
    if result.failed:
        raise RuntimeError(f"metrics rollup: {result.failed} days failed to recompute")
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("VACUUM (ANALYZE) metric_days")
        cur.execute("SELECT count(*) FROM metric_days WHERE jurisdiction_id = %s", (jurisdiction_id,))
        found = cur.fetchone()
    conn.close()
    return {"days": result.days, "rows": found[0] if found else 0, "seconds": round(seconds, 1)}


async def _marked(engine: AsyncEngine, jurisdiction_id: int) -> bool:
    async with engine.connect() as conn:
        found = await conn.scalar(
            text("SELECT EXISTS (SELECT 1 FROM metric_dirty_days WHERE jurisdiction_id = :j)"),
            {"j": jurisdiction_id},
        )
    return bool(found)
