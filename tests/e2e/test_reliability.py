"""Nothing is lost: with routing_api stopped and the integrator's endpoint down, intake keeps accepting;
when they come back every case is dispatched exactly once and every event reaches the integrator."""

from __future__ import annotations

import json
import time
from collections import Counter

import httpx
import pytest

from tests.e2e.conftest import Stack, WebhookReceiver
from tests.e2e.test_journey import bearer, eventually

pytestmark = pytest.mark.e2e


def test_cases_wait_for_a_stopped_service_and_are_dispatched_once(
    stack: Stack, receiver: WebhookReceiver
) -> None:
    stack.cli("demo")
    keys = json.loads((stack.data_dir / "demo-keys.json").read_text())
    intake = httpx.Client(base_url=stack.urls["intake"], timeout=10)
    supervision = httpx.Client(base_url=stack.urls["supervision"], timeout=10)
    receiver.fail_once_for = ""
    subscribed = supervision.post(
        "/v1/webhooks",
        json={"url": receiver.url, "event_types": ["case.received", "case.dispatched"]},
        headers=bearer(keys["integrator"]),
    )
    assert subscribed.status_code == 201, subscribed.text
    token = intake.get("/v1/intake-codes", headers=bearer(keys["admin"])).json()["items"][0]["token"]

    stack.stop("routing")
    receiver.down = True
    tracking_numbers = []
    for i in range(5):
        body = {
            "category_code": "urban.greening",
            "description": f"小区绿化带第 {i + 1} 处树木倒伏，影响通行",
        }
        headers = {"Idempotency-Key": f"reliability-{i}"}
        first = intake.post(f"/v1/public/codes/{token}/cases", json=body, headers=headers)
        again = intake.post(f"/v1/public/codes/{token}/cases", json=body, headers=headers)  # a double tap
        assert first.status_code == 201 and again.status_code == 200
        assert again.json()["tracking_no"] == first.json()["tracking_no"]
        tracking_numbers.append(first.json()["tracking_no"])
    assert len(set(tracking_numbers)) == 5

    supervisor = bearer(keys["supervisor"])

    def statuses() -> Counter[str]:
        items = supervision.get("/v1/cases", params={"limit": 50}, headers=supervisor).json()["items"]
        # Only this test's cases, not the demo's suggestions (routing is down for those too).
        return Counter(item["status"] for item in items if item["tracking_no"] in tracking_numbers)

    time.sleep(2)
    assert statuses() == Counter({"received": 5})  # accepted and kept, waiting for routing
    eventually(lambda: receiver.refused > 0, what="the integrator's endpoint being tried while down")

    receiver.down = False
    stack.start("routing")
    eventually(lambda: statuses() == Counter({"dispatched": 5}), timeout=40, what="dispatch after restart")

    for tracking_no in tracking_numbers:
        found = supervision.get("/v1/cases", params={"tracking_no": tracking_no}, headers=supervisor).json()
        view = supervision.get(f"/v1/cases/{found['items'][0]['id']}", headers=supervisor).json()
        assert [e["type"] for e in view["events"]].count("dispatched") == 1
        assert len(view["assignments"]) == 1

    def delivered() -> Counter[str]:
        with receiver.lock:
            bodies = {r.headers["webhook-id"]: json.loads(r.body) for r in receiver.received}
        return Counter(
            body["type"] for body in bodies.values() if body["data"]["tracking_no"] in tracking_numbers
        )

    eventually(
        lambda: delivered() == Counter({"case.received": 5, "case.dispatched": 5}),
        timeout=40,
        what="every event delivered once the endpoint is back",
    )
