"""Real processes: with second-long tiers, a dispatched case goes due-soon then overdue on its own, the worker
escalates it, and the integrator and the department hear of it."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Stack, WebhookReceiver
from tests.e2e.test_journey import bearer, eventually

pytestmark = pytest.mark.e2e

TIERS = ("immediate", "week", "month", "critical")


def test_a_case_goes_due_soon_then_overdue_and_is_escalated(stack: Stack, receiver: WebhookReceiver) -> None:
    stack.cli("demo")
    keys = json.loads((stack.data_dir / "demo-keys.json").read_text())
    intake = httpx.Client(base_url=stack.urls["intake"], timeout=10)
    routing = httpx.Client(base_url=stack.urls["routing"], timeout=10)
    supervision = httpx.Client(base_url=stack.urls["supervision"], timeout=10)
    subscribed = supervision.post(
        "/v1/webhooks",
        json={
            "url": receiver.url,
            "event_types": ["case.due_soon", "case.overdue", "case.supervision_changed"],
            "ordered": True,
        },
        headers=bearer(keys["integrator"]),
    )
    assert subscribed.status_code == 201, subscribed.text
    policies = [{"tier": "accept", "duration": {"seconds": 3}}]
    policies += [{"tier": tier, "duration": {"seconds": 9}} for tier in TIERS]
    put = supervision.put("/v1/sla-policies", json={"items": policies}, headers=bearer(keys["admin"]))
    assert put.status_code == 200, put.text

    code = next(
        c
        for c in intake.get("/v1/intake-codes", headers=bearer(keys["admin"])).json()["items"]
        if c["owner_type"] == "deputy"
    )
    submitted = intake.post(
        f"/v1/public/codes/{code['token']}/cases",
        json={"category_code": "urban.sanitation", "description": "平江路垃圾桶满溢三天无人清运，气味很大"},
    )
    assert submitted.status_code == 201, submitted.text
    tracking_no = submitted.json()["tracking_no"]

    def alarms() -> list[tuple[str, Any]]:
        found = []
        for item in receiver.received:
            body = json.loads(item.body)
            if body["data"]["tracking_no"] != tracking_no:
                continue
            data = body["data"]
            detail = data.get("level") if body["type"] == "case.supervision_changed" else data.get("kind")
            if detail in ("accept", "reply", "reminder", "formal"):
                found.append((body["type"], detail))
        return found

    expected = [
        ("case.due_soon", "accept"),
        ("case.overdue", "accept"),
        ("case.supervision_changed", "reminder"),
        ("case.due_soon", "reply"),
        ("case.overdue", "reply"),
        ("case.supervision_changed", "formal"),
    ]
    eventually(lambda: len(alarms()) >= len(expected), timeout=60, what="the alarms and escalations")
    assert alarms() == expected

    # The department handling it sees that congress is watching.
    supervisor = bearer(keys["supervisor"])
    case_id = supervision.get("/v1/cases", params={"tracking_no": tracking_no}, headers=supervisor).json()[
        "items"
    ][0]["id"]
    view = supervision.get(f"/v1/cases/{case_id}", headers=supervisor).json()
    assert view["supervision"]["level"] == "formal"
    lead = next(a for a in view["assignments"] if a["role"] == "lead")
    department_key = next(
        d["key"] for d in keys["departments"].values() if d["department_id"] == lead["department_id"]
    )
    detail = routing.get(f"/v1/assignments/{lead['id']}", headers=bearer(department_key)).json()
    assert detail["supervision"]["level"] == "formal"
    watched = supervision.get("/v1/supervision", params={"level": "formal"}, headers=supervisor).json()
    # (The demo's own suggestions run on the shrunken clocks too and may be watched as well.)
    assert tracking_no in [c["tracking_no"] for c in watched["items"]]
