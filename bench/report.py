"""The table printed after a run: headline figures per scenario, with the baseline beside them when
bench/results/baseline-main.json exists."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
BASELINE = RESULTS / "baseline-main.json"

Figures = dict[str, list[tuple[str, Any]]]


def _get(data: dict[str, Any], *path: str | int) -> Any:
    current: Any = data
    for key in path:
        if isinstance(current, dict) and isinstance(key, str):
            current = current.get(key)
        elif isinstance(current, list) and isinstance(key, int) and -len(current) <= key < len(current):
            current = current[key]
        else:
            return None
    return current


def headline(results: dict[str, Any]) -> Figures:
    """Scenario -> [(figure, value)]; the same labels for a run and its baseline."""
    out: Figures = {}
    intake = results.get("intake")
    if intake:
        ol = intake.get("open_loop_half_pgbench", {})
        out["1 intake (POST JSON, c=16)"] = [
            ("intake workers", intake.get("service_workers")),
            ("HTTP submissions/s (wrk)", _get(intake, "http", "rate")),
            ("HTTP p50 / p99 ms", _pair(_get(intake, "http", "p50_ms"), _get(intake, "http", "p99_ms"))),
            ("HTTP non-2xx", _get(intake, "http", "non_2xx")),
            ("pgbench same inserts tx/s", _get(intake, "pgbench", "rate")),
            (
                "pgbench p50 / p99 ms",
                _pair(_get(intake, "pgbench", "p50_ms"), _get(intake, "pgbench", "p99_ms")),
            ),
            ("ratio HTTP / pgbench", intake.get("ratio_http_to_pgbench")),
            ("open loop target -> ok/s", _pair(ol.get("target_rate"), ol.get("achieved_rate"), " -> ")),
            ("open loop p50 / p99 ms (target p99 <= 50)", _pair(ol.get("p50_ms"), ol.get("p99_ms"))),
            ("open loop errors / timeouts", _pair(ol.get("errors"), ol.get("timeouts"))),
            ("open loop client kept schedule", "yes" if ol.get("client_kept_schedule") else "NO"),
        ]
    form = results.get("form")
    if form:
        out["2 form page (GET /c/{token}, c=16)"] = [
            ("pages/s (wrk)", _get(form, "http", "rate")),
            ("p50 / p99 ms", _pair(_get(form, "http", "p50_ms"), _get(form, "http", "p99_ms"))),
            ("non-2xx", _get(form, "http", "non_2xx")),
        ]
    pipeline = results.get("pipeline")
    if pipeline:
        rows: list[tuple[str, Any]] = []
        for run in pipeline.get("rates", []):
            rate = f"{run['rate']:g}/s"
            sub = run["submissions"]
            d = run["delays"]
            backlog: dict[str, Any] = next(
                (v for k, v in run.items() if k.startswith("backlog_") and k.endswith("_after")), {}
            )
            rows += [
                (
                    f"{rate} offered -> ok/s (client kept schedule)",
                    f"{sub['target_rate']:g} -> {sub['achieved_rate']}"
                    f" ({'yes' if sub['client_kept_schedule'] else 'NO'})",
                ),
                (f"{rate} submit p50 / p99 ms", _pair(sub.get("p50_ms"), sub.get("p99_ms"))),
                (f"{rate} to dispatched p50/p95/max ms", _triple(d["to_dispatched"])),
                (f"{rate} to deadlines p50/p95/max ms", _triple(d["to_deadlines"])),
                (f"{rate} to webhook p50/p95/max ms", _triple(d["to_webhook"])),
                (f"{rate} webhooks received / cases", f"{d['to_webhook']['n']} / {d['cases']}"),
                (
                    f"{rate} backlog after 5s (case/outbox/deliv/hook)",
                    "/".join(str(v) for v in backlog.values()),
                ),
                (f"{rate} client CPU s", sub.get("client_cpu_seconds")),
            ]
        rows.append(("highest rate with webhook p95 <= 300 ms", pipeline.get("highest_rate_meeting_target")))
        rows.append(("bad signatures / duplicates", _pair(_get(pipeline, "receiver", "bad_signatures"),
                                                          _get(pipeline, "receiver", "duplicates"))))  # fmt: skip
        out["3 pipeline (minyi up, open loop)"] = rows
    dataset = results.get("dataset")
    if dataset:
        if not dataset.get("available"):
            out["4 dataset + hot reads"] = [("status", "not available")]
        else:
            rows = [("cases loaded", dataset.get("cases")), ("load seconds", dataset.get("wall_seconds"))]
            rollup = _get(dataset, "generate", "rollup")
            if rollup:
                rows.append(("metrics rollup rebuild seconds (in load)", rollup.get("seconds")))
                rows.append(("metrics rollup days / rows", _pair(rollup.get("days"), rollup.get("rows"))))
            for read in dataset.get("hot_reads") or []:
                name = str(read.get("name", read.get("query", "?")))[:40]
                value = next((read[k] for k in ("p50_ms", "median_ms", "ms", "seconds") if k in read), None)
                rows.append((f"{name} (ms)", value))
                if read.get("p95_ms") is not None and read.get("target_ms") is not None:
                    rows.append((f"{name} p95 (ms, target <= {read['target_ms']:g})", read["p95_ms"]))
                elif read.get("p95_ms") is not None and int(read.get("runs") or 0) >= 50:
                    rows.append((f"{name} p95 (ms, {read['runs']} runs)", read["p95_ms"]))
            out["4 dataset + hot reads"] = rows
    memory = results.get("memory")
    if memory:
        processes = memory.get("processes", [])
        rows = [(_process_label(p), p["rss_mib"]) for p in processes if p["group"] != "postgres"]
        pg = [p["rss_mib"] for p in processes if p["group"] == "postgres"]
        if pg:
            rows.append(("postgres: all processes (shared memory counted in each)", round(sum(pg), 1)))
            rows.append(("postgres: process count", len(pg)))
        rows.append(("total without postgres MiB", round(sum(p["rss_mib"] for p in processes) - sum(pg), 1)))
        rows.append(("total MiB", memory.get("total_mib")))
        out["5 memory RSS MiB (after pipeline)"] = rows
    classifier = results.get("classifier")
    if classifier:
        lexicon, loo, ms = (classifier.get(k, {}) for k in ("lexicon_only", "leave_one_out", "ms_per_text"))
        out["6 classifier (demo taxonomy, 39 dev texts)"] = [
            ("names+lexicon: top-level top-1", lexicon.get("top_level_top1")),
            ("names+lexicon: subcategory top-1 / top-3", _pair(lexicon.get("subcategory_top1"), lexicon.get("subcategory_top3"))),
            ("leave-one-out: top-level top-1", loo.get("top_level_top1")),
            ("leave-one-out: subcategory top-1 / top-3", _pair(loo.get("subcategory_top1"), loo.get("subcategory_top3"))),
            ("leave-one-out: share >= 0.6 / right there", _pair(loo.get("share_score_at_least_0_6"), loo.get("right_when_score_at_least_0_6"))),
            ("ms per text p50 / p95", _pair(ms.get("p50"), ms.get("p95"))),
        ]  # fmt: skip
    limits = results.get("limits")
    if limits:
        checks, subs = limits.get("checks", {}), limits.get("submissions", {})
        conc, own, sel = (
            checks.get(k, {}) for k in ("hit_concurrent", "hit_concurrent_own_codes", "select_1_concurrent")
        )
        conns = conc.get("connections")
        counted, off = subs.get("counted", {}), subs.get("off", {})
        out["7 abuse limits (cost per submission)"] = [
            ("SELECT 1 round trip p50 / p95 us", _pair(_get(checks, "select_1", "p50_us"), _get(checks, "select_1", "p95_us"))),
            ("ratelimit.hit, 1 conn p50 / p95 us", _pair(_get(checks, "hit_serial", "p50_us"), _get(checks, "hit_serial", "p95_us"))),
            (f"ratelimit.hit, {conns} conns one code p50 / p95 us", _pair(conc.get("p50_us"), conc.get("p95_us"))),
            (f"ratelimit.hit, {conns} conns one code checks/s", conc.get("per_second")),
            (f"ratelimit.hit, {conns} conns own codes p50 / p95 us", _pair(own.get("p50_us"), own.get("p95_us"))),
            (f"ratelimit.hit, {conns} conns own codes checks/s", own.get("per_second")),
            (f"SELECT 1, {conns} conns p50 us (round trips/s)", f"{_fmt(sel.get('p50_us'))} ({_fmt(sel.get('per_second'))})"),
            ("POST JSON/s counted / off (wrk c=16, median)", _pair(counted.get("rate_median"), off.get("rate_median"))),
            ("POST p50 ms counted / off", _pair(counted.get("p50_ms_median"), off.get("p50_ms_median"))),
            ("POST p99 ms counted / off", _pair(counted.get("p99_ms_median"), off.get("p99_ms_median"))),
            ("ratio counted / off", subs.get("ratio_counted_to_off")),
            ("machine ms added per submission", subs.get("added_ms_per_submission")),
            ("non-2xx counted / off", _pair(counted.get("non_2xx"), off.get("non_2xx"))),
        ]  # fmt: skip
    photos = results.get("photos")
    if photos:
        enc, one, many = (photos.get(k, {}) for k in ("reencode", "upload_serial", "upload_concurrent"))
        sub = photos.get("submission", {})
        plain, with2 = sub.get("without", {}), sub.get("with_2_photos", {})
        out["8 photo path (12 MP phone JPEG with EXIF)"] = [
            ("input MB -> stored MB (size)", f"{_fmt((enc.get('input_bytes') or 0) / 1e6)} -> {_fmt((enc.get('output_bytes') or 0) / 1e6)} ({enc.get('output_size')})"),
            ("re-encode alone p50 / p95 ms", _pair(enc.get("p50_ms"), enc.get("p95_ms"))),
            ("upload c=1 p50 / p95 ms", _pair(one.get("p50_ms"), one.get("p95_ms"))),
            ("upload c=1 uploads/s", one.get("uploads_per_second")),
            (f"upload c={many.get('concurrency')} p50 / p95 ms", _pair(many.get("p50_ms"), many.get("p95_ms"))),
            (f"upload c={many.get('concurrency')} uploads/s", many.get("uploads_per_second")),
            ("submit without photos p50 / p95 ms", _pair(plain.get("p50_ms"), plain.get("p95_ms"))),
            ("submit with 2 photo_ids p50 / p95 ms", _pair(with2.get("p50_ms"), with2.get("p95_ms"))),
            ("p50 added by 2 photos ms", sub.get("p50_added_ms")),
            ("submissions ok without / with (photos attached)", f"{_fmt(plain.get('n'))} / {_fmt(with2.get('n'))} ({_fmt(sub.get('photos_attached'))})"),
        ]  # fmt: skip
    integrators = results.get("integrators")
    if integrators:
        out["9 integrators and operators"] = _integrators(integrators)
    return out


def _integrators(data: dict[str, Any]) -> list[tuple[str, Any]]:
    open311, scrape = data.get("open311", {}), data.get("metrics_scrape", {})
    rows: list[tuple[str, Any]] = [
        ("citizens' cases / in the 90-day window", _pair(open311.get("citizen_cases"), open311.get("citizen_cases_in_default_window"))),
    ]  # fmt: skip
    for name, read in (open311.get("reads") or {}).items():
        rows.append((f"{name} p50 / p95 ms", _pair(read.get("p50_ms"), read.get("p95_ms"))))
        rows.append((f"{name} bytes (results)", f"{_fmt(read.get('bytes'))} ({_fmt(read.get('results'))})"))
    for mode in ("single", "multiprocess"):
        timing = _get(data, "middleware", mode) or {}
        rows.append((f"metrics middleware us/request added ({mode})", timing.get("added_us_per_request")))
        rows.append((f"  trivial route us bare / with ({mode})", _pair(timing.get("bare_us_per_request"), timing.get("with_middleware_us_per_request"))))  # fmt: skip
    rows += [
        (f"/metrics scrape p50 / p95 ms ({scrape.get('service_workers')} workers)", _pair(scrape.get("p50_ms"), scrape.get("p95_ms"))),
        ("/metrics scrape bytes (samples)", f"{_fmt(scrape.get('bytes'))} ({_fmt(scrape.get('samples'))})"),
    ]  # fmt: skip
    recovery = data.get("recovery", {})
    if recovery:
        rows += [
            ("recover: window rows (outbox rows)", f"{_fmt(recovery.get('window_rows'))} ({_fmt(recovery.get('outbox_rows'))})"),
            ("recover s: none queued / all pending / all given up", " / ".join(_fmt(_get(recovery, k, "seconds")) for k in ("no_deliveries_yet", "all_still_pending", "all_given_up"))),
        ]  # fmt: skip
    reencrypt = data.get("reencrypt", {})
    if reencrypt:
        rows += [
            ("secrets reencrypt: cases (values)", f"{_fmt(reencrypt.get('cases'))} ({_fmt(reencrypt.get('values'))})"),
            ("secrets reencrypt: seconds / rows/s", _pair(reencrypt.get("seconds"), reencrypt.get("rows_per_second"))),
            ("secrets reencrypt --dry-run: seconds / rows/s", _pair(reencrypt.get("dry_run_seconds"), reencrypt.get("dry_run_rows_per_second"))),
        ]  # fmt: skip
    return rows


def _process_label(process: dict[str, Any]) -> str:
    """The same label in every run: without the free port it happened to get."""
    words = str(process["process"]).split()
    kept = [w for i, w in enumerate(words) if w != "--port" and (i == 0 or words[i - 1] != "--port")]
    return f"{process['group']}: {' '.join(kept)}"[:60]


def _pair(a: Any, b: Any, sep: str = " / ") -> str:
    return f"{_fmt(a)}{sep}{_fmt(b)}"


def _triple(d: dict[str, Any]) -> str:
    return " / ".join(_fmt(d.get(k)) for k in ("p50_ms", "p95_ms", "max_ms")) + f" (n={d.get('n')})"


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 10 else f"{value:.3g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def load_baseline(path: Path = BASELINE) -> dict[str, Any] | None:
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError):
        return None


def table(results: dict[str, Any], baseline: dict[str, Any] | None) -> str:
    now = headline(results.get("scenarios", {}))
    before = headline(baseline.get("scenarios", {})) if baseline else {}
    env = results.get("environment", {})
    lines = [
        f"Minyi benchmarks ({'QUICK' if results.get('quick') else 'full'}) - commit {str(env.get('git_commit'))[:10]}"
        f"{' (dirty)' if env.get('git_dirty') else ''}, {env.get('cores')} cores {env.get('cpu_model')},"
        f" PostgreSQL {env.get('postgres')}",
        "NOTE: a shared 2-core machine (others run tests meanwhile): figures are noisy; compare ratios and medians.",
    ]
    if baseline:
        benv = baseline.get("environment", {})
        lines.append(
            f"before = bench/results/baseline-main.json (commit {str(benv.get('git_commit'))[:10]},"
            f" {'QUICK' if baseline.get('quick') else 'full'} run)"
        )
    for scenario, rows in now.items():
        old = dict(before.get(scenario, []))
        width = max([len(label) for label, _ in rows] + [20])
        lines.append("")
        lines.append(f"== {scenario}")
        header = f"  {'figure':<{width}}  {'now':>24}"
        if baseline:
            header += f"  {'before':>24}"
        lines.append(header)
        for label, value in rows:
            line = f"  {label:<{width}}  {_fmt(value):>24}"
            if baseline:
                line += f"  {_fmt(old.get(label)):>24}"
            lines.append(line)
    lines.append("")
    lines.append(f"load generators: {env.get('loadgen')}; wrk {env.get('wrk')}; {env.get('pgbench')}")
    return "\n".join(lines)
