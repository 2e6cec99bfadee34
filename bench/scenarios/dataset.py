"""Scenario 4: a database holding many cases (bench/dataset.py) and the hot reads on it (bench/hot_reads.py).

Runs on a separate fresh, migrated database, dropped afterwards. Both modules are written separately; when
one is missing, the scenario reports "not available" instead of failing the run.
"""

from __future__ import annotations

import importlib
import inspect
import time
from typing import Any

from bench import stack
from bench.settings import Settings


def run(server: stack.Server, settings: Settings) -> dict[str, Any]:
    try:
        dataset = importlib.import_module("bench.dataset")
        hot_reads = importlib.import_module("bench.hot_reads")
    except ImportError as exc:
        settings.log(f"dataset: not available ({exc})")
        return {"dataset": {"available": False, "reason": str(exc)}}
    database_url = server.create("dataset")
    try:
        from shared.db.migrate import upgrade

        upgrade(database_url)
        settings.log(f"dataset: generating {settings.dataset_cases:,} cases")
        started = time.monotonic()
        generated = dataset.generate(
            database_url, cases=settings.dataset_cases, months=settings.dataset_months
        )
        load_seconds = round(time.monotonic() - started, 1)
        settings.log(f"dataset: loaded in {load_seconds}s; measuring hot reads")
        accepts_runs = "runs" in inspect.signature(hot_reads.measure).parameters
        if settings.hot_read_runs is not None and accepts_runs:
            reads = hot_reads.measure(database_url, runs=settings.hot_read_runs)
        else:
            reads = hot_reads.measure(database_url)
    finally:
        server.drop(database_url)
    return {
        "dataset": {
            "available": True,
            "cases": settings.dataset_cases,
            "months": settings.dataset_months,
            "generate": generated,
            "wall_seconds": load_seconds,
            "hot_reads": reads,
        }
    }
