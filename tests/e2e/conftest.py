"""Real processes: the three services and the worker on free loopback ports, against a fresh database."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from shared.db.migrate import upgrade
from tests.conftest import ROOT, _create_database, _drop_database


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class WebhookReceiver:
    """A local integrator endpoint. It answers 500 to the first delivery of `fail_once_for` to force a retry."""

    port: int
    fail_once_for: str = "case.dispatched"
    down: bool = False  # answers 503 to everything while set
    received: list[Received] = field(default_factory=list)
    failed: list[Received] = field(default_factory=list)
    refused: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/minyi"

    def handle(self, headers: dict[str, str], body: bytes) -> int:
        item = Received(headers, body)
        with self.lock:
            if self.down:
                self.refused += 1
                return 503
            event_type = json.loads(body).get("type")
            if event_type == self.fail_once_for and not self.failed:
                self.failed.append(item)
                return 500
            self.received.append(item)
        return 204

    def types(self) -> list[str]:
        with self.lock:
            return [json.loads(r.body)["type"] for r in self.received]


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    state = WebhookReceiver(port=free_port())

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            status = state.handle({k.lower(): v for k, v in self.headers.items()}, body)
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", state.port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()


@dataclass
class Stack:
    urls: dict[str, str]
    env: dict[str, str]
    data_dir: Path
    procs: dict[str, subprocess.Popen[bytes]]
    log_dir: Path
    worker_metrics_port: int = 0  # the worker's /metrics (a free port of its own: stacks never collide)

    def start(self, name: str) -> None:
        args = ["worker"] if name == "worker" else ["serve", name]
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", "services.cli", *args],
            env=self.env,
            cwd=ROOT,
            stderr=(self.log_dir / f"{name}.log").open("ab"),
        )
        if name in self.urls:
            _wait_ready(self.urls[name], self.procs[name])

    def stop(self, name: str) -> None:
        proc = self.procs[name]
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def cli(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "services.cli", *args],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            timeout=120,
            check=True,
        )
        return result.stdout.decode()


def _wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
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


@pytest.fixture
def stack_env() -> dict[str, str]:
    """More environment for the stack's processes; a test module overrides this fixture to change it."""
    return {}


@pytest.fixture
def stack(postgres_server_url: str, tmp_path: Path, stack_env: dict[str, str]) -> Iterator[Stack]:
    name, url = _create_database(postgres_server_url)
    upgrade(url)
    ports = {service: free_port() for service in ("intake", "routing", "supervision")}
    worker_metrics_port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "MINYI_ENV": "test",
        "MINYI_DATA_DIR": str(tmp_path),
        "MINYI_INTAKE_PORT": str(ports["intake"]),
        "MINYI_ROUTING_PORT": str(ports["routing"]),
        "MINYI_SUPERVISION_PORT": str(ports["supervision"]),
        "MINYI_WEBHOOK_ALLOW_HOSTS": "127.0.0.1",
        "MINYI_WEBHOOK_RETRY_SCHEDULE": "1,2,5",
        "MINYI_WORKER_POLL_SECONDS": "0.5",
        # Scheduled jobs (the alarm scan) every second, so a test can watch a deadline lapse in seconds.
        "MINYI_SCHEDULER_INTERVAL_SECONDS": "1",
        "MINYI_LOG_LEVEL": "WARNING",
        "MINYI_WORKER_METRICS_PORT": str(worker_metrics_port),
        **stack_env,
    }
    env.pop("TEST_DATABASE_URL", None)
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    urls = {service: f"http://127.0.0.1:{port}" for service, port in ports.items()}
    stack = Stack(
        urls=urls,
        env=env,
        data_dir=tmp_path,
        procs={},
        log_dir=log_dir,
        worker_metrics_port=int(env["MINYI_WORKER_METRICS_PORT"]),  # stack_env may have changed it
    )
    procs = stack.procs
    try:
        for name in (*ports, "worker"):
            stack.start(name)
        yield stack
    finally:
        for proc in procs.values():
            proc.terminate()
        for proc in procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        for log_file in sorted(log_dir.glob("*.log")):
            text = log_file.read_text(errors="replace")
            if "Traceback" in text:
                print(f"--- {log_file.name} ---\n{text[-4000:]}")  # noqa: T201 (shown only on failure)
        _drop_database(postgres_server_url, name)
