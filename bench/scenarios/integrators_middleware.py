"""Part of scenario 'integrators': what the Prometheus request middleware (shared.observability.http
.MetricsMiddleware) adds to each request, timed in process.

One FastAPI app with one trivial route (a path parameter, so the route template is what gets labelled) is
called directly through ASGI (no HTTP, no client: only the app's own work is timed), bare and wrapped in the
middleware, in rounds that alternate between the two so the machine's noise falls on both; the cost added is the
median of the rounds' differences. Each mode runs in
a fresh interpreter: ``single`` (one process: prometheus_client keeps its values in memory) and
``multiprocess`` (PROMETHEUS_MULTIPROC_DIR set, as `minyi serve --workers N` does for N > 1: every value is
written to a memory-mapped file). ``python -m bench.scenarios.integrators_middleware --requests N`` prints
one mode's figures as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

from bench import stack

ROUNDS = 20
_SCOPE: dict[str, Any] = {
    "type": "http",
    "asgi": {"version": "3.0", "spec_version": "2.3"},
    "http_version": "1.1",
    "method": "GET",
    "scheme": "http",
    "path": "/v1/things/7",
    "raw_path": b"/v1/things/7",
    "root_path": "",
    "query_string": b"",
    "headers": [(b"host", b"127.0.0.1"), (b"accept", b"application/json")],
    "client": ("127.0.0.1", 50000),
    "server": ("127.0.0.1", 8001),
}


def _apps() -> dict[str, Any]:
    from fastapi import FastAPI

    from shared.observability.http import MetricsMiddleware

    app = FastAPI()

    @app.get("/v1/things/{thing_id}")
    async def thing(thing_id: int) -> dict[str, int]:
        return {"id": thing_id}

    return {"bare": app, "with_middleware": MetricsMiddleware(app, service="bench")}


async def _calls(app: Any, n: int) -> float:
    """Seconds for ``n`` requests answered one after another."""
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    started = time.perf_counter()
    for _ in range(n):
        await app(dict(_SCOPE), receive, send)  # a copy: the router adds its keys to the scope
    elapsed = time.perf_counter() - started
    if statuses.count(200) != n:
        raise RuntimeError(f"the trivial route answered {sorted(set(statuses))}")
    return elapsed


async def _measure(requests: int) -> dict[str, Any]:
    apps = _apps()
    per_round = max(requests // ROUNDS, 1)
    for app in apps.values():
        await _calls(app, 500)  # warm-up: the app's middleware stack, the metric's series
    us: dict[str, list[float]] = {label: [] for label in apps}
    for round_no in range(ROUNDS):
        order = list(apps) if round_no % 2 == 0 else list(reversed(apps))
        for label in order:
            us[label].append(await _calls(apps[label], per_round) / per_round * 1e6)
    bare = statistics.median(us["bare"])
    wrapped = statistics.median(us["with_middleware"])
    # Paired by round (the two ran back to back), so a busy moment of the machine cancels out.
    added = statistics.median(w - b for w, b in zip(us["with_middleware"], us["bare"], strict=True))
    return {
        "requests_each": per_round * ROUNDS,
        "rounds": ROUNDS,
        "bare_us_per_request": round(bare, 1),
        "with_middleware_us_per_request": round(wrapped, 1),
        "added_us_per_request": round(added, 1),
        "rounds_us": {label: [round(v, 1) for v in values] for label, values in us.items()},
    }


def measure(requests: int, timeout: float = 300) -> dict[str, Any]:
    """Both modes, each in a fresh interpreter (prometheus_client picks its value store at import)."""
    out: dict[str, Any] = {"route": "GET /v1/things/{thing_id} (FastAPI, direct ASGI calls)"}
    for mode in ("single", "multiprocess"):
        with tempfile.TemporaryDirectory(prefix="minyi-bench-prom-") as folder:
            env = {**os.environ, "PYTHONPATH": str(stack.ROOT)}
            env.pop("PROMETHEUS_MULTIPROC_DIR", None)
            if mode == "multiprocess":
                env["PROMETHEUS_MULTIPROC_DIR"] = folder
            result = subprocess.run(  # noqa: S603 (our own interpreter and module)
                [stack.PYTHON, "-m", __name__, "--requests", str(requests)],
                env=env,
                cwd=stack.ROOT,
                capture_output=True,
                timeout=timeout,
            )
        if result.returncode != 0:
            raise RuntimeError(f"middleware timing ({mode}) failed: {result.stderr.decode()[-2000:]}")
        out[mode] = json.loads(result.stdout)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20_000)
    args = parser.parse_args()
    sys.stdout.write(json.dumps(asyncio.run(_measure(args.requests))) + "\n")


if __name__ == "__main__":
    main()
