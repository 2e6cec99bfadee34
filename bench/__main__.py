"""`python -m bench [--quick] [--only intake form pipeline dataset classifier limits photos integrators]
[--out FILE]`
(what `make bench` runs).

Starts its own PostgreSQL (embedded under var/bench, or creates databases on BENCH_DATABASE_URL's server
and drops them afterwards), runs the scenarios, prints a table and writes the figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import loadgen, report, stack
from bench.settings import Settings

SCENARIOS = ("intake", "form", "pipeline", "dataset", "classifier", "limits", "photos", "integrators")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a short run (under 3 minutes)")
    parser.add_argument("--only", nargs="+", choices=SCENARIOS, default=list(SCENARIOS), metavar="SCENARIO")
    parser.add_argument("--out", type=Path, default=report.RESULTS / "latest.json")
    parser.add_argument("--data-dir", type=Path, default=stack.ROOT / "var" / "bench", help="embedded server")
    parser.add_argument("--baseline", type=Path, default=report.BASELINE, help="figures printed as 'before'")
    args = parser.parse_args(argv)
    if args.quick or os.environ.get("QUICK") not in (None, "", "0"):
        args.quick = True
    settings = Settings.for_run(args.quick)
    only = set(args.only)

    results: dict[str, Any] = {
        "quick": args.quick,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "scenarios_run": [s for s in SCENARIOS if s in only],
        "settings": {k: v for k, v in vars(settings).items() if k != "started"},
        "environment": stack.machine(),
        "scenarios": {},
        "errors": {},
    }
    results["environment"]["loadgen"] = (
        f"{loadgen.NAME} v{loadgen.VERSION}, {settings.client_processes} processes,"
        f" Python {results['environment']['python']}"
    )
    started = time.monotonic()
    with stack.Server.open(args.data_dir) as server:
        results["environment"]["postgres"] = server.version()
        results["environment"]["postgres_kind"] = "embedded" if server.embedded else "BENCH_DATABASE_URL"
        settings.log(
            f"PostgreSQL {results['environment']['postgres']} ({results['environment']['postgres_kind']})"
        )
        steps: list[tuple[str, Any]] = []
        if only & {"intake", "form"}:
            from bench.scenarios import intake

            steps.append(("intake/form", lambda: intake.run(server, settings, only)))
        if "pipeline" in only:
            from bench.scenarios import pipeline

            steps.append(("pipeline", lambda: pipeline.run(server, settings)))
        if "dataset" in only:
            from bench.scenarios import dataset

            steps.append(("dataset", lambda: dataset.run(server, settings)))
        if "classifier" in only:
            from bench.scenarios import classifier

            steps.append(("classifier", classifier.run))
        if "limits" in only:
            from bench.scenarios import limits

            steps.append(("limits", lambda: limits.run(server, settings)))
        if "photos" in only:
            from bench.scenarios import photos

            steps.append(("photos", lambda: photos.run(server, settings)))
        if "integrators" in only:
            from bench.scenarios import integrators

            steps.append(("integrators", lambda: integrators.run(server, settings)))
        for name, step in steps:
            try:
                results["scenarios"].update(step())
            except Exception as exc:
                settings.log(f"{name} failed: {exc!r}")
                results["errors"][name] = traceback.format_exc()[-4000:]
    results["seconds"] = round(time.monotonic() - started, 1)
    results["client_cpu_seconds"] = _client_cpu(results["scenarios"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n")
    baseline = report.load_baseline(args.baseline) if args.baseline.resolve() != args.out.resolve() else None
    sys.stdout.write(report.table(results, baseline) + "\n")
    sys.stdout.write(f"run took {results['seconds']}s; figures in {args.out}\n")
    for name, text in results["errors"].items():
        sys.stdout.write(f"\n{name} FAILED:\n{text}\n")
    return 1 if results["errors"] else 0


def _client_cpu(scenarios: dict[str, Any]) -> dict[str, float]:
    """CPU seconds of every load generator, by tool."""
    totals: dict[str, float] = {}

    def walk(node: Any, tool: str) -> None:
        if isinstance(node, dict):
            here = str(node.get("tool", tool))
            if "client_cpu_seconds" in node:
                totals[here] = round(totals.get(here, 0.0) + float(node["client_cpu_seconds"] or 0), 2)
            for value in node.values():
                walk(value, here)
        elif isinstance(node, list):
            for value in node:
                walk(value, tool)

    walk(scenarios, "open-loop")
    return totals


if __name__ == "__main__":
    raise SystemExit(main())
