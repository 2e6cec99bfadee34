"""Durations and sizes of a run: the full run, or `--quick` (QUICK=1)."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field


@dataclass
class Settings:
    quick: bool = False
    warmup_seconds: float = 3
    intake_seconds: float = 30
    open_seconds: float = 10
    form_seconds: float = 15
    # The 50/100/200 plus lower steps, so the highest rate the stack holds is found.
    pipeline_rates: tuple[float, ...] = (10, 25, 50, 100, 200)
    pipeline_seconds: float = 60
    backlog_after_seconds: float = 5
    drain_seconds: float = 45
    dataset_cases: int = 1_000_000
    dataset_months: int = 12
    client_processes: int = 2
    hot_read_runs: int | None = None  # None: bench.hot_reads' own default
    request_timeout: float = 10  # open-loop requests, counted from their scheduled time
    # Abuse limits: checks timed on one connection and on limit_concurrency at once; then wrk rounds of
    # limit_ab_seconds alternating between the service counting submissions and the service without limits.
    limit_checks: int = 5000
    limit_concurrency: int = 16
    limit_ab_rounds: int = 3
    limit_ab_seconds: float = 10
    # The photo path: re-encodes timed in-process, uploads one at a time and photo_upload_concurrency at
    # once, and submissions with two photos interleaved with submissions without.
    photo_reencodes: int = 20
    photo_uploads_serial: int = 20
    photo_uploads_concurrent: int = 60
    photo_upload_concurrency: int = 4
    photo_submissions: int = 200
    started: float = field(default_factory=time.monotonic)

    @classmethod
    def for_run(cls, quick: bool) -> Settings:
        if not quick:
            return cls()
        return cls(
            quick=True,
            warmup_seconds=2,
            intake_seconds=8,
            open_seconds=5,
            form_seconds=4,
            pipeline_rates=(25, 50, 200),
            pipeline_seconds=8,
            drain_seconds=5,
            request_timeout=4,
            hot_read_runs=5,
            dataset_cases=50_000,
            dataset_months=3,
            limit_checks=1000,
            limit_ab_rounds=3,
            limit_ab_seconds=4,
            photo_reencodes=5,
            photo_uploads_serial=6,
            photo_uploads_concurrent=16,
            photo_submissions=40,
        )

    def log(self, message: str) -> None:
        sys.stderr.write(f"[bench {time.monotonic() - self.started:6.1f}s] {message}\n")
        sys.stderr.flush()
