"""The deputy's desk: scoping between deputies and jurisdictions, the list's filters, the citizen's personal
data, joint suggestions, adoption, the events they write, the citizen's page after adoption, notices."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from services.workflow import SYSTEM, change_status
from shared.calendar import SHANGHAI, add_months
from shared.db.enums import CaseStatus
from shared.db.models import (
    Assignment,
    Case,
    CaseCosigner,
    CaseEvent,
    Deadline,
    Deputy,
    OutboxEvent,
    Photo,
    SuggestionSource,
)
from tests.deputy_factories import add_notice, desk_deputy, run_pipeline, world_deputy
from tests.factories import build_world
from tests.intake_api.conftest import NAME, PHONE, case_by_tracking_no, make_replied, submit
from tests.intake_api.photo_helpers import data_dir, image_bytes

SUGGESTION = {
    "title": "关于平江路增设垃圾分类投放点的建议",
    "description": "平江路沿线居民多次反映垃圾投放点不足，建议增设两处分类投放点并定时清运",
    "category_code": "urban.sanitation",
}
# The keys of case_payload plus the suggestion's own: nothing personal.
SUBMITTED_KEYS = {
    "case_id",
    "tracking_no",
    "jurisdiction",
    "status",
    "category_code",
    "department_ids",
    "deputy_id",
    "cosigner_ids",
    "adopted_case_id",
}


async def _citizen_case(client, session, token: str, **fields: object) -> Case:
    response = await submit(client, token, **fields)
    assert response.status_code == 201, response.text
    return await case_by_tracking_no(session, response.json()["tracking_no"])


async def _suggest(client, auth: dict[str, str], **fields: object):
    return await client.post("/v1/deputy/cases", json={**SUGGESTION, **fields}, headers=auth)


async def _ids(client, auth: dict[str, str], **params: object) -> list[int]:
    response = await client.get("/v1/deputy/cases", params=params, headers=auth)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


async def _outbox(session, type_: str) -> list[OutboxEvent]:
    query = select(OutboxEvent).where(OutboxEvent.type == type_).order_by(OutboxEvent.id)
    return list((await session.execute(query)).scalars())


async def test_only_deputy_keys_reach_the_desk(client, world):
    paths = ("/v1/deputy/cases", "/v1/deputy/notices", "/v1/deputy/cases/1")
    for path in paths:
        assert (await client.get(path)).status_code == 401
        for role in ("admin", "supervisor", "dispatcher", "integrator", "dept:urban_mgmt"):
            response = await client.get(path, headers=world.auth(role))
            assert response.status_code == 403, (path, role)
            assert response.json()["error"]["message"] == "当前角色无权执行此操作"
    assert (await _suggest(client, world.auth("admin"))).status_code == 403
    adopt = await client.post(
        "/v1/deputy/cases/1/adopt", json={"title": "转办"}, headers=world.auth("supervisor")
    )
    assert adopt.status_code == 403


async def test_each_deputy_sees_their_codes_cases_their_suggestions_and_those_they_cosigned(
    client, world, session
):
    wang = world_deputy(world)
    li = await desk_deputy(session, world, "李华")
    other = await build_world(session, code="XC", name="相城区")
    await session.commit()
    assert wang.code is not None and li.code is not None
    through_wang = await _citizen_case(client, session, wang.code.token)
    through_li = await _citizen_case(client, session, li.code.token)
    through_station = await _citizen_case(client, session, world.station_code.token)
    elsewhere = await _citizen_case(client, session, other.deputy_code.token)

    joint = await _suggest(client, wang.auth, cosigner_ids=[li.deputy.id])
    assert joint.status_code == 201, joint.text
    joint_id = joint.json()["id"]
    alone = await _suggest(client, li.auth, title="关于十全街夜间施工噪声的建议")
    assert alone.status_code == 201
    alone_id = alone.json()["id"]

    assert await _ids(client, wang.auth) == [joint_id, through_wang.id]
    assert await _ids(client, li.auth) == [alone_id, joint_id, through_li.id]
    assert await _ids(client, li.auth, relation="cosigned") == [joint_id]
    assert await _ids(client, li.auth, relation="authored") == [alone_id]
    assert await _ids(client, li.auth, relation="through_code") == [through_li.id]
    assert await _ids(client, li.auth, kind="deputy_suggestion") == [alone_id, joint_id]

    listed = (await client.get("/v1/deputy/cases", headers=li.auth)).json()["items"]
    shared = next(item for item in listed if item["id"] == joint_id)
    assert shared["relation"] == "cosigned" and shared["relation_label"] == "联名的建议"
    assert shared["author"] == {"deputy_id": wang.deputy.id, "name": "王代表"}
    assert shared["cosigners"] == [{"deputy_id": li.deputy.id, "name": "李华"}]
    assert shared["kind_label"] == "代表建议" and shared["submitter"] is None

    # Another deputy's, a station's and another jurisdiction's cases are 404 everywhere.
    for case_id in (through_wang.id, through_station.id, elsewhere.id):
        assert (await client.get(f"/v1/deputy/cases/{case_id}", headers=li.auth)).status_code == 404
        adopt = await client.post(
            f"/v1/deputy/cases/{case_id}/adopt", json={"title": "转办"}, headers=li.auth
        )
        assert adopt.status_code == 404, case_id
    other_deputy = {"Authorization": f"Bearer {other.keys['deputy']}"}
    assert await _ids(client, other_deputy) == [elsewhere.id]
    assert (await client.get(f"/v1/deputy/cases/{joint_id}", headers=other_deputy)).status_code == 404
    # The co-signer reads the suggestion, but adopting is only for citizens' cases of one's own codes.
    assert (await client.get(f"/v1/deputy/cases/{joint_id}", headers=li.auth)).status_code == 200
    adopt_own = await client.post(
        f"/v1/deputy/cases/{alone_id}/adopt", json={"title": "再转"}, headers=li.auth
    )
    assert adopt_own.status_code == 404
    assert (await client.get("/v1/deputy/cases/999999999", headers=li.auth)).status_code == 404


async def test_filters_and_pages(client, world, session):
    wang = world_deputy(world)
    assert wang.code is not None
    old = await _citizen_case(client, session, wang.code.token)
    late = await _citizen_case(client, session, wang.code.token)
    fresh = await _citizen_case(client, session, wang.code.token)
    old.created_at = datetime(2026, 3, 1, 1, 0, tzinfo=UTC)  # 09:00 in Beijing
    late.created_at = datetime(2026, 3, 31, 17, 0, tzinfo=UTC)  # 1 April, 01:00 in Beijing
    now = datetime.now(UTC)
    for case, due_at, met_at in (
        (old, now - timedelta(days=1), None),  # overdue
        (late, now - timedelta(days=1), now - timedelta(days=2)),  # met in time: not overdue
        (fresh, now + timedelta(days=3), None),  # still running
    ):
        session.add(
            Deadline(
                jurisdiction_id=case.jurisdiction_id,
                case_id=case.id,
                kind="reply",
                round=0,
                tier="week",
                starts_at=due_at - timedelta(days=7),
                due_at=due_at,
                met_at=met_at,
            )
        )
    await change_status(session, fresh, CaseStatus.rejected, "rejected", SYSTEM, data={"reason": "重复"})
    await session.commit()

    auth = wang.auth
    assert await _ids(client, auth, overdue="true") == [old.id]
    assert await _ids(client, auth, overdue="false") == [fresh.id, late.id]
    assert await _ids(client, auth, status="rejected") == [fresh.id]
    assert await _ids(client, auth, **{"from": "2026-03-01", "to": "2026-03-31"}) == [old.id]
    assert await _ids(client, auth, **{"from": "2026-04-01", "to": "2026-04-01"}) == [late.id]
    listed = (await client.get("/v1/deputy/cases", params={"overdue": "true"}, headers=auth)).json()["items"]
    assert [d["overdue"] for d in listed[0]["deadlines"]] == [True]
    assert listed[0]["deadlines"][0]["tier_label"] == "即收周办"

    first = (await client.get("/v1/deputy/cases", params={"limit": 2}, headers=auth)).json()
    assert [i["id"] for i in first["items"]] == [fresh.id, late.id] and first["next_cursor"]
    second = await client.get(
        "/v1/deputy/cases", params={"limit": 2, "cursor": first["next_cursor"]}, headers=auth
    )
    assert [i["id"] for i in second.json()["items"]] == [old.id] and second.json()["next_cursor"] is None

    for params in ({"status": "lost"}, {"from": "2026-13-01"}, {"to": "9999-12-31"}, {"cursor": "nope"}):
        bad = await client.get("/v1/deputy/cases", params=params, headers=auth)
        assert bad.status_code == 422, params
        assert bad.json()["error"]["details"]


async def test_the_citizen_is_masked_and_hidden_when_confidential(client, world, session):
    wang = world_deputy(world)
    assert wang.code is not None
    named = await _citizen_case(client, session, wang.code.token, submitter_name=NAME, submitter_phone=PHONE)
    secret = await _citizen_case(
        client, session, wang.code.token, submitter_name=NAME, submitter_phone=PHONE, confidential=True
    )
    listed = await client.get("/v1/deputy/cases", headers=wang.auth)
    assert PHONE not in listed.text and NAME not in listed.text
    items = {item["id"]: item for item in listed.json()["items"]}
    assert items[named.id]["submitter"] == {"name": "张**", "phone": "138****5678"}
    assert items[secret.id]["submitter"] is None and items[secret.id]["confidential"] is True
    detail = await client.get(f"/v1/deputy/cases/{secret.id}", headers=wang.auth)
    assert detail.status_code == 200
    assert PHONE not in detail.text and NAME not in detail.text and detail.json()["submitter"] is None
    assert detail.json()["description"] == "平江路垃圾桶满溢三天无人清运，气味很大"
    assert [e["type"] for e in detail.json()["timeline"]] == ["received"]


async def test_a_joint_suggestion_is_opened_with_its_cosigners_and_events(client, world, session):
    wang = world_deputy(world)
    li = await desk_deputy(session, world, "李华")
    zhao = await desk_deputy(session, world, "赵敏")
    await session.commit()
    response = await _suggest(
        client, wang.auth, cosigner_ids=[zhao.deputy.id, li.deputy.id, zhao.deputy.id], urgency="urgent"
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert re.fullmatch(r"GS\d{8}-\d{4,}", body["tracking_no"]) and body["status"] == "received"
    assert body["access_key"] and body["track_url"].endswith(
        f"/t/{body['tracking_no']}?k={body['access_key']}"
    )

    case = await session.get(Case, body["id"])
    assert case is not None
    assert (case.kind, case.source, case.deputy_id, case.station_id) == (
        "deputy_suggestion",
        "deputy",
        wang.deputy.id,
        world.station.id,
    )
    assert (case.request_type, case.urgency, case.grid_id) == ("suggestion", "urgent", world.grids["G1"].id)
    cosigners = (
        await session.execute(select(CaseCosigner.deputy_id).order_by(CaseCosigner.position))
    ).scalars()
    assert list(cosigners) == [zhao.deputy.id, li.deputy.id]

    (received,) = await _outbox(session, "case.received")
    (submitted,) = await _outbox(session, "suggestion.submitted")
    assert received.case_id == submitted.case_id == case.id and received.id < submitted.id
    assert set(submitted.payload) == SUBMITTED_KEYS
    assert submitted.payload["deputy_id"] == wang.deputy.id
    assert submitted.payload["cosigner_ids"] == [zhao.deputy.id, li.deputy.id]
    assert submitted.payload["adopted_case_id"] is None
    assert submitted.payload["category_code"] == "urban.sanitation"

    # The suggestion's public page is the citizens' page: its progress, nobody's name.
    page = await client.get(f"/v1/public/cases/{body['tracking_no']}", params={"k": body["access_key"]})
    assert page.status_code == 200 and page.json()["status"] == "received"
    detail = (await client.get(f"/v1/deputy/cases/{case.id}", headers=zhao.auth)).json()
    assert detail["relation"] == "cosigned" and detail["title"] == SUGGESTION["title"]


async def test_bad_suggestions_are_refused_in_chinese(client, world, session):
    wang = world_deputy(world)
    retired = await desk_deputy(session, world, "钱前", active=False)
    other = await build_world(session, code="XC", name="相城区")
    await session.commit()
    cases = [
        ({"title": None}, "title", "请填写建议标题"),
        ({"description": "太短"}, "description", "建议内容至少需要 5 个字"),
        ({"category_code": "nope"}, "category_code", "问题分类不存在或已停用，请重新选择"),
        ({"grid_code": "XC-G1"}, "grid_code", "网格不存在"),
        ({"cosigner_ids": [wang.deputy.id]}, "cosigner_ids", "联名代表不能包含建议人本人"),
        ({"cosigner_ids": [other.deputy.id]}, "cosigner_ids", f"联名代表不存在或已停用：{other.deputy.id}"),
        (
            {"cosigner_ids": [retired.deputy.id]},
            "cosigner_ids",
            f"联名代表不存在或已停用：{retired.deputy.id}",
        ),
        ({"cosigner_ids": [99999999]}, "cosigner_ids", "联名代表不存在或已停用：99999999"),
        ({"cosigner_ids": [0]}, "cosigner_ids.0", None),
        (
            {"photo_ids": ["ph_madeupmadeupmadeupmadeup"]},
            "photo_ids",
            "照片不存在、已使用或已过期，请重新上传",
        ),
    ]
    for fields, field, message in cases:
        response = await _suggest(client, wang.auth, **fields)
        assert response.status_code == 422, (fields, response.text)
        detail = response.json()["error"]["details"][0]
        assert detail["field"] == field, fields
        if message is not None:
            assert detail["message"] == message
    inactive = await _suggest(client, retired.auth)
    assert inactive.status_code == 403 and inactive.json()["error"]["code"] == "deputy_inactive"
    assert await session.scalar(select(func.count()).select_from(Case)) == 0


async def test_a_repeated_idempotency_key_finds_the_suggestion_it_made(client, world, session):
    wang = world_deputy(world)
    headers = {**wang.auth, "Idempotency-Key": "sugg-2026-001"}
    first = await client.post("/v1/deputy/cases", json=SUGGESTION, headers=headers)
    again = await client.post("/v1/deputy/cases", json=SUGGESTION, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"] and again.json()["replayed"] is True
    assert again.json()["access_key"] is None
    other_body = await client.post(
        "/v1/deputy/cases", json={**SUGGESTION, "title": "另一条建议"}, headers=headers
    )
    assert other_body.status_code == 422
    assert other_body.json()["error"]["code"] == "idempotency_key_reused"
    # The key is the deputy's own: another deputy's same key makes their own suggestion.
    li = await desk_deputy(session, world, "李华")
    await session.commit()
    theirs = await client.post(
        "/v1/deputy/cases", json=SUGGESTION, headers={**li.auth, "Idempotency-Key": "sugg-2026-001"}
    )
    assert theirs.status_code == 201 and theirs.json()["id"] != first.json()["id"]
    # Two requests with a new key at once make one suggestion; the second waits for the first.
    raced = {**wang.auth, "Idempotency-Key": "sugg-2026-002"}
    answers = await asyncio.gather(
        *(client.post("/v1/deputy/cases", json=SUGGESTION, headers=raced) for _ in "ab")
    )
    assert sorted(a.status_code for a in answers) == [200, 201]
    assert answers[0].json()["id"] == answers[1].json()["id"]
    assert await session.scalar(select(func.count()).select_from(Case)) == 3


async def test_a_dispatched_suggestion_is_due_three_calendar_months_later(client, engine, world, session):
    response = await _suggest(client, world_deputy(world).auth)
    assert response.status_code == 201
    await run_pipeline(engine, session)
    case = await session.get(Case, response.json()["id"], populate_existing=True)
    assert case is not None and case.status == "dispatched" and case.tier == "deputy_suggestion"
    lead = (await session.execute(select(Assignment).where(Assignment.case_id == case.id))).scalar_one()
    deadline = (
        await session.execute(select(Deadline).where(Deadline.case_id == case.id, Deadline.kind == "reply"))
    ).scalar_one()
    assert deadline.tier == "deputy_suggestion" and deadline.assignment_id == lead.id
    assert deadline.due_at == add_months(lead.dispatched_at.astimezone(SHANGHAI), 3)
    listed = (await client.get("/v1/deputy/cases", headers=world_deputy(world).auth)).json()["items"][0]
    assert listed["departments"] == [
        {
            "department_id": world.departments["urban_mgmt"].id,
            "name": "区城管局",
            "role": "lead",
            "role_label": "主办",
            "status": "pending",
        }
    ]
    assert listed["deadlines"][0]["tier_label"] == "代表建议" and listed["deadlines"][0]["overdue"] is False


async def test_adopting_a_citizens_case(client, world, session):
    wang = world_deputy(world)
    assert wang.code is not None
    citizen = await _citizen_case(client, session, wang.code.token, submitter_phone=PHONE)
    response = await client.post(
        f"/v1/deputy/cases/{citizen.id}/adopt", json={"title": "关于平江路垃圾清运的建议"}, headers=wang.auth
    )
    assert response.status_code == 201, response.text
    suggestion_id = response.json()["id"]
    assert response.json()["adopted_case_id"] == citizen.id
    suggestion = await session.get(Case, suggestion_id)
    assert suggestion is not None and suggestion.kind == "deputy_suggestion"
    assert suggestion.description == citizen.description and suggestion.grid_id == citizen.grid_id
    link = (await session.execute(select(SuggestionSource))).scalar_one()
    assert (link.suggestion_id, link.case_id, link.kind) == (suggestion_id, citizen.id, "adopted")

    event = (
        await session.execute(
            select(CaseEvent).where(CaseEvent.case_id == citizen.id, CaseEvent.type == "adopted")
        )
    ).scalar_one()
    assert event.public and event.actor_type == "deputy" and event.actor_id == wang.deputy.id
    (adopted,) = await _outbox(session, "case.adopted")
    assert adopted.case_id == citizen.id
    assert (
        adopted.payload["suggestion_id"] == suggestion_id and adopted.payload["deputy_id"] == wang.deputy.id
    )
    (submitted,) = await _outbox(session, "suggestion.submitted")
    assert submitted.payload["adopted_case_id"] == citizen.id and set(submitted.payload) == SUBMITTED_KEYS
    for row in await _outbox(session, "case.adopted") + await _outbox(session, "suggestion.submitted"):
        assert PHONE not in str(row.payload) and "垃圾桶满溢" not in str(row.payload)

    desk = (await client.get(f"/v1/deputy/cases/{citizen.id}", headers=wang.auth)).json()
    assert desk["adopted_by"] == {"id": suggestion_id, "tracking_no": suggestion.tracking_no}
    assert desk["status"] == "received"  # the citizen's case keeps its own life
    mine = (await client.get(f"/v1/deputy/cases/{suggestion_id}", headers=wang.auth)).json()
    assert mine["adopted_from"] == [{"id": citizen.id, "tracking_no": citizen.tracking_no}]

    twice = await client.post(
        f"/v1/deputy/cases/{citizen.id}/adopt", json={"title": "再次转办"}, headers=wang.auth
    )
    assert twice.status_code == 409
    error = twice.json()["error"]
    assert error["code"] == "case_already_adopted" and "不能重复转办" in error["message"]
    assert error["details"][0]["suggestion_id"] == suggestion_id
    assert await session.scalar(select(func.count()).select_from(SuggestionSource)) == 1


async def test_merged_and_rejected_cases_cannot_be_adopted(client, world, session):
    wang = world_deputy(world)
    assert wang.code is not None
    main = await _citizen_case(client, session, wang.code.token)
    merged = await _citizen_case(client, session, wang.code.token)
    rejected = await _citizen_case(client, session, wang.code.token)
    merged.duplicate_of_id = main.id
    await change_status(session, merged, CaseStatus.merged, "merged", SYSTEM)
    await change_status(session, rejected, CaseStatus.rejected, "rejected", SYSTEM, data={"reason": "不属实"})
    await session.commit()
    for case, label in ((merged, "已并案"), (rejected, "不予受理")):
        response = await client.post(
            f"/v1/deputy/cases/{case.id}/adopt", json={"title": "转办"}, headers=wang.auth
        )
        assert response.status_code == 422
        assert response.json()["error"]["message"] == f"该事项当前状态为“{label}”，不能转为代表建议"
    assert await session.scalar(select(func.count()).select_from(SuggestionSource)) == 0
    assert await _outbox(session, "suggestion.submitted") == []


async def test_the_citizens_page_tells_of_the_adoption_and_then_the_suggestions_reply(client, world, session):
    deputy = await session.get(Deputy, world.deputy.id)
    assert deputy is not None
    deputy.name = "王明"
    await session.commit()
    receipt = (await submit(client, world.deputy_code.token)).json()
    number, key = receipt["tracking_no"], receipt["access_key"]
    citizen = await case_by_tracking_no(session, number)
    adopted = await client.post(
        f"/v1/deputy/cases/{citizen.id}/adopt",
        json={"title": "关于平江路垃圾清运的建议"},
        headers=world.auth("deputy"),
    )
    assert adopted.status_code == 201

    view = (await client.get(f"/v1/public/cases/{number}", params={"k": key})).json()
    note = "王明代表已将您反映的问题转为代表建议"
    assert view["adoption"]["note"] == note and view["adoption"]["replies"] == []
    assert view["adoption"]["suggestion_tracking_no"] == adopted.json()["tracking_no"]
    entry = next(e for e in view["timeline"] if e["type"] == "adopted")
    assert entry["text"] == note and entry["label"] == "人大代表转为代表建议"
    page = await client.get(f"/t/{number}", params={"k": key})
    assert page.status_code == 200 and note in page.text and "代表建议正在办理" in page.text

    await make_replied(session, world, adopted.json()["tracking_no"], text="已增设两处分类投放点")
    view = (await client.get(f"/v1/public/cases/{number}", params={"k": key})).json()
    (reply,) = view["adoption"]["replies"]
    assert reply["text"] == "已增设两处分类投放点" and reply["reply_class"] == "A"
    assert view["adoption"]["suggestion_status"] == "replied"
    assert view["replies"] == []  # the citizen's own case has no answer of its own yet
    page = await client.get(f"/t/{number}", params={"k": key})
    assert "代表建议的答复" in page.text and "已增设两处分类投放点" in page.text
    assert "代表建议正在办理" not in page.text
    # A case nobody adopted says nothing of the kind.
    plain = (await submit(client, world.deputy_code.token)).json()
    plain_view = (
        await client.get(f"/v1/public/cases/{plain['tracking_no']}", params={"k": plain["access_key"]})
    ).json()
    assert plain_view["adoption"] is None


async def test_notices_are_the_deputys_own_newest_first_and_marked_read(client, world, session):
    wang = world_deputy(world)
    li = await desk_deputy(session, world, "李华")
    await session.commit()
    suggestion_id = (await _suggest(client, wang.auth, cosigner_ids=[li.deputy.id])).json()["id"]
    first = await add_notice(session, world, wang.deputy.id, suggestion_id, round=0)
    second = await add_notice(session, world, wang.deputy.id, suggestion_id, round=1)
    theirs = await add_notice(session, world, li.deputy.id, suggestion_id, round=0)
    await session.commit()

    listed = (await client.get("/v1/deputy/notices", headers=wang.auth)).json()
    assert [n["id"] for n in listed["items"]] == [second.id, first.id]
    top = listed["items"][0]
    assert top["case_id"] == suggestion_id and top["title"] == SUGGESTION["title"]
    assert (top["kind"], top["kind_label"], top["round"], top["read"]) == ("replied", "建议已答复", 1, False)
    assert top["case_kind"] == "deputy_suggestion" and top["tracking_no"].startswith("GS")

    read = await client.post(f"/v1/deputy/notices/{first.id}/read", headers=wang.auth)
    assert read.status_code == 200 and read.json()["read"] is True
    again = await client.post(f"/v1/deputy/notices/{first.id}/read", headers=wang.auth)
    assert again.json()["read_at"] == read.json()["read_at"]
    unread = (await client.get("/v1/deputy/notices", params={"unread": "true"}, headers=wang.auth)).json()
    assert [n["id"] for n in unread["items"]] == [second.id]
    assert (await client.post(f"/v1/deputy/notices/{theirs.id}/read", headers=wang.auth)).status_code == 404
    assert [n["id"] for n in (await client.get("/v1/deputy/notices", headers=li.auth)).json()["items"]] == [
        theirs.id
    ]
    page = (await client.get("/v1/deputy/notices", params={"limit": 1}, headers=wang.auth)).json()
    assert len(page["items"]) == 1 and page["next_cursor"]


async def test_a_deputys_photos_go_with_their_suggestion_only(client, world, session, tmp_path):
    wang = world_deputy(world)
    li = await desk_deputy(session, world, "李华")
    codeless = await desk_deputy(session, world, "孙立", with_code=False)
    await session.commit()
    with data_dir(tmp_path):
        files = {"file": ("photo.png", image_bytes("PNG"), "image/png")}
        uploaded = await client.post("/v1/deputy/photos", files=files, headers=wang.auth)
        assert uploaded.status_code == 201, uploaded.text
        photo_id = uploaded.json()["photo_id"]
        refused = await client.post("/v1/deputy/photos", files=files, headers=codeless.auth)
        assert refused.status_code == 422 and refused.json()["error"]["code"] == "no_code_for_photos"
        assert (
            await client.post("/v1/deputy/photos", files=files, headers=world.auth("admin"))
        ).status_code == 403

        stolen = await _suggest(client, li.auth, photo_ids=[photo_id])
        assert stolen.status_code == 422
        made = await _suggest(client, wang.auth, photo_ids=[photo_id])
        assert made.status_code == 201, made.text
        photo = (await session.execute(select(Photo))).scalar_one()
        assert photo.case_id == made.json()["id"]
        reused = await _suggest(client, wang.auth, photo_ids=[photo_id])
        assert reused.status_code == 422
