"""Scenario 3 (and 5): the whole stack as `minyi up` runs it, from submission to webhook.

`minyi up` runs as a subprocess over a fresh database; one integrator webhook (case.dispatched) points at
bench.receiver in its own process. For each steady rate an open-loop client submits cases; per case we
take the delay from its scheduled submission to cases.dispatched_at, to the creation of its first
deadlines row (deadlines.created_at) and to the arrival of its webhook. The backlog is read
`backlog_after_seconds` after the load stops; then the run waits (bounded) for it to drain before the next
rate. The memory of every process is read once the last rate has drained.
"""

from __future__ import annotations

import json
import signal
import time
from typing import Any

import httpx
from sqlalchemy import bindparam, text
from sqlalchemy.engine import Engine

from bench import loadgen, stack
from bench.scenarios.intake import BODY
from bench.settings import Settings

WEBHOOK_P95_TARGET_MS = 300.0


def _count(engine: Engine, sql: str, **params: Any) -> int | None:
    statement = text(sql)
    if "nos" in params:
        statement = statement.bindparams(bindparam("nos", expanding=True))
    try:
        with engine.connect() as conn:
            return int(conn.execute(statement, params).scalar_one())
    except Exception:  # a table renamed by newer code: report "unknown" rather than fail the run
        return None


def backlog(engine: Engine, receiver_url: str, nos: list[str]) -> dict[str, int | None]:
    arrived = httpx.get(f"{receiver_url}/stats", timeout=30).json()["arrivals"]
    return {
        "cases_not_dispatched": _count(
            engine, "SELECT count(*) FROM cases WHERE tracking_no IN :nos AND dispatched_at IS NULL", nos=nos
        )
        if nos
        else 0,
        "outbox_not_fanned_out": _count(engine, "SELECT count(*) FROM outbox WHERE fanned_out_at IS NULL"),
        "webhook_deliveries_pending": _count(
            engine, "SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'"
        ),
        "webhooks_not_received": sum(1 for no in nos if no not in arrived),
    }


def _drained(state: dict[str, int | None]) -> bool:
    return all(not value for value in state.values())


def delays(engine: Engine, receiver_url: str, kept: list[tuple[float, str]]) -> dict[str, Any]:
    scheduled = {no: at for at, no in kept}
    rows: list[Any] = []
    if scheduled:
        statement = text(
            "SELECT c.tracking_no, extract(epoch FROM c.dispatched_at),"
            " (SELECT extract(epoch FROM min(d.created_at)) FROM deadlines d WHERE d.case_id = c.id)"
            " FROM cases c WHERE c.tracking_no IN :nos"
        ).bindparams(bindparam("nos", expanding=True))
        with engine.connect() as conn:
            rows = list(conn.execute(statement, {"nos": list(scheduled)}))
    arrivals = httpx.get(f"{receiver_url}/stats", timeout=30).json()["arrivals"]
    to_dispatch = [(float(r[1]) - scheduled[r[0]]) * 1000 for r in rows if r[1] is not None]
    to_deadline = [(float(r[2]) - scheduled[r[0]]) * 1000 for r in rows if r[2] is not None]
    to_webhook = [(arrivals[no] - at) * 1000 for no, at in scheduled.items() if no in arrivals]
    return {
        "cases": len(scheduled),
        "to_dispatched": {"n": len(to_dispatch), **loadgen.summary_ms(to_dispatch)},
        "to_deadlines": {"n": len(to_deadline), **loadgen.summary_ms(to_deadline)},
        "to_webhook": {"n": len(to_webhook), **loadgen.summary_ms(to_webhook)},
    }


def _one_rate(
    settings: Settings, engine: Engine, port: int, path: str, receiver_url: str, rate: float
) -> dict[str, Any]:
    settings.log(f"pipeline: {rate:g} cases/s for {settings.pipeline_seconds}s")
    plan = loadgen.Plan(
        port=port,
        path=path,
        body=BODY,
        rate=rate,
        seconds=settings.pipeline_seconds,
        processes=settings.client_processes,
        timeout=settings.request_timeout,
        keep_key="tracking_no",
    )
    offered = loadgen.open_loop(plan)
    nos = [no for _, no in offered.kept]
    time.sleep(settings.backlog_after_seconds)
    after = backlog(engine, receiver_url, nos)
    waited_from = time.monotonic()
    state = after
    while not _drained(state) and time.monotonic() - waited_from < settings.drain_seconds:
        time.sleep(1)
        state = backlog(engine, receiver_url, nos)
    figures = offered.figures()
    figures["client_processes"] = plan.processes
    return {
        "rate": rate,
        "submissions": figures,
        "delays": delays(engine, receiver_url, offered.kept),
        f"backlog_{settings.backlog_after_seconds:g}s_after": after,
        "drain_seconds": round(time.monotonic() - waited_from + settings.backlog_after_seconds, 1),
        "drained": _drained(state),
        "backlog_at_end_of_wait": state,
    }


def run(server: stack.Server, settings: Settings) -> dict[str, Any]:
    database_url = server.create("pipeline")
    with stack.workdir("pipeline") as work:
        ports = {name: stack.free_port() for name in ("intake", "routing", "supervision")}
        env = stack.base_env(database_url, work, ports)
        urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
        settings.log("pipeline: starting `minyi up`")
        up = stack.spawn("up", ["-m", "services.cli", "up"], env, work)
        receiver: stack.Proc | None = None
        engine = stack.engine_for(database_url)
        try:
            for url in urls.values():
                stack.wait_ready(url, up.popen, timeout=180)
            keys = json.loads((work / "demo-keys.json").read_text())
            codes = httpx.get(
                f"{urls['intake']}/v1/intake-codes",
                headers={"Authorization": f"Bearer {keys['admin']}"},
                timeout=30,
            )
            codes.raise_for_status()
            token = next(c["token"] for c in codes.json()["items"] if c.get("status", "active") == "active")
            receiver_port = stack.free_port()
            hook = httpx.post(
                f"{urls['supervision']}/v1/webhooks",
                headers={"Authorization": f"Bearer {keys['integrator']}"},
                json={"url": f"http://127.0.0.1:{receiver_port}/hook", "event_types": ["case.dispatched"]},
                timeout=30,
            )
            hook.raise_for_status()
            receiver_env = {**env, "BENCH_WEBHOOK_SECRET": hook.json()["secret"]}
            receiver = stack.spawn(
                "receiver", ["-m", "bench.receiver", "--port", str(receiver_port)], receiver_env, work
            )
            receiver_url = f"http://127.0.0.1:{receiver_port}"
            stack.wait_ready(receiver_url, receiver.popen)
            path = f"/v1/public/codes/{token}/cases"
            rates = [
                _one_rate(settings, engine, ports["intake"], path, receiver_url, rate)
                for rate in settings.pipeline_rates
            ]
            stats = httpx.get(f"{receiver_url}/stats", timeout=30).json()
            roots = {"minyi up": up.popen.pid, "receiver": receiver.popen.pid}
            postmaster = server.postmaster_pid()
            if postmaster is not None:
                roots["postgres"] = postmaster
            rss = stack.memory(roots)
        finally:
            engine.dispose()
            if receiver is not None:
                receiver.stop()
            up.stop(signal.SIGINT, timeout=30)
            if "Traceback" in up.tail(20000):
                settings.log(f"minyi up log tail:\n{up.tail()}")
            server.drop(database_url)
    passing = [
        r["rate"]
        for r in rates
        if r["delays"]["to_webhook"]["p95_ms"] is not None
        and r["delays"]["to_webhook"]["p95_ms"] <= WEBHOOK_P95_TARGET_MS
        and r["delays"]["to_webhook"]["n"] >= 0.99 * r["delays"]["cases"]
    ]
    return {
        "pipeline": {
            "process_layout": "minyi up (python -m services.cli up)",
            "rates": rates,
            "webhook_p95_target_ms": WEBHOOK_P95_TARGET_MS,
            "highest_rate_meeting_target": max(passing) if passing else None,
            "receiver": {k: stats[k] for k in ("total", "bad_signatures", "duplicates", "other_types")},
            "deadline_time_source": "deadlines.created_at (first row per case)",
        },
        "memory": {
            "after": "pipeline scenario (stack idle, backlog drained)",
            "processes": rss,
            "total_mib": round(sum(row["rss_mib"] for row in rss), 1),
        },
    }
