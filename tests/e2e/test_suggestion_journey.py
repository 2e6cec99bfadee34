"""A joint deputy suggestion across the real processes: a deputy submits it with a co-signer, routing
dispatches it on the statutory 3-month clock, the department must consult the deputy before replying,
both deputies are told of the reply, the author's rating closes it, and the duty points follow the events."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.e2e.conftest import Stack, WebhookReceiver
from tests.e2e.test_journey import bearer, eventually

pytestmark = pytest.mark.e2e

SHANGHAI = ZoneInfo("Asia/Shanghai")  # consultation dates are Beijing days


def test_a_joint_suggestion_from_submission_to_the_deputys_rating(
    stack: Stack, receiver: WebhookReceiver
) -> None:
    stack.cli("demo")
    keys = json.loads((stack.data_dir / "demo-keys.json").read_text())
    intake = httpx.Client(base_url=stack.urls["intake"], timeout=10)
    routing = httpx.Client(base_url=stack.urls["routing"], timeout=10)
    supervision = httpx.Client(base_url=stack.urls["supervision"], timeout=10)
    author, cosigner = keys["deputies"]["王志强"], keys["deputies"]["张丽华"]
    other = keys["deputies"]["刘伟"]
    supervisor, admin = bearer(keys["supervisor"]), bearer(keys["admin"])
    receiver.fail_once_for = ""
    hooked = supervision.post(
        "/v1/webhooks",
        json={"url": receiver.url, "event_types": ["suggestion.submitted", "case.feedback", "case.closed"]},
        headers=bearer(keys["integrator"]),
    )
    assert hooked.status_code == 201, hooked.text
    policy = routing.put(
        "/v1/routing-settings",
        json={"classify_threshold": 0.6, "queue_unmatched": False, "require_consultation": True},
        headers=admin,
    )
    assert policy.status_code == 200, policy.text

    # The deputy submits a joint suggestion (联名).
    submitted = intake.post(
        "/v1/deputy/cases",
        json={
            "title": "关于十全街夜间施工噪声扰民的建议",
            "description": "十全街沿线夜间施工频繁，居民反映休息受到严重影响，建议规范夜间施工审批并加强巡查。",
            "category_code": "housing",
            "cosigner_ids": [cosigner["deputy_id"]],
        },
        headers=bearer(author["key"]),
    )
    assert submitted.status_code == 201, submitted.text
    suggestion = submitted.json()
    case_id, tracking_no = suggestion["id"], suggestion["tracking_no"]

    # The co-signer sees it on their desk; another deputy does not.
    cosigned = intake.get(
        "/v1/deputy/cases", params={"relation": "cosigned"}, headers=bearer(cosigner["key"])
    )
    assert case_id in [c["id"] for c in cosigned.json()["items"]]
    assert intake.get(f"/v1/deputy/cases/{case_id}", headers=bearer(other["key"])).status_code == 404

    # Routing dispatches it; supervision sets the statutory reply deadline: 3 months from dispatch.
    def view() -> dict[str, Any]:
        return supervision.get(f"/v1/cases/{case_id}", headers=supervisor).json()

    dispatched = eventually(
        lambda: (
            (v := view())["status"] == "dispatched"
            and any(d["kind"] == "reply" for d in v["deadlines"])
            and v
        ),
        what="the suggestion dispatched with its deadlines",
    )
    lead = next(a for a in dispatched["assignments"] if a["role"] == "lead")
    reply_deadline = next(d for d in dispatched["deadlines"] if d["kind"] == "reply")
    assert reply_deadline["tier"] == "deputy_suggestion"
    due = datetime.fromisoformat(reply_deadline["due_at"])
    assert timedelta(days=88) <= due - datetime.now(UTC) <= timedelta(days=93)
    department = bearer(
        next(d["key"] for d in keys["departments"].values() if d["department_id"] == lead["department_id"])
    )

    # The department accepts; a reply before consulting the deputy is refused, then it consults and replies.
    assert routing.post(f"/v1/assignments/{lead['id']}/accept", headers=department).status_code == 200
    reply = {"reply_class": "B", "text": "已会同街道制定夜间施工审批细则，并增加夜间巡查频次"}
    early = routing.post(f"/v1/assignments/{lead['id']}/reply", json=reply, headers=department)
    assert early.status_code == 422 and early.json()["error"]["code"] == "consultation_required"
    consulted = routing.post(
        f"/v1/assignments/{lead['id']}/consultations",
        json={
            "held_on": datetime.now(SHANGHAI).date().isoformat(),
            "mode": "face",
            "note": "与王志强代表面商办理方案",
        },
        headers=department,
    )
    assert consulted.status_code == 201, consulted.text
    assert (
        routing.post(f"/v1/assignments/{lead['id']}/reply", json=reply, headers=department).status_code == 200
    )

    # Both deputies are told of the reply on their desks.
    for deputy in (author, cosigner):
        eventually(
            lambda d=deputy: any(
                n["case_id"] == case_id
                for n in intake.get("/v1/deputy/notices", headers=bearer(d["key"])).json()["items"]
            ),
            what="a notice of the reply",
        )

    # Only the author's rating closes it; the co-signer may not rate.
    rating = {"rating": "satisfied", "comment": "答复具体，措施到位"}
    refused = supervision.post(f"/v1/cases/{case_id}/feedback", json=rating, headers=bearer(cosigner["key"]))
    assert refused.status_code == 403
    rated = supervision.post(f"/v1/cases/{case_id}/feedback", json=rating, headers=bearer(author["key"]))
    assert rated.status_code == 201, rated.text
    assert rated.json()["status"] == "closed"

    # The integrator heard of it without personal data; the duty points followed the events.
    def ours() -> list[str]:
        with receiver.lock:
            bodies = [json.loads(r.body) for r in receiver.received]
        return sorted(b["type"] for b in bodies if b["data"].get("tracking_no") == tracking_no)

    eventually(
        lambda: ours() == ["case.closed", "case.feedback", "suggestion.submitted"],
        timeout=40,
        what="the suggestion's events at the integrator",
    )

    def points(deputy: dict[str, Any]) -> dict[str, int]:
        ledger = supervision.get(f"/v1/deputies/{deputy['deputy_id']}/duty-points", headers=supervisor).json()
        return {e["action"]: e["points"] for e in ledger["items"] if e.get("case_id") == case_id}

    eventually(
        lambda: points(author) == {"suggestion_submitted": 3, "rating_given": 1},
        what="the author's points",
    )
    assert points(cosigner) == {"suggestion_cosigned": 1}
