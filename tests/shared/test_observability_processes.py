"""Metrics and logs as real processes see them: intake served by two processes answers one sum at /metrics
whichever process a scrape reaches, and with MINYI_LOG_JSON every line of a request names its request id."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import ROOT
from tests.e2e.conftest import free_port

pytestmark = pytest.mark.e2e


def _healthz_count(scrape: str) -> float:
    total = 0.0
    for family in text_string_to_metric_families(scrape):
        for sample in family.samples:
            if sample.name == "minyi_http_requests_total" and sample.labels.get("route") == "/healthz":
                total += sample.value
    return total


def test_several_intake_processes_are_scraped_as_one(database_url: str, tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "MINYI_ENV": "test",
        "MINYI_DATA_DIR": str(tmp_path),
        "MINYI_LOG_LEVEL": "WARNING",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    stale = tmp_path / "prometheus" / f"intake-{port}"
    stale.mkdir(parents=True)
    (stale / "counter_1.db").write_bytes(b"left over from an earlier run")
    log = (tmp_path / "intake.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "serve", "intake", "--port", str(port), "--workers", "2"],
        env=env,
        cwd=ROOT,
        stderr=log,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (tmp_path / "intake.log").read_text()
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "intake did not start"
            time.sleep(0.2)
        assert not (stale / "counter_1.db").exists()  # emptied at start
        # A new connection per request, so both processes serve some (bounded).
        sent = 1
        serving: set[str] = set()
        while len(serving) < 2 and sent < 400:
            for _ in range(20):
                assert httpx.get(f"{url}/healthz", timeout=5).status_code == 200
                sent += 1
            serving = {p.name for p in stale.glob("counter_*.db")}
        assert len(serving) >= 2, "one process served every request"
        # Whichever process answers a scrape, it reports every process's requests.
        for _ in range(8):
            scrape = httpx.get(f"{url}/metrics", timeout=5)
            assert scrape.status_code == 200
            assert _healthz_count(scrape.text) == sent
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


PROBE = textwrap.dedent(
    """
    import asyncio, logging

    import httpx
    import structlog
    from fastapi import APIRouter

    from shared.web.app import create_service_app
    from tests.asgi import running

    router = APIRouter()
    log = structlog.get_logger("probe")

    @router.get("/work")
    async def work() -> dict[str, bool]:
        log.info("step_one")
        logging.getLogger("some.library").warning("a library speaks")
        log.warning("step_two")
        return {"ok": True}

    @router.get("/crash")
    async def crash() -> None:
        log.info("about_to_fail")
        raise RuntimeError("boom")

    async def main() -> None:
        app = create_service_app(service="probe", title="t", description="t", routers=[router])
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with running(app), httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            assert (await client.get("/work", headers={"X-Request-ID": "trace-work-1"})).status_code == 200
            crashed = await client.get("/crash", headers={"X-Request-ID": "trace-crash-2"})
            assert crashed.status_code == 500, crashed.status_code

    asyncio.run(main())
    """
)


def test_json_logs_name_the_request_on_every_line(database_url: str, tmp_path: Path) -> None:
    script = tmp_path / "probe.py"
    script.write_text(PROBE)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": database_url,
        "MINYI_LOG_JSON": "true",
        "MINYI_LOG_LEVEL": "INFO",
    }
    done = subprocess.run(
        [sys.executable, str(script)], env=env, cwd=ROOT, capture_output=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr.decode()
    lines = [json.loads(line) for line in done.stderr.decode().splitlines() if line.strip()]
    by_event = {line["event"]: line for line in lines}
    assert {"step_one", "a library speaks", "step_two", "about_to_fail", "unhandled_error"} <= set(by_event)
    for line in lines:
        assert line["service"] == "probe"
        assert line["request_id"] in ("trace-work-1", "trace-crash-2"), line
    assert by_event["a library speaks"]["request_id"] == "trace-work-1"
    assert by_event["unhandled_error"]["request_id"] == "trace-crash-2"
    assert "RuntimeError: boom" in by_event["unhandled_error"]["exception"]
    requests = [line for line in lines if line["event"] == "request"]
    assert [(r["path"], r["status"], r["request_id"]) for r in requests] == [
        ("/work", 200, "trace-work-1"),
        ("/crash", 500, "trace-crash-2"),
    ]
