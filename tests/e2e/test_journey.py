"""The whole loop across real processes: scan -> submit -> dispatch -> accept -> reply -> rate -> closed,
with every event arriving, signed, at an integrator's endpoint."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from tests.e2e.conftest import Stack, WebhookReceiver

pytestmark = pytest.mark.e2e

PHONE = "13812345678"


def eventually(check: Callable[[], Any], timeout: float = 30, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}; last value: {last!r}")


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_full_journey(stack: Stack, receiver: WebhookReceiver) -> None:
    out = stack.cli("demo")
    assert "/c/" in out
    keys = json.loads((stack.data_dir / "demo-keys.json").read_text())
    admin_line = (
        stack.cli("apikey", "create", "--jurisdiction", "GS", "--role", "admin").strip().splitlines()[-1]
    )
    assert admin_line.startswith("mk_")

    intake = httpx.Client(base_url=stack.urls["intake"], timeout=10)
    routing = httpx.Client(base_url=stack.urls["routing"], timeout=10)
    supervision = httpx.Client(base_url=stack.urls["supervision"], timeout=10)
    assert supervision.get("/v1/api-keys", headers=bearer(admin_line)).status_code == 200

    # The integrator subscribes; a private address is refused, the allow-listed local receiver accepted.
    refused = supervision.post(
        "/v1/webhooks",
        json={"url": "http://10.20.30.40/hook", "event_types": []},
        headers=bearer(keys["integrator"]),
    )
    assert refused.status_code == 422
    created = supervision.post(
        "/v1/webhooks", json={"url": receiver.url, "event_types": []}, headers=bearer(keys["integrator"])
    )
    assert created.status_code == 201, created.text
    secret = created.json()["secret"]
    assert secret.startswith("whsec_")

    # Scan: the QR code leads to the form.
    codes = intake.get("/v1/intake-codes", headers=bearer(keys["admin"])).json()["items"]
    code = next(c for c in codes if c["owner_type"] == "deputy")
    assert intake.get(f"/v1/intake-codes/{code['id']}/qr.png", headers=bearer(keys["admin"])).content[:4] == (
        b"\x89PNG"
    )
    form = intake.get(f"/c/{code['token']}")
    assert form.status_code == 200 and "<form" in form.text

    # Submit.
    submitted = intake.post(
        f"/v1/public/codes/{code['token']}/cases",
        json={
            "category_code": "urban.sanitation",
            "description": "平江路垃圾桶满溢三天无人清运，气味很大",
            "submitter_name": "张三",
            "submitter_phone": PHONE,
        },
    )
    assert submitted.status_code == 201, submitted.text
    receipt = submitted.json()
    tracking_no, access_key = receipt["tracking_no"], receipt["access_key"]
    assert tracking_no.startswith("GS") and receipt["status"] == "received"

    # Routing dispatches it; supervision records the deadlines.
    supervisor = bearer(keys["supervisor"])

    def case_view() -> dict[str, Any]:
        found = supervision.get("/v1/cases", params={"tracking_no": tracking_no}, headers=supervisor).json()
        return supervision.get(f"/v1/cases/{found['items'][0]['id']}", headers=supervisor).json()

    view = eventually(
        lambda: (
            (v := case_view())["status"] == "dispatched"
            and any(d["kind"] == "reply" for d in v["deadlines"])
            and v
        ),
        what="dispatch and deadlines",
    )
    lead = next(a for a in view["assignments"] if a["role"] == "lead")
    departments = {d["department_id"]: d["key"] for d in keys["departments"].values()}
    own, other = (
        bearer(departments[lead["department_id"]]),
        bearer(next(k for dept_id, k in departments.items() if dept_id != lead["department_id"])),
    )

    # The lead department sees and works its assignment; another department gets 404 for the same id.
    listed = routing.get("/v1/assignments", headers=own).json()["items"]
    assert lead["id"] in [a["id"] for a in listed]
    assert all(a["department_id"] == lead["department_id"] for a in listed)
    assert routing.get(f"/v1/assignments/{lead['id']}", headers=other).status_code == 404
    assert routing.post(f"/v1/assignments/{lead['id']}/accept", headers=other).status_code == 404
    detail = routing.get(f"/v1/assignments/{lead['id']}", headers=own).json()
    assert detail["reply_due_at"] is not None
    assert detail["case"]["submitter"]["phone"] == "138****5678"
    assert routing.post(f"/v1/assignments/{lead['id']}/accept", headers=own).status_code == 200
    reply = {"reply_class": "B", "text": "已安排清运，正在增加清运频次"}
    assert routing.post(f"/v1/assignments/{lead['id']}/reply", json=reply, headers=own).status_code == 200

    # The citizen reads the public page: replied, no personal data; then is not satisfied.
    public_url = f"/v1/public/cases/{tracking_no}"
    public = intake.get(public_url, params={"k": access_key})
    assert public.status_code == 200 and public.json()["status"] == "replied"
    assert PHONE not in public.text and "138****5678" not in public.text and "张三" not in public.text
    assert intake.get(public_url, params={"k": "wrong"}).status_code == 404
    rated = intake.post(f"{public_url}/feedback", params={"k": access_key}, json={"rating": "dissatisfied"})
    assert rated.status_code == 200 and rated.json()["status"] == "rework"

    # Rework: routing reopens the lead assignment, supervision sets a new reply deadline.
    eventually(
        lambda: routing.get(f"/v1/assignments/{lead['id']}", headers=own).json()["status"] == "accepted",
        what="assignment reopened for rework",
    )
    eventually(
        lambda: any(d["kind"] == "reply" and d["round"] == 1 for d in case_view()["deadlines"]),
        what="rework deadline",
    )
    reply = {"reply_class": "A", "text": "已增设垃圾桶并每日清运两次"}
    assert routing.post(f"/v1/assignments/{lead['id']}/reply", json=reply, headers=own).status_code == 200
    rated = intake.post(f"{public_url}/feedback", params={"k": access_key}, json={"rating": "satisfied"})
    assert rated.status_code == 200 and rated.json()["status"] == "closed"

    # Every event of the journey reached the integrator, signed, without personal data.
    expected = [
        "case.received",
        "case.dispatched",
        "case.accepted",
        "case.replied",
        "case.feedback",
        "case.rework",
        "case.replied",
        "case.feedback",
        "case.closed",
    ]

    # (The demo's own suggestions travel meanwhile; only this case's events are counted.)
    def ours() -> list[str]:
        with receiver.lock:
            bodies = [json.loads(r.body) for r in receiver.received]
        return [b["type"] for b in bodies if b["data"].get("tracking_no") == tracking_no]

    eventually(lambda: sorted(ours()) == sorted(expected), timeout=40, what="all webhooks")
    verifier = Webhook(secret)
    for item in receiver.received:
        verifier.verify(item.body, item.headers)  # every delivery signed, ours or the demo's
        assert PHONE.encode() not in item.body and "张三".encode() not in item.body
    # The delivery that failed once was retried under the same webhook-id.
    (failed,) = receiver.failed
    retried = [r for r in receiver.received if r.headers["webhook-id"] == failed.headers["webhook-id"]]
    assert len(retried) == 1 and json.loads(retried[0].body)["type"] == "case.dispatched"
