"""Load generators: an open-loop HTTP client of our own, and wrappers around `wrk` and `pgbench`.

The open-loop client sends request i at ``start + i / rate`` whatever happened to earlier requests, from
several processes (each an asyncio loop speaking raw HTTP/1.1 over keep-alive connections). Latency is
measured from the *scheduled* send time, so a server (or a client) falling behind shows up as latency
instead of silently lowering the offered rate (no coordinated omission).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing
import re
import resource
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

NAME = "bench.loadgen open-loop (asyncio, raw HTTP/1.1 keep-alive)"
VERSION = "1"


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    rank = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[rank]


def summary_ms(values: list[float]) -> dict[str, float | None]:
    def r(v: float | None) -> float | None:
        return None if v is None else round(v, 2)

    return {
        "p50_ms": r(percentile(values, 50)),
        "p95_ms": r(percentile(values, 95)),
        "p99_ms": r(percentile(values, 99)),
        "max_ms": r(max(values) if values else None),
    }


# --- open loop ------------------------------------------------------------------------------------------


@dataclass
class Plan:
    port: int
    path: str
    body: bytes
    rate: float  # requests per second, all processes together
    seconds: float
    processes: int = 2
    max_connections: int = 64  # per process; beyond it requests queue (and their latency grows)
    timeout: float = 10.0  # per request, counted from its scheduled time
    keep_key: str | None = None  # a JSON field of the answer to return per request (e.g. tracking_no)


@dataclass
class OpenLoopResult:
    target_rate: float
    seconds: float
    scheduled: int = 0
    ok: int = 0
    errors: int = 0
    timeouts: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    send_lag_ms: list[float] = field(default_factory=list)  # actual send minus scheduled send
    kept: list[tuple[float, str]] = field(default_factory=list)  # (scheduled wall time, kept value)
    statuses: dict[str, int] = field(default_factory=dict)
    cpu_seconds: float = 0.0
    elapsed: float = 0.0

    def figures(self) -> dict[str, Any]:
        lag_p99 = percentile(self.send_lag_ms, 99)
        return {
            "target_rate": self.target_rate,
            "achieved_rate": round(self.ok / self.seconds, 1) if self.seconds else None,
            "send_rate": round(self.scheduled / self.seconds, 1) if self.seconds else None,
            "scheduled": self.scheduled,
            "ok": self.ok,
            "errors": self.errors,
            "timeouts": self.timeouts,
            "statuses": self.statuses,
            **summary_ms(self.latencies_ms),
            "client_send_lag_p99_ms": None if lag_p99 is None else round(lag_p99, 2),
            "client_kept_schedule": lag_p99 is not None and lag_p99 < 20,
            "client_cpu_seconds": round(self.cpu_seconds, 2),
            "client_processes": None,
        }


class _Pool:
    def __init__(self, port: int, limit: int) -> None:
        self.port, self.limit, self.opened = port, limit, 0
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.free = asyncio.Semaphore(limit)

    async def get(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        await self.free.acquire()
        try:
            if self.idle:
                return self.idle.pop()
            self.opened += 1
            return await asyncio.open_connection("127.0.0.1", self.port)
        except BaseException:
            self.free.release()
            raise

    def put(self, conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None) -> None:
        if conn is not None:
            self.idle.append(conn)
        self.free.release()


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, bytes]:
    writer.write(request)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {
        k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)
    }
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        chunks = []
        for _ in range(100_000):
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                break
            chunks.append(chunk[:-2])
        body = b"".join(chunks)
    else:
        body = b""
    return status, body


async def _run_share(plan: Plan, index: int, start: float) -> dict[str, Any]:
    pool = _Pool(plan.port, plan.max_connections)
    request = (
        f"POST {plan.path} HTTP/1.1\r\nHost: 127.0.0.1:{plan.port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(plan.body)}\r\n\r\n"
    ).encode() + plan.body
    if not plan.body:
        request = f"GET {plan.path} HTTP/1.1\r\nHost: 127.0.0.1:{plan.port}\r\n\r\n".encode()
    out: dict[str, Any] = {
        "ok": 0,
        "errors": 0,
        "timeouts": 0,
        "lat": [],
        "lag": [],
        "kept": [],
        "statuses": {},
    }
    total = int(plan.rate * plan.seconds)
    mine = range(index, total, plan.processes)

    async def one(scheduled: float) -> None:
        conn = None
        held = False
        out["lag"].append((time.time() - scheduled) * 1000)  # the client's own delay in starting the request
        try:
            async with asyncio.timeout(max(scheduled + plan.timeout - time.time(), 0.001)):
                conn = await pool.get()
                held = True
                status, body = await _exchange(*conn, request)
            done = time.time()
            out["statuses"][str(status)] = out["statuses"].get(str(status), 0) + 1
            if 200 <= status < 300:
                out["ok"] += 1
                out["lat"].append((done - scheduled) * 1000)
                if plan.keep_key:
                    out["kept"].append((scheduled, json.loads(body)[plan.keep_key]))
            else:
                out["errors"] += 1
        except TimeoutError:
            out["timeouts"] += 1
            if conn is not None:
                conn[1].close()
                conn = None
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
            out["errors"] += 1
            if conn is not None:
                conn[1].close()
                conn = None
        finally:
            if held:
                pool.put(conn)

    tasks = []
    for i in mine:
        scheduled = start + i / plan.rate
        delay = scheduled - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(scheduled)))
    if tasks:
        await asyncio.wait(tasks, timeout=plan.timeout + 5)
    for task in tasks:
        task.cancel()
    for _, writer in pool.idle:
        writer.close()
    out["scheduled"] = len(mine)
    return out


def _share(plan: Plan, index: int, start: float, queue: Any) -> None:
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()
    result = asyncio.run(_run_share(plan, index, start))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result["cpu"] = usage.ru_utime + usage.ru_stime
    queue.put(result)


def open_loop(plan: Plan) -> OpenLoopResult:
    """Runs the plan from `plan.processes` processes; bounded by the plan's duration plus its timeout."""
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    start = time.time() + 1.5  # lets every process start before the first scheduled send
    procs = [ctx.Process(target=_share, args=(plan, i, start, queue)) for i in range(plan.processes)]
    for proc in procs:
        proc.start()
    result = OpenLoopResult(target_rate=plan.rate, seconds=plan.seconds)
    deadline = time.time() + 1.5 + plan.seconds + plan.timeout + 30
    for _ in procs:
        part = queue.get(timeout=max(deadline - time.time(), 1))
        result.scheduled += part["scheduled"]
        result.ok += part["ok"]
        result.errors += part["errors"]
        result.timeouts += part["timeouts"]
        result.latencies_ms += part["lat"]
        result.send_lag_ms += part["lag"]
        result.kept += part["kept"]
        result.cpu_seconds += part["cpu"]
        for status, count in part["statuses"].items():
            result.statuses[status] = result.statuses.get(status, 0) + count
    for proc in procs:
        proc.join(timeout=10)
        if proc.is_alive():
            proc.kill()
    result.elapsed = time.time() - start
    return result


# --- wrk ------------------------------------------------------------------------------------------------

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(value: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value.strip())
    if not match:
        raise ValueError(value)
    return float(match.group(1)) * _UNITS[match.group(2)]


def _lua_string(data: bytes) -> str:
    return '"' + "".join(f"\\{b}" if b > 126 or b < 32 or b in (34, 92) else chr(b) for b in data) + '"'


def wrk(
    url: str, *, seconds: float, connections: int, work_dir: Path, body: bytes | None = None, threads: int = 2
) -> dict[str, Any]:
    """One closed-loop wrk run; rate, latency percentiles, non-2xx count and wrk's CPU seconds."""
    args = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(int(seconds), 1)}s",
        "--latency",
        "--timeout",
        "10s",
    ]
    if body is not None:
        script = work_dir / "post.lua"
        script.write_text(
            'wrk.method = "POST"\n'
            f"wrk.body = {_lua_string(body)}\n"
            'wrk.headers["Content-Type"] = "application/json"\n'
        )
        args += ["-s", str(script)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run([*args, url], capture_output=True, timeout=seconds + 60, check=True)  # noqa: S603
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    text = out.stdout.decode()
    figures: dict[str, Any] = {
        "tool": "wrk",
        "connections": connections,
        "threads": threads,
        "seconds": seconds,
    }
    rate = re.search(r"Requests/sec:\s+([\d.]+)", text)
    figures["rate"] = float(rate.group(1)) if rate else None
    total = re.search(r"(\d+) requests in", text)
    figures["requests"] = int(total.group(1)) if total else None
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    figures["non_2xx"] = int(non2xx.group(1)) if non2xx else 0
    errors = re.search(r"Socket errors:(.*)", text)
    figures["socket_errors"] = errors.group(1).strip() if errors else None
    for pct in ("50", "75", "90", "99"):
        match = re.search(rf"^\s+{pct}%\s+(\S+)", text, re.MULTILINE)
        figures[f"p{pct}_ms"] = round(_ms(match.group(1)), 2) if match else None
    figures["client_cpu_seconds"] = round(
        (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime), 2
    )
    return figures


# --- pgbench --------------------------------------------------------------------------------------------


def pgbench(url: str, script: str, *, seconds: float, clients: int, work_dir: Path) -> dict[str, Any]:
    """pgbench with per-transaction logs (-l), from which the latency percentiles are computed."""
    script_file = work_dir / "intake.sql"
    script_file.write_text(script)
    log_dir = work_dir / "pgbench-logs"
    log_dir.mkdir(exist_ok=True)
    args = [
        "pgbench", "-n", "-M", "prepared", f"-c{clients}", f"-j{min(clients, 2)}", f"-T{max(int(seconds), 1)}",
        "-f", str(script_file), "-l", f"--log-prefix={log_dir / 'tx'}", url,
    ]  # fmt: skip
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(args, capture_output=True, timeout=seconds + 60, cwd=work_dir)  # noqa: S603
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    text = out.stdout.decode()
    if out.returncode != 0:
        raise RuntimeError(f"pgbench failed: {out.stderr.decode()[-2000:]}")
    latencies: list[float] = []
    failed = 0
    for log in log_dir.glob("tx*"):
        for line in log.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 3 and parts[2].lstrip("-").isdigit():
                latencies.append(int(parts[2]) / 1000)
            elif len(parts) >= 3:
                failed += 1
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", text)
    avg = re.search(r"latency average = ([\d.]+) ms", text)
    return {
        "tool": "pgbench",
        "clients": clients,
        "seconds": seconds,
        "rate": float(tps.group(1)) if tps else None,
        "transactions": len(latencies),
        "failed": failed,
        "avg_ms": float(avg.group(1)) if avg else None,
        **summary_ms(latencies),
        "client_cpu_seconds": round(
            (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime), 2
        ),
    }
