"""Databases, processes and ports for the benchmarks: everything runs on 127.0.0.1, in databases of our own.

The code under test is the tree this package sits in (``ROOT``): every service is started as
``python -m services.cli ...`` with ``cwd=ROOT`` and ``PYTHONPATH=ROOT``, so a copy of ``bench/`` placed in
another checkout measures that checkout's code.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import platform
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def sync_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql+psycopg2").render_as_string(hide_password=False)


def libpq_url(url: str) -> str:
    """The URL as libpq (pgbench, psql) takes it: no SQLAlchemy driver suffix."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def engine_for(url: str) -> Engine:
    return create_engine(sync_url(url), pool_size=2, max_overflow=2)


def up_workers(service: str = "intake") -> int:
    """The uvicorn worker count `minyi up` gives a service: read from the commands its `_children` builds,
    falling back to the default of `minyi serve --workers`. Follows any change to services/cli.py."""
    from services import cli

    commands: list[list[str]] = []

    class _Recorder:
        def __init__(self, cmd: list[str], **_: Any) -> None:
            commands.append([str(part) for part in cmd])

    with mock.patch("subprocess.Popen", _Recorder):  # what services.cli calls through its module
        cli._children(dict(os.environ))
    default = inspect.signature(cli.serve).parameters["workers"].default
    for cmd in commands:
        if "serve" in cmd and service in cmd:
            for flag in ("--workers", "-w"):
                if flag in cmd:
                    return int(cmd[cmd.index(flag) + 1])
            return int(getattr(default, "default", default))
    raise RuntimeError(f"`minyi up` starts no {service} service")


@dataclass
class Server:
    """A PostgreSQL server on which the run creates (and drops) its own databases."""

    url: str
    embedded: Any = None
    created: list[str] = field(default_factory=list)

    @classmethod
    @contextlib.contextmanager
    def open(cls, data_dir: Path) -> Iterator[Server]:
        explicit = os.environ.get("BENCH_DATABASE_URL")
        if explicit:
            server = cls(url=explicit)
        else:
            from shared.db.embedded import start_embedded

            embedded = start_embedded(data_dir, database="postgres")
            server = cls(url=embedded.url, embedded=embedded)
        try:
            yield server
        finally:
            for name in list(server.created):
                with contextlib.suppress(Exception):
                    server.drop(name)
            if server.embedded is not None:
                server.embedded.stop()

    def _admin(self) -> Engine:
        return create_engine(sync_url(self.url), isolation_level="AUTOCOMMIT")

    def create(self, label: str) -> str:
        name = f"minyi_bench_{label}_{secrets.token_hex(3)}"
        admin = self._admin()
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        self.created.append(name)
        return make_url(sync_url(self.url)).set(database=name).render_as_string(hide_password=False)

    def drop(self, name_or_url: str) -> None:
        name = make_url(name_or_url).database if "://" in name_or_url else name_or_url
        admin = self._admin()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        if name in self.created:
            self.created.remove(name)

    def version(self) -> str:
        admin = self._admin()
        with admin.connect() as conn:
            version = str(conn.execute(text("SHOW server_version")).scalar_one())
        admin.dispose()
        return version

    def postmaster_pid(self) -> int | None:
        if self.embedded is None:
            return None
        pidfile = Path(str(self.embedded.server.pgdata)) / "postmaster.pid"
        with contextlib.suppress(OSError, ValueError):
            return int(pidfile.read_text().split()[0])
        return None


def base_env(database_url: str, data_dir: Path, ports: dict[str, int]) -> dict[str, str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": database_url,
        "MINYI_ENV": "development",
        "MINYI_DATA_DIR": str(data_dir),
        "MINYI_INTAKE_PORT": str(ports["intake"]),
        "MINYI_ROUTING_PORT": str(ports["routing"]),
        "MINYI_SUPERVISION_PORT": str(ports["supervision"]),
        "MINYI_WEBHOOK_ALLOW_HOSTS": "127.0.0.1",
        "MINYI_LOG_LEVEL": "WARNING",
        # The load comes from one address through a few codes: limits too high to refuse it, still counted,
        # so the submission and upload benchmarks include the abuse limits' cost.
        "MINYI_LIMIT_SUBMISSIONS_PER_ADDRESS": "1000000000/600",
        "MINYI_LIMIT_SUBMISSIONS_PER_CODE": "1000000000/3600",
        "MINYI_LIMIT_UPLOADS_PER_ADDRESS": "1000000000/600",
        "MINYI_LIMIT_UPLOADS_PER_CODE": "1000000000/3600",
    }
    for name in ("TEST_DATABASE_URL", "BENCH_DATABASE_URL"):
        env.pop(name, None)
    return env


def cli(env: dict[str, str], *args: str, timeout: float = 180) -> str:
    result = subprocess.run(  # noqa: S603 (our own interpreter and module)
        [PYTHON, "-m", "services.cli", *args], env=env, cwd=ROOT, capture_output=True, timeout=timeout
    )
    if result.returncode != 0:
        raise RuntimeError(f"minyi {' '.join(args)} failed: {result.stderr.decode()[-2000:]}")
    return result.stdout.decode()


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: process exited with {proc.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise TimeoutError(f"{url} not ready after {timeout}s")


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                kill_tree(self.popen.pid)
                self.popen.wait(timeout=5)

    def tail(self, chars: int = 3000) -> str:
        with contextlib.suppress(OSError):
            return self.log.read_text(errors="replace")[-chars:]
        return ""


def spawn(name: str, args: list[str], env: dict[str, str], log_dir: Path) -> Proc:
    log = log_dir / f"{name}.log"
    popen = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
        [PYTHON, *args], env=env, cwd=ROOT, stdout=log.open("ab"), stderr=subprocess.STDOUT
    )
    return Proc(name=name, popen=popen, log=log)


@contextlib.contextmanager
def workdir(prefix: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=f"minyi-bench-{prefix}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


# --- processes and memory -------------------------------------------------------------------------------


def _children_of() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = (entry / "stat").read_text()
            ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
            tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def descendants(pid: int) -> list[int]:
    """The process and every descendant, parents first."""
    tree = _children_of()
    out: list[int] = []
    todo = [pid]
    while todo and len(out) < 10_000:
        current = todo.pop(0)
        out.append(current)
        todo.extend(sorted(tree.get(current, [])))
    return out


def kill_tree(pid: int) -> None:
    for member in reversed(descendants(pid)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(member, signal.SIGKILL)


def rss_mib(pid: int) -> float | None:
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    return None


def describe(pid: int) -> str:
    with contextlib.suppress(OSError):
        parts = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        words = [p.decode(errors="replace") for p in parts if p]
        if words and "python" in words[0]:
            words = words[1:]
        if words[:2] == ["-m", "services.cli"]:
            words = ["minyi", *words[2:]]
        elif words[:1] == ["-c"]:
            words = ["python -c", *(w for w in words[2:] if w.startswith("--") or w.isdigit())]
        return " ".join(words)[:80]
    return "?"


def memory(roots: dict[str, int]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for group, root in roots.items():
        for pid in descendants(root):
            rss = rss_mib(pid)
            if rss is not None:
                rows.append({"group": group, "pid": pid, "process": describe(pid), "rss_mib": rss})
    return rows


# --- the machine ----------------------------------------------------------------------------------------


def _first_line(cmd: list[str]) -> str:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run(cmd, capture_output=True, timeout=10)  # noqa: S603
        lines = (out.stdout or out.stderr).decode(errors="replace").strip().splitlines()
        return lines[0] if lines else ""
    return "unavailable"


def machine() -> dict[str, Any]:
    model = platform.processor() or "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    commit = _first_line(["git", "-C", str(ROOT), "rev-parse", "HEAD"])
    dirty = _first_line(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"])
    return {
        "git_commit": commit,
        "git_dirty": dirty not in ("", "unavailable") and not dirty.startswith("fatal"),
        "code_root": str(ROOT),
        "cores": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "wrk": _first_line(["wrk", "-v"]).split("Copyright")[0].strip(),
        "pgbench": _first_line(["pgbench", "--version"]),
    }
