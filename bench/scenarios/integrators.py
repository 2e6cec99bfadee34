"""Scenario 'integrators': the integrators' and operators' paths (Minyi issue 11).

Over one fresh database holding a year of citizens' cases (bench.dataset; quick 20k, full 200k, so about a
quarter fall in Open311's default 90-day window), with intake_api (as many workers as `minyi up` gives it)
and supervision_api started on loopback ports:

1. Open311 reads, one request at a time: GET requests.json and .xml (default window: 1,000 results), the
   same filtered on status=open and the busiest service_code, requests/{id}.json (a different case each
   time), servicerequestupdates.json for the last day and the last 90 days; p50/p95 and the answer's size.
2. The Prometheus request middleware: its cost per request in process (bench.scenarios
   .integrators_middleware), and scrapes of intake_api's /metrics after the Open311 traffic.
3. Webhook recovery: POST /v1/webhooks/{id}/recover for an integrator's endpoint over a window holding
   recover_rows outbox rows (as many again lie in the weeks before it): with no delivery of them yet (the
   endpoint was disabled), at once again (every one still pending) and after they were all given up.
   No relay runs, so nothing is sent.
4. `minyi secrets reencrypt` with MINYI_SECRET_KEY "NEW,OLD" after every case got a name and a phone
   encrypted under OLD (the services ran under OLD), then its --dry-run, which must find everything current.
"""

from __future__ import annotations

import json
import re
import secrets
import statistics
import time
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.engine import Engine

from bench import loadgen, stack
from bench.scenarios import integrators_middleware
from bench.settings import Settings
from shared.settings import get_settings


@dataclass(frozen=True)
class Sizes:
    cases: int
    months: int
    runs: int  # timed requests per Open311 read (after 2 untimed)
    scrapes: int
    recover_rows: int
    middleware_requests: int
    pii_pool: int  # distinct (name, phone) ciphertexts spread over the cases


def sizes(settings: Settings) -> Sizes:
    if settings.quick:
        return Sizes(20_000, 12, 30, 10, 10_000, 10_000, 500)
    return Sizes(200_000, 12, 50, 30, 50_000, 40_000, 2_000)


def _ms(values: list[float]) -> dict[str, Any]:
    return {"n": len(values), **loadgen.summary_ms([v * 1000 for v in values])}


# --- 1. Open311 reads --------------------------------------------------------------------------------------


def _results(response: httpx.Response) -> int:
    if response.headers.get("content-type", "").startswith("application/json"):
        return len(response.json())
    return response.text.count("<request>") or response.text.count("<request_update>")


def _timed_gets(client: httpx.Client, paths: list[str], params: dict[str, str]) -> dict[str, Any]:
    """GETs ``paths`` one after another (the first two untimed); each must answer 200."""
    timings: list[float] = []
    sizes_: list[int] = []
    results: list[int] = []
    for i, path in enumerate(paths):
        started = time.perf_counter()
        response = client.get(path, params=params)
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} answered {response.status_code}: {response.text[:300]}")
        if i >= 2:
            timings.append(elapsed)
            sizes_.append(len(response.content))
            results.append(_results(response))
    return {
        **_ms(timings),
        "bytes": round(statistics.median(sizes_)),
        "results": round(statistics.median(results)),
    }


def _open311(url: str, engine: Engine, runs: int) -> dict[str, Any]:
    with engine.connect() as conn:
        busiest = conn.execute(
            text(
                """
                SELECT cat.code, count(*) FROM cases c JOIN categories cat ON cat.id = c.category_id
                WHERE c.kind = 'citizen' AND c.created_at >= now() - interval '90 days'
                  AND c.status NOT IN ('closed', 'merged', 'rejected')
                GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1
                """
            )
        ).one()
        tracking = list(
            conn.execute(
                text("SELECT tracking_no FROM cases WHERE kind = 'citizen' ORDER BY random() LIMIT :n"),
                {"n": runs + 2},
            ).scalars()
        )
        in_window = conn.execute(
            text(
                "SELECT count(*) FILTER (WHERE created_at >= now() - interval '90 days'), count(*)"
                " FROM cases WHERE kind = 'citizen'"
            )
        ).one()
    now = datetime.now(UTC).replace(microsecond=0)
    last_day = {"since": (now - timedelta(days=1)).isoformat()}
    last_90 = {"since": (now - timedelta(days=90)).isoformat()}
    repeat = runs + 2
    reads: dict[str, Any] = {}
    with httpx.Client(base_url=f"{url}/open311/v2", timeout=60) as client:
        plan: list[tuple[str, list[str], dict[str, str]]] = [
            ("requests.json", ["/requests.json"] * repeat, {}),
            ("requests.xml", ["/requests.xml"] * repeat, {}),
            (
                "requests.json?status=open&service_code",
                ["/requests.json"] * repeat,
                {"status": "open", "service_code": str(busiest[0])},
            ),
            ("requests/{id}.json", [f"/requests/{no}.json" for no in tracking], {}),
            ("servicerequestupdates.json last day", ["/servicerequestupdates.json"] * repeat, last_day),
            ("servicerequestupdates.json last 90 days", ["/servicerequestupdates.json"] * repeat, last_90),
        ]
        for name, paths, params in plan:
            reads[name] = _timed_gets(client, paths, params)
    return {
        "citizen_cases": in_window[1],
        "citizen_cases_in_default_window": in_window[0],
        "service_code": str(busiest[0]),
        "service_code_open_in_window": busiest[1],
        "reads": reads,
    }


def _scrapes(url: str, count: int) -> dict[str, Any]:
    """GET /metrics ``count`` times (the first two untimed) on a service that has served traffic."""
    timings: list[float] = []
    body = b""
    with httpx.Client(timeout=30) as client:
        for i in range(count + 2):
            started = time.perf_counter()
            response = client.get(f"{url}/metrics")
            elapsed = time.perf_counter() - started
            response.raise_for_status()
            body = response.content
            if i >= 2:
                timings.append(elapsed)
    lines = body.decode().splitlines()
    return {
        **_ms(timings),
        "bytes": len(body),
        "samples": sum(1 for line in lines if line and not line.startswith("#")),
        "http_series": sum(1 for line in lines if line.startswith("minyi_http_requests_total{")),
    }


# --- 3. webhook recovery ------------------------------------------------------------------------------------

# Case events as the services write them (services.workflow.service.case_payload), over the loaded cases.
_FILL_OUTBOX = text(
    """
    INSERT INTO outbox (event_id, jurisdiction_id, case_id, type, payload, occurred_at, created_at,
                        fanned_out_at)
    SELECT gen_random_uuid(), c.jurisdiction_id, c.id,
           (ARRAY['case.received', 'case.dispatched', 'case.accepted', 'case.progress', 'case.replied',
                  'case.feedback', 'case.closed'])[1 + s.g % 7],
           jsonb_build_object('case_id', c.id, 'tracking_no', c.tracking_no, 'jurisdiction', 'GS',
                              'status', c.status, 'category_code', cat.code,
                              'department_ids', jsonb_build_array(3, 7)),
           s.at, s.at, s.at
    FROM (
        SELECT g, (g * 7919) % (SELECT count(*) FROM cases) AS k,
               CAST(:start AS timestamptz) + (CAST(:end AS timestamptz) - CAST(:start AS timestamptz))
                   * (g::float8 / :rows) AS at
        FROM generate_series(0, :rows - 1) AS g
    ) AS s
    JOIN (SELECT id, jurisdiction_id, tracking_no, status, category_id,
                 row_number() OVER (ORDER BY id) - 1 AS k FROM cases) AS c ON c.k = s.k
    LEFT JOIN categories cat ON cat.id = c.category_id
    ORDER BY s.at
    """
)


def _fill_outbox(engine: Engine, rows: int, since: datetime, until: datetime) -> dict[str, Any]:
    """``rows`` events evenly in [since, until) and as many in the 28 days before ``since``."""
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(_FILL_OUTBOX, {"rows": rows, "start": since - timedelta(days=28), "end": since})
        conn.execute(_FILL_OUTBOX, {"rows": rows, "start": since, "end": until})
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM (ANALYZE) outbox"))
        total = conn.execute(text("SELECT count(*) FROM outbox")).scalar_one()
    return {"outbox_rows": total, "fill_seconds": round(time.perf_counter() - started, 1)}


def _recover_call(client: httpx.Client, webhook_id: int, since: datetime, until: datetime) -> dict[str, Any]:
    started = time.perf_counter()
    response = client.post(
        f"/v1/webhooks/{webhook_id}/recover", json={"since": since.isoformat(), "until": until.isoformat()}
    )
    seconds = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"recover answered {response.status_code}: {response.text[:300]}")
    return {"seconds": round(seconds, 2), **response.json()}


def _recovery(url: str, integrator_key: str, engine: Engine, rows: int) -> dict[str, Any]:
    until = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    since = until - timedelta(days=1)
    filled = _fill_outbox(engine, rows, since, until)
    headers = {"Authorization": f"Bearer {integrator_key}"}
    with httpx.Client(base_url=url, headers=headers, timeout=600) as client:
        # Nothing listens there and no relay runs: the deliveries stay queued.
        created = client.post(
            "/v1/webhooks", json={"url": f"http://127.0.0.1:{stack.free_port()}/hook", "event_types": []}
        )
        created.raise_for_status()
        webhook_id = int(created.json()["id"])
        fresh = _recover_call(client, webhook_id, since, until)
        repeat = _recover_call(client, webhook_id, since, until)
        with engine.begin() as conn:
            conn.execute(
                text(
                    "UPDATE webhook_deliveries SET status = 'failed', attempts = 7, delivered_at = NULL"
                    " WHERE endpoint_id = :id"
                ),
                {"id": webhook_id},
            )
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(
                text("VACUUM (ANALYZE) webhook_deliveries")
            )
        given_up = _recover_call(client, webhook_id, since, until)
    for label, call in (("fresh", fresh), ("given up", given_up)):
        if call["requeued"] != rows:
            raise RuntimeError(f"recover ({label}) requeued {call['requeued']} of {rows}")
    return {
        "window_rows": rows,
        "window": [since.isoformat(), until.isoformat()],
        **filled,
        "no_deliveries_yet": fresh,
        "all_still_pending": repeat,
        "all_given_up": given_up,
        "rows_per_second_fresh": round(rows / fresh["seconds"]) if fresh["seconds"] else None,
    }


# --- 4. re-encryption ----------------------------------------------------------------------------------------


def _encrypt_cases_under(engine: Engine, old: str, pool: int) -> int:
    """Gives every case a name and a phone encrypted under ``old`` (``pool`` distinct pairs: re-encrypting
    costs the same whatever the text) and returns how many cases there are."""
    from shared.security.pii import encrypt

    configured = get_settings().secret_keys
    get_settings().secret_keys = (old,)
    try:
        pairs = [
            {"k": k, "name": encrypt(f"测试{k:04d}"), "phone": encrypt(f"138{k:08d}")} for k in range(pool)
        ]
    finally:
        get_settings().secret_keys = configured
    with engine.begin() as conn:
        conn.execute(text("CREATE TEMP TABLE bench_pii (k int PRIMARY KEY, name bytea, phone bytea)"))
        conn.execute(text("INSERT INTO bench_pii VALUES (:k, :name, :phone)"), pairs)
        conn.execute(
            text(
                "UPDATE cases c SET submitter_name_enc = p.name, submitter_phone_enc = p.phone"
                " FROM bench_pii p WHERE p.k = c.id % :pool"
            ),
            {"pool": pool},
        )
        cases = int(conn.execute(text("SELECT count(*) FROM cases")).scalar_one())
    with engine.connect() as conn:
        # As autovacuum would have left it: the walk must not be timed over a table of dead rows.
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM (ANALYZE) cases"))
    return cases


_COUNTS = re.compile(
    r"^(\S+)\s+(\d+) (?:re-encrypted|to re-encrypt), (\d+) already current, (\d+) unreadable"
)


def _command(env: dict[str, str], *args: str) -> tuple[float, dict[str, list[int]]]:
    started = time.perf_counter()
    out = stack.cli(env, *args, timeout=3600)
    seconds = time.perf_counter() - started
    counts = {m[1]: [int(m[2]), int(m[3]), int(m[4])] for m in map(_COUNTS.match, out.splitlines()) if m}
    return seconds, counts


def _reencrypt(env: dict[str, str], engine: Engine, old: str, pool: int) -> dict[str, Any]:
    cases = _encrypt_cases_under(engine, old, pool)
    rotated = {**env, "MINYI_SECRET_KEY": f"{secrets.token_urlsafe(32)},{old}"}
    seconds, counts = _command(rotated, "secrets", "reencrypt")
    dry_seconds, dry_counts = _command(rotated, "secrets", "reencrypt", "--dry-run")
    name = counts.get("cases.submitter_name_enc", [0, 0, 0])
    if name[0] != cases or any(c[0] or c[2] for c in dry_counts.values()):
        raise RuntimeError(f"reencrypt: {counts} then (dry run) {dry_counts}; {cases} cases")
    return {
        "cases": cases,
        "values": sum(c[0] for c in counts.values()),
        "seconds": round(seconds, 1),
        "rows_per_second": round(cases / seconds),
        "columns": counts,
        "dry_run_seconds": round(dry_seconds, 1),
        "dry_run_rows_per_second": round(cases / dry_seconds),
        "note": "wall time of the command, its start-up included",
    }


# --- the run -------------------------------------------------------------------------------------------------


def _serve(name: str, port: int, workers: int, env: dict[str, str], work: Path) -> stack.Proc:
    args = ["-m", "services.cli", "serve", name, "--port", str(port), "--workers", str(workers)]
    return stack.spawn(name, args, env, work)


def _stop(procs: dict[str, stack.Proc], settings: Settings) -> None:
    """Stops (once) the services started; says so when one of them logged a traceback."""
    while procs:
        name, proc = procs.popitem()
        proc.stop(timeout=10)
        if "Traceback" in proc.tail():
            settings.log(f"{name} log tail:\n{proc.tail()}")


def run(server: stack.Server, settings: Settings) -> dict[str, Any]:
    size = sizes(settings)
    # First, while nothing else runs here.
    settings.log(f"integrators: middleware cost, {size.middleware_requests:,} requests per variant and mode")
    middleware = integrators_middleware.measure(size.middleware_requests)
    database_url = server.create("integrators")
    old = secrets.token_urlsafe(32)
    out: dict[str, Any] = {"sizes": vars(size), "middleware": middleware}
    with stack.workdir("integrators") as work, ExitStack() as cleanup:
        cleanup.callback(server.drop, database_url)
        ports = {name: stack.free_port() for name in ("intake", "routing", "supervision")}
        # Every value the services and the demo encrypt is under OLD, which the re-encryption retires.
        env = {**stack.base_env(database_url, work, ports), "MINYI_SECRET_KEY": old}
        stack.cli(env, "demo")
        keys = json.loads((work / "demo-keys.json").read_text())
        workers = {"intake": stack.up_workers("intake"), "supervision": stack.up_workers("supervision")}
        # Started now, so they boot while the cases load (nothing is timed before both are ready).
        procs = {name: _serve(name, ports[name], n, env, work) for name, n in workers.items()}
        cleanup.callback(_stop, procs, settings)
        urls = {name: f"http://127.0.0.1:{ports[name]}" for name in procs}
        from bench.dataset import generate

        settings.log(f"integrators: generating {size.cases:,} cases over {size.months} months")
        out["dataset"] = generate(database_url, cases=size.cases, months=size.months)
        engine = stack.engine_for(database_url)
        cleanup.callback(engine.dispose)
        for name, proc in procs.items():
            stack.wait_ready(urls[name], proc.popen)
        settings.log(f"integrators: Open311 reads, {size.runs} of each")
        out["open311"] = {"service_workers": workers["intake"], **_open311(urls["intake"], engine, size.runs)}
        out["metrics_scrape"] = {
            "service_workers": workers["intake"],
            **_scrapes(urls["intake"], size.scrapes),
        }
        settings.log(f"integrators: webhook recovery over {size.recover_rows:,} outbox rows")
        out["recovery"] = _recovery(urls["supervision"], keys["integrator"], engine, size.recover_rows)
        _stop(procs, settings)
        settings.log("integrators: minyi secrets reencrypt (NEW,OLD)")
        out["reencrypt"] = _reencrypt(env, engine, old, size.pii_pool)
    return {"integrators": out}
