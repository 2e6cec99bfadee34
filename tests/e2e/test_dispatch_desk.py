"""The dispatcher's desk across real processes: a case without a category classified and dispatched, a case
every unit declined redispatched by hand, a duplicate merged so its citizen follows the main case, and a vague
case returned to its citizen, supplemented on the tracking page and dispatched."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Stack
from tests.e2e.test_journey import bearer, eventually

pytestmark = pytest.mark.e2e


def test_the_dispatchers_desk(stack: Stack) -> None:
    stack.cli("demo")
    keys = json.loads((stack.data_dir / "demo-keys.json").read_text())
    intake = httpx.Client(base_url=stack.urls["intake"], timeout=10)
    routing = httpx.Client(base_url=stack.urls["routing"], timeout=10)
    supervision = httpx.Client(base_url=stack.urls["supervision"], timeout=10)
    admin, dispatcher, supervisor = (bearer(keys[r]) for r in ("admin", "dispatcher", "supervisor"))
    departments = {code: d for code, d in keys["departments"].items()}
    codes = intake.get("/v1/intake-codes", headers=admin).json()["items"]
    token = next(c for c in codes if c["owner_type"] == "station")["token"]

    def submit(**fields: Any) -> dict[str, Any]:
        response = intake.post(f"/v1/public/codes/{token}/cases", json=fields)
        assert response.status_code == 201, response.text
        return dict(response.json())

    def staff(tracking_no: str) -> dict[str, Any]:
        found = supervision.get("/v1/cases", params={"tracking_no": tracking_no}, headers=supervisor).json()
        return dict(supervision.get(f"/v1/cases/{found['items'][0]['id']}", headers=supervisor).json())

    # 1. No category: the classifier reads the text; sure enough, the case is dispatched and marked as such.
    unsorted = submit(description="楼下烧烤店每天晚上油烟直排，熏得窗户都不敢开")
    view = eventually(
        lambda: (v := staff(unsorted["tracking_no"]))["status"] == "dispatched" and v,
        what="classified dispatch",
    )
    assert view["category_code"].startswith("environment.") and view["category_source"] == "system"
    classified = next(e for e in view["events"] if e["type"] == "classified")
    assert classified["data"]["score"] >= 0.6 and classified["data"]["matched"]

    # 2. Declined by every unit: back in the queue with the reason; the dispatcher redispatches it.
    declined = submit(category_code="urban.sanitation", description="平江路公厕门口的垃圾桶三天没人清运")
    view = eventually(
        lambda: (v := staff(declined["tracking_no"]))["status"] == "dispatched" and v, what="dispatch"
    )
    lead = next(a for a in view["assignments"] if a["role"] == "lead")
    lead_key = bearer(
        next(d["key"] for d in departments.values() if d["department_id"] == lead["department_id"])
    )
    housing = departments["housing"]["department_id"]
    response = routing.post(
        f"/v1/assignments/{lead['id']}/decline",
        json={"reason": "该公厕由街道物业管理", "suggested_department_id": housing},
        headers=lead_key,
    )
    assert response.status_code == 200, response.text
    queue = routing.get("/v1/dispatch-queue", headers=dispatcher).json()
    item = next(i for i in queue["items"] if i["case_id"] == view["id"])
    assert item["reason"] == "declined" and item["declines"][0]["suggested_department_id"] == housing
    redispatched = routing.post(
        f"/v1/cases/{view['id']}/dispatch",
        json={"assignments": [{"department_id": housing, "role": "lead"}], "note": "按退回建议改派"},
        headers=dispatcher,
    )
    assert redispatched.status_code == 200, redispatched.text
    new_id = redispatched.json()["assignment_ids"][0]
    # Supervision hears the redispatch over HTTP and sets the new unit's deadlines.
    eventually(
        lambda: any(
            d["kind"] == "reply" and d.get("assignment_id") == new_id
            for d in staff(declined["tracking_no"])["deadlines"]
        ),
        what="deadlines of the redispatched unit",
    )
    statuses = {a["department_id"]: a["status"] for a in staff(declined["tracking_no"])["assignments"]}
    assert statuses == {lead["department_id"]: "declined", housing: "pending"}

    # 3. A duplicate: found by the similar search and merged; its citizen now follows the main case.
    main = submit(
        category_code="transport.parking", description="十全街双塔小区门口长期有车辆违停，堵住消防通道"
    )
    repeat = submit(
        category_code="transport.parking", description="双塔小区门口十全街上总有车违停，消防通道被堵"
    )
    main_id = eventually(
        lambda: staff(main["tracking_no"])["status"] == "dispatched" and staff(main["tracking_no"])["id"]
    )
    repeat_id = eventually(
        lambda: staff(repeat["tracking_no"])["status"] == "dispatched" and staff(repeat["tracking_no"])["id"]
    )
    similar = routing.get(f"/v1/cases/{repeat_id}/similar", headers=dispatcher).json()
    assert similar["items"][0]["case_id"] == main_id and similar["items"][0]["why"]["shared_words"]
    merged = routing.post(f"/v1/cases/{repeat_id}/merge", json={"into_case_id": main_id}, headers=dispatcher)
    assert merged.status_code == 200, merged.text
    page = intake.get(f"/v1/public/cases/{repeat['tracking_no']}", params={"k": repeat["access_key"]}).json()
    assert page["status"] == "merged" and main["tracking_no"] in page["merged_note"]
    main_page = intake.get(f"/v1/public/cases/{main['tracking_no']}", params={"k": main["access_key"]}).json()
    assert main_page["reporters"] == 2
    eventually(
        # The staff view lists running and met deadlines; the merge superseded the running ones.
        lambda: all(d["met_at"] for d in staff(repeat["tracking_no"])["deadlines"]),
        what="the merged case's clocks stopped",
    )

    # 4. Too vague to place: returned to the citizen, who adds detail; routing classifies it and dispatches it.
    vague = submit(description="想反映一个情况，麻烦尽快处理一下")
    vague_id = eventually(
        lambda: (v := staff(vague["tracking_no"]))["queue_reason"] == "low_confidence" and v["id"],
        what="the vague case in the queue",
    )
    returned = routing.post(
        f"/v1/cases/{vague_id}/return",
        json={"message": "请补充具体是什么问题、在什么地点"},
        headers=dispatcher,
    )
    assert returned.status_code == 200, returned.text
    page_params = {"k": vague["access_key"]}
    page = intake.get(f"/v1/public/cases/{vague['tracking_no']}", params=page_params).json()
    assert page["can_supplement"] and page["supplement_request"] == "请补充具体是什么问题、在什么地点"
    answered = intake.post(
        f"/t/{vague['tracking_no']}/supplement",
        params=page_params,
        data={"text": "楼下烧烤店每天晚上油烟直排，熏得窗户都不敢开"},
    )
    assert answered.status_code == 303, answered.text
    view = eventually(
        lambda: (v := staff(vague["tracking_no"]))["status"] == "dispatched" and v,
        what="the supplemented case dispatched",
    )
    assert view["category_code"].startswith("environment.") and view["category_source"] == "system"
    assert [e["type"] for e in view["events"] if e["type"] in ("returned", "supplemented")] == [
        "returned",
        "supplemented",
    ]
