"""One citizen's submission followed across real processes by its X-Request-ID: intake's log and outbox row,
routing applying case.received and dispatching, supervision applying case.dispatched, and the integrator's
webhooks; then what the services' and the worker's /metrics say about it."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, text

from shared.db.engine import sync_url
from tests.e2e.conftest import Stack, WebhookReceiver
from tests.e2e.test_journey import bearer, eventually

pytestmark = pytest.mark.e2e


@pytest.fixture
def stack_env() -> dict[str, str]:
    return {"MINYI_LOG_LEVEL": "INFO", "MINYI_LOG_JSON": "true"}


def log_lines(path: Path) -> list[dict[str, Any]]:
    """The JSON lines of a process's log (anything else, e.g. a crash's traceback, is skipped)."""
    found = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            found.append(json.loads(line))
        except ValueError:
            continue
    return found


def samples(scrape: str, name: str) -> list[tuple[dict[str, str], float]]:
    return [
        (s.labels, s.value)
        for family in text_string_to_metric_families(scrape)
        for s in family.samples
        if s.name == name
    ]


def test_one_submission_is_followed_through_every_service(stack: Stack, receiver: WebhookReceiver) -> None:
    stack.cli("demo")
    keys = json.loads((stack.data_dir / "demo-keys.json").read_text())
    intake = httpx.Client(base_url=stack.urls["intake"], timeout=10)
    supervision = httpx.Client(base_url=stack.urls["supervision"], timeout=10)
    created = supervision.post(
        "/v1/webhooks", json={"url": receiver.url, "event_types": []}, headers=bearer(keys["integrator"])
    )
    assert created.status_code == 201, created.text
    code = intake.get("/v1/intake-codes", headers=bearer(keys["admin"])).json()["items"][0]

    trace = f"trace-{secrets.token_hex(6)}"
    submitted = intake.post(
        f"/v1/public/codes/{code['token']}/cases",
        json={"category_code": "urban.sanitation", "description": "平江路垃圾桶满溢三天无人清运，气味很大"},
        headers={"X-Request-ID": trace},
    )
    assert submitted.status_code == 201, submitted.text
    assert submitted.headers["x-request-id"] == trace
    tracking_no = submitted.json()["tracking_no"]
    supervisor = bearer(keys["supervisor"])

    def dispatched() -> bool:
        found = supervision.get("/v1/cases", params={"tracking_no": tracking_no}, headers=supervisor).json()
        view = supervision.get(f"/v1/cases/{found['items'][0]['id']}", headers=supervisor).json()
        return view["status"] == "dispatched" and any(d["kind"] == "reply" for d in view["deadlines"])

    eventually(dispatched, what="dispatch and deadlines")

    # The outbox rows of the submission and of the dispatch it caused carry the id.
    engine = create_engine(sync_url(stack.env["DATABASE_URL"]))
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT o.type, o.request_id FROM outbox o JOIN cases c ON c.id = o.case_id"
                    " WHERE c.tracking_no = :no AND o.type IN ('case.received', 'case.dispatched')"
                ),
                {"no": tracking_no},
            ).all()
    finally:
        engine.dispose()
    assert sorted(rows) == [("case.dispatched", trace), ("case.received", trace)]

    # Each service's log has it: intake's request, routing applying the arrival, supervision the dispatch.
    def logged(process: str, **fields: object) -> bool:
        return any(
            all(line.get(k) == v for k, v in fields.items())
            for line in log_lines(stack.log_dir / f"{process}.log")
        )

    eventually(
        lambda: logged("routing", event="event_applied", type="case.received", request_id=trace),
        what="routing's event_applied line",
    )
    eventually(
        lambda: logged("supervision", event="event_applied", type="case.dispatched", request_id=trace),
        what="supervision's event_applied line",
    )
    assert logged("intake", event="request", status=201, request_id=trace, service="intake")
    traced = [line for line in log_lines(stack.log_dir / "routing.log") if line.get("request_id") == trace]
    assert {line["service"] for line in traced} == {"routing"}

    # The integrator gets the id with both webhooks of this case.
    def hooks() -> dict[str, str | None]:
        with receiver.lock:
            bodies = [(json.loads(r.body), r.headers.get("x-request-id")) for r in receiver.received]
        return {body["type"]: rid for body, rid in bodies if body["data"].get("tracking_no") == tracking_no}

    eventually(lambda: {"case.received", "case.dispatched"} <= set(hooks()), what="both webhooks")
    assert hooks()["case.received"] == hooks()["case.dispatched"] == trace

    # Metrics: intake counted the submission by its route template, routing the citizen's category.
    intake_scrape = intake.get("/metrics").text
    assert (
        {"service": "intake", "method": "POST", "route": "/v1/public/codes/{token}/cases", "status": "201"},
        1.0,
    ) in samples(intake_scrape, "minyi_http_requests_total")
    assert code["token"] not in intake_scrape and tracking_no not in intake_scrape
    routing_scrape = httpx.get(f"{stack.urls['routing']}/metrics", timeout=10).text
    named = {
        labels["source"]: value
        for labels, value in samples(routing_scrape, "minyi_classifications_total")
        if labels["outcome"] == "named"
    }
    assert named["citizen"] >= 1  # this case, and the demo's cases that arrived with a category

    # The worker: deliveries by lane and outcome, the backlog gauges, its scheduled jobs.
    worker_url = f"http://127.0.0.1:{stack.worker_metrics_port}/metrics"

    def worker_attempts() -> dict[tuple[str, str], float]:
        scrape = httpx.get(worker_url, timeout=5).text
        return {
            (labels["lane"], labels["outcome"]): value
            for labels, value in samples(scrape, "minyi_delivery_attempts_total")
        }

    attempts = eventually(
        lambda: (found := worker_attempts()).get(("integrators", "succeeded"), 0) >= 2 and found,
        what="the worker's delivery counters",
    )
    assert attempts[("integrators", "retry")] >= 1  # the receiver's one 500
    assert attempts[("internal", "succeeded")] >= 2
    scrape = httpx.get(worker_url, timeout=5).text
    assert {labels["lane"] for labels, _ in samples(scrape, "minyi_deliveries_pending")} == {
        "internal",
        "integrators",
    }
    ok_jobs = {
        labels["job"] for labels, _ in samples(scrape, "minyi_job_runs_total") if labels["result"] == "ok"
    }
    assert {"close_unrated", "alarms"} <= ok_jobs
