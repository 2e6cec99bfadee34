"""Scenarios 1 and 2: JSON submissions and the form page, against the intake service alone.

The service runs as `minyi serve intake --workers N` (N as `minyi up` has it) over a fresh database with
the demo loaded. In the same run, pgbench performs the same three inserts (case, case_event, outbox, plus
the NOTIFY) in one transaction, with column values copied from a case the service wrote: the ceiling the
service could approach. Then an open-loop client offers half the pgbench rate for a fixed time.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench import loadgen, stack
from bench.settings import Settings

BODY = json.dumps(
    {"description": "平江路垃圾桶满溢三天无人清运，请尽快处理", "category_code": "urban.sanitation"},
    ensure_ascii=False,
).encode()


@dataclass
class IntakeStack:
    url: str
    port: int
    token: str
    database_url: str
    work: Path
    workers: int
    proc: stack.Proc


@contextlib.contextmanager
def intake_stack(
    server: stack.Server, settings: Settings, env_overrides: dict[str, str] | None = None
) -> Iterator[IntakeStack]:
    """The intake service over a fresh database with the demo loaded; ``env_overrides`` (e.g. other abuse
    limits) are laid over stack.base_env."""
    database_url = server.create("intake")
    with stack.workdir("intake") as work:
        ports = {"intake": stack.free_port(), "routing": stack.free_port(), "supervision": stack.free_port()}
        env = {**stack.base_env(database_url, work, ports), **(env_overrides or {})}
        stack.cli(env, "demo")
        engine = stack.engine_for(database_url)
        with engine.connect() as conn:
            token = conn.execute(
                text("SELECT token FROM intake_codes WHERE status = 'active' ORDER BY id LIMIT 1")
            ).scalar_one()
        engine.dispose()
        workers = stack.up_workers("intake")
        args = [
            "-m",
            "services.cli",
            "serve",
            "intake",
            "--port",
            str(ports["intake"]),
            "--workers",
            str(workers),
        ]
        proc = stack.spawn("intake", args, env, work)
        url = f"http://127.0.0.1:{ports['intake']}"
        try:
            stack.wait_ready(url, proc.popen)
            yield IntakeStack(url, ports["intake"], str(token), database_url, work, workers, proc)
        finally:
            proc.stop(timeout=10)
            if "Traceback" in proc.tail():
                settings.log(f"intake log tail:\n{proc.tail()}")
            server.drop(database_url)


def _literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def pgbench_script(database_url: str) -> str:
    """The intake transaction as pgbench SQL, its values copied from the newest case the service wrote."""
    engine = stack.engine_for(database_url)
    with engine.connect() as conn:
        case = (
            conn.execute(
                text(
                    "SELECT id, jurisdiction_id, kind, category_id, request_type, urgency, description, confidential,"
                    " source, intake_code_id, station_id, deputy_id, grid_id, tier FROM cases ORDER BY id DESC LIMIT 1"
                )
            )
            .mappings()
            .one()
        )
        event = conn.execute(
            text("SELECT actor_type, public, data FROM case_events WHERE case_id = :id ORDER BY id LIMIT 1"),
            {"id": case["id"]},
        ).one()
        payload = conn.execute(
            text("SELECT payload FROM outbox WHERE case_id = :id ORDER BY id LIMIT 1"), {"id": case["id"]}
        ).scalar_one()
        conn.execute(text("CREATE SEQUENCE IF NOT EXISTS bench_pgbench_tracking"))
        conn.commit()
    engine.dispose()
    c = {k: _literal(v) for k, v in case.items()}
    prefix = _literal(str(payload.get("jurisdiction", "GS")) + "PB")
    rest = {k: v for k, v in payload.items() if k not in ("case_id", "tracking_no")}
    return f"""BEGIN;
INSERT INTO cases (jurisdiction_id, tracking_no, access_key_hash, status, kind, category_id, request_type, urgency,
  title, description, location_text, lat, long, submitter_name_enc, submitter_phone_enc, confidential, source,
  intake_code_id, submission_key, station_id, deputy_id, grid_id, tier, rework_round)
VALUES ({c["jurisdiction_id"]}, {prefix} || to_char(now(), 'YYYYMMDD') || '-' || nextval('bench_pgbench_tracking'),
  encode(sha256(random()::text::bytea), 'hex'), 'received', {c["kind"]}, {c["category_id"]}, {c["request_type"]},
  {c["urgency"]}, NULL, {c["description"]}, NULL, NULL, NULL, NULL, NULL, {c["confidential"]}, {c["source"]},
  {c["intake_code_id"]}, NULL, {c["station_id"]}, {c["deputy_id"]}, {c["grid_id"]}, {c["tier"]}, 0)
RETURNING id AS case_id, tracking_no AS tracking_no \\gset
INSERT INTO case_events (jurisdiction_id, case_id, type, at, actor_type, actor_id, public, from_status, to_status, data)
VALUES ({c["jurisdiction_id"]}, (:case_id)::bigint, 'received', now(), {_literal(event[0])}, NULL, {_literal(event[1])}, NULL,
  'received', {_literal(json.dumps(event[2], ensure_ascii=False))});
INSERT INTO outbox (event_id, jurisdiction_id, case_id, type, payload, occurred_at)
VALUES (gen_random_uuid(), {c["jurisdiction_id"]}, (:case_id)::bigint, 'case.received',
  jsonb_build_object('case_id', (:case_id)::bigint, 'tracking_no', (:tracking_no)::text)
    || {_literal(json.dumps(rest, ensure_ascii=False))}::jsonb, now());
SELECT pg_notify('minyi_outbox', '');
COMMIT;
"""  # noqa: S608 (literals from our own database, quoted by _literal)


def run(server: stack.Server, settings: Settings, only: set[str]) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with intake_stack(server, settings) as s:
        submit_url = f"{s.url}/v1/public/codes/{s.token}/cases"
        form_url = f"{s.url}/c/{s.token}"
        if "form" in only:  # first: the submissions below leave the service busy for a while
            settings.log(f"form: wrk GET /c/<token> {settings.form_seconds}s at c=16")
            loadgen.wrk(form_url, seconds=settings.warmup_seconds, connections=16, work_dir=s.work)
            results["form"] = {
                "service_workers": s.workers,
                "http": loadgen.wrk(form_url, seconds=settings.form_seconds, connections=16, work_dir=s.work),
            }
        if "intake" in only:
            settings.log(
                f"intake: warm-up, then wrk {settings.intake_seconds}s at c=16 ({s.workers} worker(s))"
            )
            loadgen.wrk(
                submit_url, seconds=settings.warmup_seconds, connections=16, work_dir=s.work, body=BODY
            )
            http = loadgen.wrk(
                submit_url, seconds=settings.intake_seconds, connections=16, work_dir=s.work, body=BODY
            )
            settings.log(f"intake: wrk {http['rate']}/s; pgbench {settings.intake_seconds}s")
            script = pgbench_script(s.database_url)
            ceiling = loadgen.pgbench(
                stack.libpq_url(s.database_url),
                script,
                seconds=settings.intake_seconds,
                clients=16,
                work_dir=s.work,
            )
            ratio = round(http["rate"] / ceiling["rate"], 3) if http["rate"] and ceiling["rate"] else None
            half = round(ceiling["rate"] / 2, 1) if ceiling["rate"] else 50.0
            settings.log(
                f"intake: pgbench {ceiling['rate']}/s; open loop at {half}/s for {settings.open_seconds}s"
            )
            plan = loadgen.Plan(
                port=s.port,
                path=f"/v1/public/codes/{s.token}/cases",
                body=BODY,
                rate=half,
                seconds=settings.open_seconds,
                processes=settings.client_processes,
                timeout=settings.request_timeout,
            )
            offered = loadgen.open_loop(plan).figures()
            offered["client_processes"] = plan.processes
            results["intake"] = {
                "service_workers": s.workers,
                "http": http,
                "pgbench": ceiling,
                "ratio_http_to_pgbench": ratio,
                "open_loop_half_pgbench": offered,
                "open_loop_p99_target_ms": 50,
                "pgbench_script": script,
            }
    return results
