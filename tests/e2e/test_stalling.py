"""No integrator can stall the pipeline: with endpoints that trickle, never answer and answer 50 MB
subscribed to every event, 100 new cases are still dispatched and given deadlines at once."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.e2e.conftest import Stack
from tests.e2e.test_journey import bearer, eventually
from tests.misbehaving import HUGE_BYTES, receiver

pytestmark = pytest.mark.e2e


def test_misbehaving_integrators_do_not_hold_up_dispatch_or_deadlines(stack: Stack) -> None:
    stack.cli("demo")
    keys = json.loads((stack.data_dir / "demo-keys.json").read_text())
    intake = httpx.Client(base_url=stack.urls["intake"], timeout=10)
    supervision = httpx.Client(base_url=stack.urls["supervision"], timeout=10)
    token = intake.get("/v1/intake-codes", headers=bearer(keys["admin"])).json()["items"][0]["token"]
    with (
        receiver("trickle", interval=3) as trickle,
        receiver("silent") as silent,
        receiver("huge") as huge,
        receiver("ok") as healthy,
    ):
        for bad in (trickle, silent, huge, healthy):
            subscribed = supervision.post(
                "/v1/webhooks", json={"url": bad.url, "event_types": []}, headers=bearer(keys["integrator"])
            )
            assert subscribed.status_code == 201, subscribed.text
        tracking_numbers = []
        for i in range(100):
            body = {"category_code": "urban.sanitation", "description": f"第 {i + 1} 号垃圾桶满溢无人清运"}
            answer = intake.post(f"/v1/public/codes/{token}/cases", json=body)
            assert answer.status_code == 201, answer.text
            tracking_numbers.append(answer.json()["tracking_no"])

        supervisor = bearer(keys["supervisor"])

        def dispatched_with_deadlines() -> int:
            items = supervision.get("/v1/cases", params={"limit": 200}, headers=supervisor).json()["items"]
            # Only this test's cases: the demo's own suggestions are dispatched meanwhile too.
            ours = set(tracking_numbers)
            return sum(1 for item in items if item["status"] == "dispatched" and item["tracking_no"] in ours)

        # The old relay dispatched one case here in a minute: a trickling endpoint held its batch forever.
        eventually(lambda: dispatched_with_deadlines() == 100, timeout=60, what="100 cases dispatched")
        last = supervision.get("/v1/cases", params={"tracking_no": tracking_numbers[-1]}, headers=supervisor)
        view = supervision.get(f"/v1/cases/{last.json()['items'][0]['id']}", headers=supervisor).json()
        eventually(
            lambda: bool(supervision.get(f"/v1/cases/{view['id']}", headers=supervisor).json()["deadlines"]),
            timeout=60,
            what="deadlines of the last case",
        )

        # The healthy integrator hears every case's dispatch meanwhile.
        # Counted by case: the demo's own suggestions may be dispatched after the subscription too, and a
        # redelivery (same webhook-id) is allowed.
        def heard() -> set[str]:
            events = [json.loads(body) for body in list(healthy.bodies)]
            return {e["data"]["tracking_no"] for e in events if e["type"] == "case.dispatched"}

        eventually(
            lambda: heard() >= set(tracking_numbers),
            timeout=60,
            what="the healthy integrator's case.dispatched events",
        )
        assert huge.requests >= 100 and huge.bytes_sent < HUGE_BYTES / 2
