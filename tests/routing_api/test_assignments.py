"""The department API: only one's own assignments, and accept / decline / progress / co-opinion / reply with the
case moving through its states as the domain says."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from shared.db.models import (
    Assignment,
    CaseEvent,
    Deadline,
    Department,
    OutboxEvent,
    RoutingRule,
    RoutingRuleAssignment,
)
from tests.factories import add_key, build_world
from tests.routing_api.conftest import dispatched_case


def _url(assignment, action: str | None = None) -> str:
    base = f"/v1/assignments/{assignment.id}"
    return f"{base}/{action}" if action else base


async def _outbox_types(session) -> list[str]:
    return list((await session.execute(select(OutboxEvent.type).order_by(OutboxEvent.id))).scalars())


async def _events(session, case_id: int) -> list[CaseEvent]:
    rows = await session.execute(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id))
    return list(rows.scalars())


# --- who may see what -------------------------------------------------------------------------------------


async def test_a_department_cannot_see_or_act_on_another_departments_assignment(session, client, world):
    _, assignments = await dispatched_case(session, client, world, category="urban")
    theirs = assignments["urban_mgmt"]
    mine = world.auth("dept:environment")
    assert (await client.get(_url(theirs), headers=mine)).status_code == 404
    for action, body in [
        ("accept", None),
        ("decline", {"reason": "不属于本单位职责"}),
        ("progress", {"text": "已派人查看"}),
        ("co-opinion", {"text": "建议协调供电公司"}),
        ("reply", {"reply_class": "A", "text": "已处理"}),
    ]:
        response = await client.post(_url(theirs, action), json=body, headers=mine)
        assert response.status_code == 404, action
        assert response.json()["error"]["code"] == "assignment_not_found"
    listing = await client.get("/v1/assignments", headers=mine)
    assert listing.json()["items"] == []
    await session.refresh(theirs)
    assert theirs.status == "pending"


async def test_another_jurisdictions_department_gets_404(session, client, world):
    _, assignments = await dispatched_case(session, client, world, category="urban")
    other = await build_world(session, code="XC", name="相城区")
    await session.commit()
    response = await client.get(_url(assignments["urban_mgmt"]), headers=other.auth("dept:urban_mgmt"))
    assert response.status_code == 404


async def test_roles_and_keys(session, client, world):
    _, assignments = await dispatched_case(session, client, world, category="urban")
    a = assignments["urban_mgmt"]
    assert (await client.get("/v1/assignments")).status_code == 401
    bad = {"Authorization": "Bearer mk_nothing_here"}
    assert (await client.get("/v1/assignments", headers=bad)).status_code == 401
    for role in ("admin", "dispatcher", "supervisor", "deputy"):
        response = await client.post(_url(a, "accept"), headers=world.auth(role))
        assert response.status_code == 403, role
        assert response.json()["error"]["message"] == "当前角色无权执行此操作"


async def test_bad_input_is_a_4xx_in_chinese(session, client, world):
    _, assignments = await dispatched_case(session, client, world, category="urban")
    a = assignments["urban_mgmt"]
    auth = world.auth("dept:urban_mgmt")
    assert (await client.get(f"/v1/assignments/{2**64}", headers=auth)).status_code == 422
    assert (await client.get("/v1/assignments/abc", headers=auth)).status_code == 422
    assert (await client.post(f"/v1/assignments/{2**63 - 1}/accept", headers=auth)).status_code == 404
    broken = await client.post(
        _url(a, "reply"), content=b"{not json", headers={**auth, "content-type": "application/json"}
    )
    assert broken.status_code == 422
    assert broken.json()["error"]["details"][0]["message"] == "请求体不是合法的 JSON"
    wrong_class = await client.post(
        _url(a, "reply"), json={"reply_class": "E", "text": "已处理"}, headers=auth
    )
    assert wrong_class.status_code == 422
    assert wrong_class.json()["error"]["details"][0]["field"] == "reply_class"
    not_object = await client.post(_url(a, "progress"), json=["进展"], headers=auth)
    assert not_object.status_code == 422
    wrong_type = await client.post(_url(a, "progress"), json={"text": 42}, headers=auth)
    assert wrong_type.status_code == 422
    listing = await client.get("/v1/assignments?status=lost", headers=auth)
    assert listing.status_code == 422
    naive = await client.get("/v1/assignments?updated_since=2026-11-22T10:00:00", headers=auth)
    assert naive.status_code == 422
    cursor = await client.get("/v1/assignments?cursor=aWQ6OTk5OTk5OTk5OTk5OTk5OTk5OTk5", headers=auth)
    assert cursor.status_code == 422


# --- listing and the department view -----------------------------------------------------------------------


async def test_list_shows_own_assignments_newest_first_with_filters_and_pages(session, client, world):
    first, a1 = await dispatched_case(session, client, world, category="urban")
    second, a2 = await dispatched_case(session, client, world, category="environment", grid="G1")
    await dispatched_case(session, client, world, category="environment", grid="G2")  # not urban_mgmt's
    auth = world.auth("dept:urban_mgmt")
    page = (await client.get("/v1/assignments", headers=auth)).json()
    assert [item["id"] for item in page["items"]] == [a2["urban_mgmt"].id, a1["urban_mgmt"].id]
    item = page["items"][0]
    assert (
        item["role"] == "co"
        and item["status"] == "pending"
        and item["department_id"] == (world.departments["urban_mgmt"].id)
    )
    assert item["case"] == {
        "tracking_no": second.tracking_no,
        "status": "dispatched",
        "category_code": "environment",
        "category_source": "citizen",
        "classification_score": None,
        "request_type": "suggestion",
        "urgency": "normal",
        "title": None,
        "description": "小区门口的路灯坏了一个多月",
        "location_text": None,
        "grid_code": "GS-G1",
        "created_at": item["case"]["created_at"],
    }
    assert item["accept_due_at"] is None and item["reply_due_at"] is None

    one = (await client.get("/v1/assignments?limit=1", headers=auth)).json()
    assert [i["id"] for i in one["items"]] == [a2["urban_mgmt"].id]
    rest = (await client.get(f"/v1/assignments?limit=1&cursor={one['next_cursor']}", headers=auth)).json()
    assert [i["id"] for i in rest["items"]] == [a1["urban_mgmt"].id]
    assert rest["next_cursor"] is None

    await client.post(_url(a1["urban_mgmt"], "accept"), headers=auth)
    accepted = (await client.get("/v1/assignments?status=accepted", headers=auth)).json()
    assert [i["id"] for i in accepted["items"]] == [a1["urban_mgmt"].id]
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    later = await client.get("/v1/assignments", params={"updated_since": future}, headers=auth)
    assert later.json()["items"] == []
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    earlier = await client.get("/v1/assignments", params={"updated_since": past}, headers=auth)
    assert len(earlier.json()["items"]) == 2
    assert first.id != second.id


async def test_due_times_come_from_the_latest_open_deadline_rows(session, client, world):
    case, assignments = await dispatched_case(session, client, world, category="environment", grid="G1")
    lead, co = assignments["environment"], assignments["urban_mgmt"]
    base = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)

    def row(a, kind: str, days: int, round_: int = 0, superseded: bool = False) -> Deadline:
        return Deadline(
            jurisdiction_id=world.jurisdiction.id,
            case_id=case.id,
            assignment_id=a.id,
            kind=kind,
            round=round_,
            starts_at=base,
            due_at=base + timedelta(days=days),
            superseded_at=base if superseded else None,
        )

    session.add_all(
        [
            row(lead, "accept", 1),
            row(lead, "reply", 5),
            row(lead, "reply", 30, round_=1),
            row(lead, "reply", 60, round_=2, superseded=True),
            row(co, "accept", 1),
            row(co, "co_opinion", 2),
        ]
    )
    await session.commit()
    view = (await client.get(_url(lead), headers=world.auth("dept:environment"))).json()
    assert view["accept_due_at"] == "2026-11-24T01:00:00Z"
    assert view["reply_due_at"] == "2026-12-23T01:00:00Z"
    assert view["co_opinion_due_at"] is None
    listed = (await client.get("/v1/assignments", headers=world.auth("dept:urban_mgmt"))).json()["items"]
    assert [(i["accept_due_at"], i["reply_due_at"], i["co_opinion_due_at"]) for i in listed] == [
        ("2026-11-24T01:00:00Z", None, "2026-11-25T01:00:00Z")
    ]


async def test_detail_has_the_masked_staff_view_and_timeline(session, client, world):
    _, assignments = await dispatched_case(
        session, client, world, category="urban", submitter_name="张三丰", submitter_phone="13812345678"
    )
    detail = (await client.get(_url(assignments["urban_mgmt"]), headers=world.auth("dept:urban_mgmt"))).json()
    assert detail["case"]["submitter"] == {"name": "张**", "phone": "138****5678"}
    assert [e["type"] for e in detail["case"]["events"]] == ["received", "dispatched"]
    assert detail["co_opinions"] == []
    _, confidential = await dispatched_case(
        session,
        client,
        world,
        category="urban",
        submitter_name="李四",
        submitter_phone="13900001111",
        confidential=True,
    )
    hidden = (
        await client.get(_url(confidential["urban_mgmt"]), headers=world.auth("dept:urban_mgmt"))
    ).json()
    assert hidden["case"]["submitter"] is None
    assert "13900001111" not in str(hidden) and "李四" not in str(hidden)


# --- accept ------------------------------------------------------------------------------------------------


async def test_lead_accepting_puts_the_case_in_progress_once(session, client, world):
    case, assignments = await dispatched_case(session, client, world, category="urban")
    a = assignments["urban_mgmt"]
    auth = world.auth("dept:urban_mgmt")
    response = await client.post(_url(a, "accept"), headers=auth)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "accepted" and body["accepted_at"] is not None
    assert body["case"]["status"] == "in_progress"
    await session.refresh(case)
    assert case.status == "in_progress"
    accepted = (
        await session.execute(select(OutboxEvent).where(OutboxEvent.type == "case.accepted"))
    ).scalar_one()
    assert accepted.payload["assignment_id"] == a.id
    assert accepted.payload["department_id"] == world.departments["urban_mgmt"].id
    again = await client.post(_url(a, "accept"), headers=auth)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "already_accepted"
    assert (await _outbox_types(session)).count("case.accepted") == 1


async def test_co_handler_accepting_leaves_the_case_dispatched(session, client, world):
    case, assignments = await dispatched_case(session, client, world, category="environment", grid="G1")
    response = await client.post(
        _url(assignments["urban_mgmt"], "accept"), headers=world.auth("dept:urban_mgmt")
    )
    assert response.status_code == 200
    await session.refresh(case)
    assert case.status == "dispatched"
    events = await _events(session, case.id)
    assert events[-1].type == "accepted" and events[-1].from_status is None and events[-1].public
    assert "case.accepted" in await _outbox_types(session)


# --- reply -------------------------------------------------------------------------------------------------


async def test_reply_before_accept_is_refused(session, client, world):
    _, assignments = await dispatched_case(session, client, world, category="urban")
    response = await client.post(
        _url(assignments["urban_mgmt"], "reply"),
        json={"reply_class": "A", "text": "已处理"},
        headers=world.auth("dept:urban_mgmt"),
    )
    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "not_accepted",
        "message": "请先签收该交办事项",
        "details": [],
    }


async def test_case_is_replied_only_when_lead_and_separate_have_both_replied(session, client, world):
    case, assignments = await dispatched_case(session, client, world, category="environment", grid="G2")
    lead, separate = assignments["environment"], assignments["street_office"]
    lead_auth, sep_auth = world.auth("dept:environment"), world.auth("dept:street_office")
    await client.post(_url(lead, "accept"), headers=lead_auth)
    first = await client.post(
        _url(lead, "reply"), json={"reply_class": "B", "text": "已立项整改"}, headers=lead_auth
    )
    assert first.status_code == 200 and first.json()["status"] == "replied"
    await session.refresh(case)
    assert case.status == "in_progress"
    assert "case.replied" not in await _outbox_types(session)
    partial = (await _events(session, case.id))[-1]
    assert partial.type == "assignment_replied" and partial.public and partial.data["reply_class"] == "B"

    await client.post(_url(separate, "accept"), headers=sep_auth)
    second = await client.post(
        _url(separate, "reply"), json={"reply_class": "A", "text": "街道已清理"}, headers=sep_auth
    )
    assert second.status_code == 200
    await session.refresh(case)
    assert case.status == "replied" and case.replied_at is not None
    replied = (
        await session.execute(select(OutboxEvent).where(OutboxEvent.type == "case.replied"))
    ).scalar_one()
    assert replied.payload["assignment_id"] == separate.id and replied.payload["reply_class"] == "A"
    assert "text" not in replied.payload  # events stay thin


async def test_simultaneous_replies_still_mark_the_case_replied(session, client, world):
    case, assignments = await dispatched_case(session, client, world, category="environment", grid="G2")
    lead, separate = assignments["environment"], assignments["street_office"]
    lead_auth, sep_auth = world.auth("dept:environment"), world.auth("dept:street_office")
    await client.post(_url(lead, "accept"), headers=lead_auth)
    await client.post(_url(separate, "accept"), headers=sep_auth)
    responses = await asyncio.gather(
        client.post(_url(lead, "reply"), json={"reply_class": "A", "text": "已处理完毕"}, headers=lead_auth),
        client.post(
            _url(separate, "reply"), json={"reply_class": "A", "text": "已清理完毕"}, headers=sep_auth
        ),
    )
    assert [r.status_code for r in responses] == [200, 200]
    await session.refresh(case)
    assert case.status == "replied"
    assert (await _outbox_types(session)).count("case.replied") == 1


async def test_co_handlers_send_opinions_not_replies(session, client, world):
    case, assignments = await dispatched_case(session, client, world, category="environment", grid="G1")
    lead, co = assignments["environment"], assignments["urban_mgmt"]
    lead_auth, co_auth = world.auth("dept:environment"), world.auth("dept:urban_mgmt")
    early = await client.post(_url(co, "co-opinion"), json={"text": "建议联合执法"}, headers=co_auth)
    assert early.status_code == 409 and early.json()["error"]["code"] == "not_accepted"
    await client.post(_url(co, "accept"), headers=co_auth)
    await client.post(_url(lead, "accept"), headers=lead_auth)
    not_a_reply = await client.post(
        _url(co, "reply"), json={"reply_class": "A", "text": "已处理"}, headers=co_auth
    )
    assert not_a_reply.status_code == 409
    assert not_a_reply.json()["error"]["code"] == "wrong_assignment_role"
    lead_opinion = await client.post(_url(lead, "co-opinion"), json={"text": "主办意见"}, headers=lead_auth)
    assert lead_opinion.status_code == 409
    assert lead_opinion.json()["error"]["code"] == "wrong_assignment_role"

    opinion = await client.post(_url(co, "co-opinion"), json={"text": "建议联合执法"}, headers=co_auth)
    assert opinion.status_code == 200
    event = (await _events(session, case.id))[-1]
    assert event.type == "co_opinion" and not event.public
    detail = (await client.get(_url(lead), headers=lead_auth)).json()
    assert [(o["text"], o["department_name"]) for o in detail["co_opinions"]] == [
        ("建议联合执法", "区城管局")
    ]
    own = (await client.get(_url(co), headers=co_auth)).json()
    assert [o["text"] for o in own["co_opinions"]] == ["建议联合执法"]
    assert "case.co_opinion" not in await _outbox_types(session)


async def test_a_co_opinion_reaches_only_the_lead_and_its_author(session, client, world):
    # The timeline must not carry what the co_opinions list withholds: another co-handler's or a separate
    # unit's key never reads an opinion addressed to the lead.
    jid = world.jurisdiction.id
    water = Department(jurisdiction_id=jid, code="water", name="区水务局")
    rule = RoutingRule(jurisdiction_id=jid, category_id=world.categories["environment.noise"].id, tier="week")
    session.add_all([water, rule])
    await session.flush()
    world.departments["water"] = water
    world.keys["dept:water"] = await add_key(session, jid, "department", department_id=water.id)
    roles = {"environment": "lead", "urban_mgmt": "co", "water": "co", "street_office": "separate"}
    session.add_all(
        RoutingRuleAssignment(rule_id=rule.id, department_id=world.departments[code].id, role=role)
        for code, role in roles.items()
    )
    await session.commit()
    _, assignments = await dispatched_case(session, client, world, category="environment.noise")
    author = world.auth("dept:urban_mgmt")
    await client.post(_url(assignments["urban_mgmt"], "accept"), headers=author)
    opinion = {"text": "建议联合执法"}
    assert (
        await client.post(_url(assignments["urban_mgmt"], "co-opinion"), json=opinion, headers=author)
    ).status_code == 200

    def opinions_in_timeline(detail: dict) -> list[str]:
        return [e["data"]["text"] for e in detail["case"]["events"] if e["type"] == "co_opinion"]

    for code, expected in (("environment", ["建议联合执法"]), ("urban_mgmt", ["建议联合执法"])):
        detail = (await client.get(_url(assignments[code]), headers=world.auth(f"dept:{code}"))).json()
        assert [o["text"] for o in detail["co_opinions"]] == expected, code
        assert opinions_in_timeline(detail) == expected, code
    for code in ("water", "street_office"):
        response = await client.get(_url(assignments[code]), headers=world.auth(f"dept:{code}"))
        assert response.status_code == 200 and response.json()["co_opinions"] == [], code
        assert "建议联合执法" not in response.text, code


# --- progress ----------------------------------------------------------------------------------------------


async def test_progress_public_and_internal_in_the_timeline(session, client, world):
    _, assignments = await dispatched_case(session, client, world, category="urban")
    a = assignments["urban_mgmt"]
    auth = world.auth("dept:urban_mgmt")
    early = await client.post(_url(a, "progress"), json={"text": "已派人查看"}, headers=auth)
    assert early.status_code == 409
    await client.post(_url(a, "accept"), headers=auth)
    assert (
        await client.post(_url(a, "progress"), json={"text": "已派人查看"}, headers=auth)
    ).status_code == 200
    internal = {"text": "需协调供电公司", "public": False}
    assert (await client.post(_url(a, "progress"), json=internal, headers=auth)).status_code == 200
    short = await client.post(_url(a, "progress"), json={"text": "好"}, headers=auth)
    assert short.status_code == 422 and short.json()["error"]["details"][0]["field"] == "text"
    timeline = (await client.get(_url(a), headers=auth)).json()["case"]["events"]
    progress = [(e["data"]["text"], e["public"]) for e in timeline if e["type"] == "progress"]
    assert progress == [("已派人查看", True), ("需协调供电公司", False)]
    assert (await _outbox_types(session)).count("case.progress") == 2


# --- decline -----------------------------------------------------------------------------------------------


async def test_declining_the_only_lead_sends_the_case_back_to_received(session, client, world):
    case, assignments = await dispatched_case(session, client, world, category="urban")
    a = assignments["urban_mgmt"]
    body = {"reason": "路灯归供电公司管理", "suggested_department_id": world.departments["street_office"].id}
    response = await client.post(_url(a, "decline"), json=body, headers=world.auth("dept:urban_mgmt"))
    assert response.status_code == 200
    view = response.json()
    assert view["status"] == "declined" and view["decline_reason"] == "路灯归供电公司管理"
    assert view["suggested_department_id"] == world.departments["street_office"].id
    await session.refresh(case)
    assert case.status == "received"
    event = (await _events(session, case.id))[-1]
    assert event.type == "declined" and not event.public
    assert event.from_status == "dispatched" and event.data["reason"] == "路灯归供电公司管理"
    declined = (
        await session.execute(select(OutboxEvent).where(OutboxEvent.type == "case.declined"))
    ).scalar_one()
    assert declined.payload["assignment_id"] == a.id and declined.payload["department_ids"] == []
    assert "路灯归供电公司管理" not in str(declined.payload)
    twice = await client.post(_url(a, "decline"), json=body, headers=world.auth("dept:urban_mgmt"))
    assert twice.status_code == 409


async def test_a_declining_department_no_longer_sees_the_submitter(session, client, world):
    _, assignments = await dispatched_case(
        session, client, world, category="urban", submitter_name="李四", submitter_phone="13912345678"
    )
    a, auth = assignments["urban_mgmt"], world.auth("dept:urban_mgmt")
    before = (await client.get(_url(a), headers=auth)).json()["case"]["submitter"]
    assert before == {"name": "李*", "phone": "139****5678"}
    body = {"reason": "不属于本单位职责范围"}
    assert (await client.post(_url(a, "decline"), json=body, headers=auth)).status_code == 200
    after = await client.get(_url(a), headers=auth)
    assert after.status_code == 200 and after.json()["case"]["submitter"] is None
    assert "139****5678" not in after.text


async def test_declining_one_of_two_answering_departments_keeps_the_case(session, client, world):
    case, assignments = await dispatched_case(session, client, world, category="environment", grid="G2")
    lead, separate = assignments["environment"], assignments["street_office"]
    lead_auth, sep_auth = world.auth("dept:environment"), world.auth("dept:street_office")
    await client.post(_url(lead, "accept"), headers=lead_auth)
    await client.post(
        _url(lead, "reply"), json={"reply_class": "A", "text": "噪声源已关停"}, headers=lead_auth
    )
    await session.refresh(case)
    assert case.status == "in_progress"
    response = await client.post(
        _url(separate, "decline"), json={"reason": "不在本街道辖区"}, headers=sep_auth
    )
    assert response.status_code == 200
    # The only one left to answer has answered: the case is replied.
    await session.refresh(case)
    assert case.status == "replied"
    types = await _outbox_types(session)
    assert types[-2:] == ["case.declined", "case.replied"]


async def test_decline_validation(session, client, world):
    _, assignments = await dispatched_case(session, client, world, category="urban")
    a = assignments["urban_mgmt"]
    auth = world.auth("dept:urban_mgmt")
    missing = await client.post(_url(a, "decline"), json={}, headers=auth)
    assert missing.status_code == 422 and missing.json()["error"]["details"][0]["field"] == "reason"
    other = await build_world(session, code="XC", name="相城区")
    await session.commit()
    foreign = {"reason": "不属于本单位职责", "suggested_department_id": other.departments["urban_mgmt"].id}
    response = await client.post(_url(a, "decline"), json=foreign, headers=auth)
    assert response.status_code == 422
    assert response.json()["error"]["details"] == [
        {"field": "suggested_department_id", "message": "建议的承办单位不存在"}
    ]
    await session.refresh(a)
    assert a.status == "pending"


@pytest.mark.parametrize("how", ["old_dispatch", "past_deadline_row"])
async def test_decline_after_the_window_is_refused(session, client, world, how):
    case, assignments = await dispatched_case(session, client, world, category="urban")
    a = assignments["urban_mgmt"]
    if how == "old_dispatch":
        await session.execute(
            update(Assignment)
            .where(Assignment.id == a.id)
            .values(dispatched_at=datetime.now(UTC) - timedelta(days=30))
        )
    else:
        session.add(
            Deadline(
                jurisdiction_id=world.jurisdiction.id,
                case_id=case.id,
                assignment_id=a.id,
                kind="decline",
                starts_at=datetime.now(UTC) - timedelta(days=1),
                due_at=datetime.now(UTC) - timedelta(minutes=1),
            )
        )
    await session.commit()
    response = await client.post(
        _url(a, "decline"), json={"reason": "不属于本单位职责"}, headers=world.auth("dept:urban_mgmt")
    )
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "decline_window_closed" and "退回期限" in error["message"]
    await session.refresh(case)
    assert case.status == "dispatched"


async def test_a_recorded_decline_deadline_wins_over_the_computed_one(session, client, world):
    case, assignments = await dispatched_case(session, client, world, category="urban")
    a = assignments["urban_mgmt"]
    await session.execute(
        update(Assignment)
        .where(Assignment.id == a.id)
        .values(dispatched_at=datetime.now(UTC) - timedelta(days=30))
    )
    session.add(
        Deadline(
            jurisdiction_id=world.jurisdiction.id,
            case_id=case.id,
            assignment_id=a.id,
            kind="decline",
            starts_at=datetime.now(UTC) - timedelta(days=30),
            due_at=datetime.now(UTC) + timedelta(days=1),
        )
    )
    await session.commit()
    response = await client.post(
        _url(a, "decline"), json={"reason": "不属于本单位职责"}, headers=world.auth("dept:urban_mgmt")
    )
    assert response.status_code == 200


async def test_a_case_back_in_the_queue_freezes_its_assignments(session, client, world):
    _, assignments = await dispatched_case(session, client, world, category="urban")
    a = assignments["urban_mgmt"]
    auth = world.auth("dept:urban_mgmt")
    await client.post(_url(a, "decline"), json={"reason": "不属于本单位职责"}, headers=auth)
    # Back in the dispatch queue: the declined department can do nothing more with it.
    response = await client.post(_url(a, "accept"), headers=auth)
    assert response.status_code == 409 and response.json()["error"]["code"] == "case_not_active"
