"""The dispatcher's desk through HTTP: what lands in the dispatch queue and why, manual dispatch and
redispatch, rejection, and departments' flags."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from shared.db.models import (
    Assignment,
    Case,
    CaseClassification,
    CaseEvent,
    Category,
    ClassifierExample,
    OutboxEvent,
    RoutingSettings,
)
from tests.factories import add_key, build_world
from tests.routing_api.conftest import dispatched_case, send_event
from tests.services.routing.cases import new_case


async def _settings(session, world, *, threshold: float = 0.6, queue_unmatched: bool = False) -> None:
    session.add(
        RoutingSettings(
            jurisdiction_id=world.jurisdiction.id,
            classify_threshold=threshold,
            queue_unmatched=queue_unmatched,
        )
    )
    await session.commit()


async def _arrive(session, client, world, **fields) -> Case:
    case = await new_case(session, world, **fields)
    await session.commit()
    response = await send_event(client, "case.received", {"case_id": case.id})
    assert response.status_code == 200, response.text
    assert response.json()["results"][0]["status"] == "applied", response.text
    await session.refresh(case)
    return case


async def _assignments(session, case_id: int) -> list[Assignment]:
    rows = await session.execute(
        select(Assignment)
        .where(Assignment.case_id == case_id)
        .order_by(Assignment.id)
        .execution_options(populate_existing=True)
    )
    return list(rows.scalars())


async def _queue(client, world, **params) -> dict:
    response = await client.get("/v1/dispatch-queue", params=params, headers=world.auth("dispatcher"))
    assert response.status_code == 200, response.text
    return response.json()


def _ids(page: dict) -> list[int]:
    return [item["case_id"] for item in page["items"]]


# --- arrival -----------------------------------------------------------------------------------------------


async def test_a_case_without_a_category_the_classifier_is_unsure_of_waits_with_its_candidates(
    session, client, world
):
    await _settings(session, world, threshold=1.0)
    case = await _arrive(
        session, client, world, category=None, description="夜里工地施工噪声太大，吵得睡不着"
    )
    assert (case.status, case.queue_reason, case.category_id) == ("received", "low_confidence", None)
    page = await _queue(client, world)
    assert _ids(page) == [case.id]
    item = page["items"][0]
    assert item["reason"] == "low_confidence" and item["reason_label"] == "自动分类把握不足"
    codes = [c["category_code"] for c in item["candidates"]]
    assert 1 <= len(codes) <= 3 and codes[0] == "environment.noise"
    assert page["counts"]["low_confidence"] == 1
    stored = await session.get(CaseClassification, case.id)
    assert stored is not None and stored.decided is False
    # A redelivered case.received changes nothing.
    again = await send_event(client, "case.received", {"case_id": case.id})
    assert again.status_code == 200
    assert await _assignments(session, case.id) == []


async def test_a_confident_classification_dispatches_and_says_the_system_chose(session, client, world):
    await _settings(session, world, threshold=0.0)
    case = await _arrive(
        session, client, world, category=None, description="夜里工地施工噪声太大，吵得睡不着"
    )
    assert case.status == "dispatched" and case.queue_reason is None
    assert case.category_id == world.categories["environment.noise"].id
    assert case.category_source == "system" and case.classification_score is not None
    classified = await session.scalar(
        select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.type == "classified")
    )
    assert classified is not None and classified.public is False
    assert classified.data["category_code"] == "environment.noise" and classified.data["matched"]
    departments = {a.department_id for a in await _assignments(session, case.id)}
    assert world.departments["environment"].id in departments
    assert (await _queue(client, world))["items"] == []


async def test_a_chosen_category_is_marked_as_the_citizens(session, client, world):
    case = await _arrive(session, client, world, category="urban")
    assert case.category_source == "citizen" and case.status == "dispatched"


async def test_unmatched_cases_go_to_the_fallback_unless_the_jurisdiction_queues_them(session, client, world):
    housing = Category(jurisdiction_id=world.jurisdiction.id, code="housing", name="住房与物业")
    session.add(housing)
    await session.commit()
    world.categories["housing"] = housing
    fallback = await _arrive(session, client, world, category="housing")
    assert fallback.status == "dispatched"
    assert [a.department_id for a in await _assignments(session, fallback.id)] == [
        world.departments["street_office"].id
    ]
    put = await client.put(
        "/v1/routing-settings",
        json={"classify_threshold": 0.7, "queue_unmatched": True},
        headers=world.auth("admin"),
    )
    assert put.status_code == 200, put.text
    queued = await _arrive(session, client, world, category="housing")
    assert (queued.status, queued.queue_reason) == ("received", "no_rule")
    assert (await _queue(client, world, reason="no_rule"))["items"][0]["case_id"] == queued.id
    got = await client.get("/v1/routing-settings", headers=world.auth("admin"))
    assert got.json() == {"classify_threshold": 0.7, "queue_unmatched": True, "require_consultation": False}
    assert (await client.get("/v1/routing-settings", headers=world.auth("dispatcher"))).status_code == 403


# --- declined, then redispatched ---------------------------------------------------------------------------


async def test_a_case_every_unit_declined_waits_with_reasons_and_is_redispatched_keeping_history(
    session, client, world
):
    case, assignments = await dispatched_case(session, client, world, category="urban")
    lead = assignments["urban_mgmt"]
    declined = await client.post(
        f"/v1/assignments/{lead.id}/decline",
        json={
            "reason": "路灯归供电部门管理",
            "suggested_department_id": world.departments["street_office"].id,
        },
        headers=world.auth("dept:urban_mgmt"),
    )
    assert declined.status_code == 200, declined.text
    item = (await _queue(client, world))["items"][0]
    assert item["case_id"] == case.id and item["reason"] == "declined"
    assert item["declines"] == [
        {
            "department_id": world.departments["urban_mgmt"].id,
            "department_name": "区城管局",
            "reason": "路灯归供电部门管理",
            "suggested_department_id": world.departments["street_office"].id,
            "suggested_department_name": "双塔街道办事处",
            "at": item["declines"][0]["at"],
        }
    ]
    response = await client.post(
        f"/v1/cases/{case.id}/dispatch",
        json={
            "assignments": [{"department_id": world.departments["street_office"].id, "role": "lead"}],
            "tier": "immediate",
            "note": "按退回建议改派街道",
        },
        headers=world.auth("dispatcher"),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "dispatched" and body["tier"] == "immediate" and len(body["assignment_ids"]) == 1
    rows = await _assignments(session, case.id)
    assert [(a.department_id, a.status) for a in rows] == [
        (world.departments["urban_mgmt"].id, "declined"),
        (world.departments["street_office"].id, "pending"),
    ]
    await session.refresh(case)
    assert case.queue_reason is None and case.tier == "immediate"
    types = list(
        (
            await session.scalars(
                select(OutboxEvent.type).where(OutboxEvent.case_id == case.id).order_by(OutboxEvent.id)
            )
        ).all()
    )
    assert types == ["case.received", "case.dispatched", "case.declined", "case.dispatched"]
    redispatch = await session.scalar(
        select(CaseEvent)
        .where(CaseEvent.case_id == case.id, CaseEvent.type == "dispatched")
        .order_by(CaseEvent.id.desc())
        .limit(1)
    )
    assert redispatch.actor_type == "dispatcher" and redispatch.data["redispatch"] is True
    assert (await _queue(client, world))["items"] == []
    # The new unit works the case as usual.
    accept = await client.post(
        f"/v1/assignments/{body['assignment_ids'][0]}/accept", headers=world.auth("dept:street_office")
    )
    assert accept.status_code == 200, accept.text


async def test_manual_dispatch_refuses_what_the_domain_forbids(session, client, world):
    await _settings(session, world, threshold=1.0)
    case = await _arrive(session, client, world, category=None, description="门口有个问题想反映一下")
    url = f"/v1/cases/{case.id}/dispatch"
    d = world.departments
    bad = [
        (
            {"category_code": "urban", "assignments": [{"department_id": d["urban_mgmt"].id, "role": "co"}]},
            422,
        ),
        (
            {
                "category_code": "urban",
                "assignments": [
                    {"department_id": d["urban_mgmt"].id, "role": "lead"},
                    {"department_id": d["environment"].id, "role": "lead"},
                ],
            },
            422,
        ),
        ({"assignments": [{"department_id": d["urban_mgmt"].id, "role": "lead"}]}, 422),  # no category yet
        (
            {"category_code": "nope", "assignments": [{"department_id": d["urban_mgmt"].id, "role": "lead"}]},
            422,
        ),
        ({"category_code": "urban", "assignments": [{"department_id": 999999, "role": "lead"}]}, 422),
        ({"category_code": "urban", "assignments": []}, 422),
    ]
    for body, expected in bad:
        response = await client.post(url, json=body, headers=world.auth("dispatcher"))
        assert response.status_code == expected, (body, response.text)
        assert response.json()["error"]["message"]
    ok = {"category_code": "urban", "assignments": [{"department_id": d["urban_mgmt"].id, "role": "lead"}]}
    assert (await client.post(url, json=ok, headers=world.auth("dept:urban_mgmt"))).status_code == 403
    assert (await client.post(url, json=ok, headers=world.auth("supervisor"))).status_code == 403
    assert (await client.post(url, json=ok)).status_code == 401
    assert (await client.post(url, json=ok, headers=world.auth("admin"))).status_code == 200
    again = await client.post(url, json=ok, headers=world.auth("dispatcher"))
    assert again.status_code == 409 and again.json()["error"]["code"] == "not_dispatchable"


async def test_another_jurisdictions_case_does_not_exist_at_the_desk(session, client, world):
    other = await build_world(session, code="XX", name="另一区")
    await session.commit()
    case = await new_case(session, other, category="urban")
    await session.commit()
    d = world.departments["urban_mgmt"].id
    for path, body in [
        (
            f"/v1/cases/{case.id}/dispatch",
            {"category_code": "urban", "assignments": [{"department_id": d, "role": "lead"}]},
        ),
        (f"/v1/cases/{case.id}/reject", {"reason": "spam", "message": "内容无效"}),
        (f"/v1/cases/{case.id}/unflag", {}),
    ]:
        response = await client.post(path, json=body, headers=world.auth("dispatcher"))
        assert response.status_code == 404, (path, response.text)
    assert case.id not in _ids(await _queue(client, world))


async def test_a_dispatchers_category_over_the_classifiers_becomes_a_labelled_example(session, client, world):
    await _settings(session, world, threshold=1.0)
    text = "垃圾桶满了好几天没人清运，臭气熏天"
    case = await _arrive(session, client, world, category=None, description=text)
    response = await client.post(
        f"/v1/cases/{case.id}/dispatch",
        json={
            "category_code": "urban.sanitation",
            "assignments": [{"department_id": world.departments["urban_mgmt"].id, "role": "lead"}],
        },
        headers=world.auth("dispatcher"),
    )
    assert response.status_code == 200, response.text
    example = await session.scalar(select(ClassifierExample).where(ClassifierExample.case_id == case.id))
    assert example is not None and example.source == "correction"
    assert example.category_id == world.categories["urban.sanitation"].id and text in example.text
    await session.refresh(case)
    assert (
        case.category_source == "dispatcher" and case.category_id == world.categories["urban.sanitation"].id
    )


# --- rejection ---------------------------------------------------------------------------------------------


async def test_a_rejected_case_tells_the_citizen_why_and_where_to_go(session, client, world):
    case, assignments = await dispatched_case(session, client, world, category="urban")
    response = await client.post(
        f"/v1/cases/{case.id}/reject",
        json={
            "reason": "out_of_scope",
            "message": "该事项属于司法程序，不在本平台受理范围",
            "refer_to": "区人民法院",
        },
        headers=world.auth("dispatcher"),
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "rejected"
    assert [a.status for a in await _assignments(session, case.id)] == ["withdrawn"]
    event = await session.scalar(
        select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.type == "rejected")
    )
    assert event.public is True
    assert event.data["reason"] == "该事项属于司法程序，不在本平台受理范围（建议您向区人民法院反映）"
    outbox = await session.scalar(
        select(OutboxEvent).where(OutboxEvent.case_id == case.id, OutboxEvent.type == "case.rejected")
    )
    assert outbox.payload["reason_code"] == "out_of_scope" and "区人民法院" not in str(outbox.payload)
    # Withdrawn: the unit can no longer act on it.
    accept = await client.post(
        f"/v1/assignments/{assignments['urban_mgmt'].id}/accept", headers=world.auth("dept:urban_mgmt")
    )
    assert accept.status_code == 409
    again = await client.post(
        f"/v1/cases/{case.id}/reject",
        json={"reason": "spam", "message": "重复提交"},
        headers=world.auth("dispatcher"),
    )
    assert again.status_code == 409 and "不予受理" in again.json()["error"]["message"]


async def test_a_case_being_handled_cannot_be_rejected(session, client, world):
    case, assignments = await dispatched_case(session, client, world, category="urban")
    await client.post(
        f"/v1/assignments/{assignments['urban_mgmt'].id}/accept", headers=world.auth("dept:urban_mgmt")
    )
    response = await client.post(
        f"/v1/cases/{case.id}/reject",
        json={"reason": "spam", "message": "无效内容"},
        headers=world.auth("dispatcher"),
    )
    assert response.status_code == 409 and response.json()["error"]["code"] == "not_rejectable"
    bad = await client.post(
        f"/v1/cases/{case.id}/reject",
        json={"reason": "because", "message": "x"},
        headers=world.auth("dispatcher"),
    )
    assert bad.status_code == 422


# --- flags -------------------------------------------------------------------------------------------------


async def test_a_department_flag_puts_the_case_in_front_of_a_dispatcher_who_adds_a_unit(
    session, client, world
):
    case, assignments = await dispatched_case(session, client, world, category="urban")
    lead = assignments["urban_mgmt"]
    await client.post(f"/v1/assignments/{lead.id}/accept", headers=world.auth("dept:urban_mgmt"))
    flagged = await client.post(
        f"/v1/assignments/{lead.id}/flag",
        json={"reason": "需要生态环境局协同处理油烟问题"},
        headers=world.auth("dept:urban_mgmt"),
    )
    assert flagged.status_code == 200, flagged.text
    again = await client.post(
        f"/v1/assignments/{lead.id}/flag", json={"reason": "再次提请"}, headers=world.auth("dept:urban_mgmt")
    )
    assert again.status_code == 409
    item = (await _queue(client, world, reason="flagged"))["items"][0]
    assert item["case_id"] == case.id and item["status"] == "in_progress"
    assert item["flags"][0]["reason"] == "需要生态环境局协同处理油烟问题"
    assert item["flags"][0]["department_name"] == "区城管局"
    # A second lead cannot be added; a co-handler can.
    second_lead = await client.post(
        f"/v1/cases/{case.id}/dispatch",
        json={"assignments": [{"department_id": world.departments["environment"].id, "role": "lead"}]},
        headers=world.auth("dispatcher"),
    )
    assert second_lead.status_code == 422
    added = await client.post(
        f"/v1/cases/{case.id}/dispatch",
        json={"assignments": [{"department_id": world.departments["environment"].id, "role": "co"}]},
        headers=world.auth("dispatcher"),
    )
    assert added.status_code == 200, added.text
    await session.refresh(case)
    assert case.status == "in_progress" and case.queue_reason is None
    rows = await _assignments(session, case.id)
    assert [(a.department_id, a.role, a.status) for a in rows] == [
        (world.departments["urban_mgmt"].id, "lead", "accepted"),
        (world.departments["environment"].id, "co", "pending"),
    ]


async def test_a_flag_can_be_cleared_without_changes(session, client, world):
    case, assignments = await dispatched_case(session, client, world, category="urban")
    lead = assignments["urban_mgmt"]
    await client.post(
        f"/v1/assignments/{lead.id}/flag",
        json={"reason": "分类可能有误"},
        headers=world.auth("dept:urban_mgmt"),
    )
    cleared = await client.post(
        f"/v1/cases/{case.id}/unflag", json={"note": "分类无误"}, headers=world.auth("dispatcher")
    )
    assert cleared.status_code == 204, cleared.text
    assert (await _queue(client, world))["items"] == []
    twice = await client.post(f"/v1/cases/{case.id}/unflag", json={}, headers=world.auth("dispatcher"))
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "not_flagged"


# --- order and pages ---------------------------------------------------------------------------------------


async def test_the_queue_puts_the_most_urgent_first_then_the_longest_waiting_and_pages(
    session, client, world
):
    await _settings(session, world, threshold=1.0)
    normal_old = await _arrive(session, client, world, category=None, description="反映一个情况请处理")
    normal_new = await _arrive(session, client, world, category=None, description="反映另一个情况请处理")
    critical = await _arrive(
        session, client, world, category=None, urgency="critical", description="紧急情况请处理"
    )
    urgent = await _arrive(
        session, client, world, category=None, urgency="urgent", description="较急的情况请处理"
    )
    now = datetime.now(UTC)
    for case, age in ((normal_old, 50), (normal_new, 10), (critical, 1), (urgent, 5)):
        await session.execute(
            update(Case).where(Case.id == case.id).values(queued_at=now - timedelta(minutes=age))
        )
    await session.commit()
    expected = [critical.id, urgent.id, normal_old.id, normal_new.id]
    assert _ids(await _queue(client, world)) == expected
    seen, cursor = [], None
    while True:
        page = await _queue(client, world, limit=3, **({"cursor": cursor} if cursor else {}))
        seen += _ids(page)
        assert page["counts"]["low_confidence"] == 4
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == expected
    bad = await client.get(
        "/v1/dispatch-queue", params={"cursor": "nonsense"}, headers=world.auth("dispatcher")
    )
    assert bad.status_code == 422 and bad.json()["error"]["message"] == "分页游标无效"
    assert (await client.get("/v1/dispatch-queue", headers=world.auth("dept:urban_mgmt"))).status_code == 403
    assert (await client.get("/v1/dispatch-queue", headers=world.auth("admin"))).status_code == 200


async def test_a_dispatcher_key_of_another_jurisdiction_sees_its_own_queue_only(session, client, world):
    await _settings(session, world, threshold=1.0)
    await _arrive(session, client, world, category=None, description="反映一个情况请处理")
    other = await build_world(session, code="YY", name="又一区")
    other.keys["dispatcher"] = await add_key(session, other.jurisdiction.id, "dispatcher")
    await session.commit()
    response = await client.get("/v1/dispatch-queue", headers=other.auth("dispatcher"))
    assert response.json()["items"] == [] and response.json()["counts"]["low_confidence"] == 0


async def test_a_case_merged_before_it_was_dispatched_is_dispatched_when_unmerged(session, client, world):
    main = await _arrive(session, client, world, category="urban")
    case = await new_case(session, world, category="urban", description="小区门口路灯坏了好久")
    await session.commit()
    merged = await client.post(
        f"/v1/cases/{case.id}/merge", json={"into_case_id": main.id}, headers=world.auth("dispatcher")
    )
    assert merged.status_code == 200, merged.text
    # Routing hears of the case's arrival only now: merged, so nothing to dispatch.
    assert (await send_event(client, "case.received", {"case_id": case.id})).status_code == 200
    unmerged = await client.post(f"/v1/cases/{case.id}/unmerge", headers=world.auth("dispatcher"))
    assert unmerged.status_code == 200 and unmerged.json()["status"] == "received"
    response = await send_event(client, "case.unmerged", {"case_id": case.id})
    assert response.json()["results"][0]["status"] == "applied"
    await session.refresh(case)
    assert case.status == "dispatched"
    assert [a.department_id for a in await _assignments(session, case.id)] == [
        world.departments["urban_mgmt"].id
    ]
