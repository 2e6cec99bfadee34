"""Duplicates at the dispatcher's desk: similar cases with the reasons, merging a case into its main case
(assignments withdrawn, nothing automatic), and undoing it within a day."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from services.routing.duplicates.terms import index_case
from services.workflow import SYSTEM, change_status
from shared.db.models import Assignment, Case, CaseEvent, CaseSearchTerms, OutboxEvent
from tests.factories import build_world
from tests.routing_api.conftest import dispatched_case
from tests.services.routing.cases import new_case

POTHOLE = "白塔东路与凤凰街交叉口有个大坑洼，下雨积水，电动车经过容易摔倒"
NEIGHBOUR = "凤凰街白塔东路路口坑洼积水，电动车摔倒好几次了"
UNRELATED = "小区楼下垃圾桶满溢，无人清运，气味难闻"
HERE = {"lat": 31.3050, "long": 120.6300}
NEARBY = {"lat": 31.3058, "long": 120.6304}  # about 100 m north


def _similar(case: Case, **params: object) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"/v1/cases/{case.id}/similar" + (f"?{query}" if query else "")


async def _indexed(session, world, description: str, **fields) -> Case:
    """A case as routing leaves it on arrival: opened and its words indexed."""
    case = await new_case(session, world, description=description, **fields)
    await index_case(session, case)
    return case


async def _merge(client, world, case: Case, into: Case, who: str = "dispatcher"):
    return await client.post(
        f"/v1/cases/{case.id}/merge", json={"into_case_id": into.id}, headers=world.auth(who)
    )


async def _fresh(session, model, id_: int):
    query = select(model).where(model.id == id_).execution_options(populate_existing=True)
    return (await session.execute(query)).scalar_one()


# --- similar ------------------------------------------------------------------------------------------------


async def test_similar_finds_the_neighbours_report_and_says_why(session, client, world):
    now = datetime.now(UTC)
    case = await new_case(session, world, description=POTHOLE, created_at=now, **HERE)
    neighbour = await _indexed(session, world, NEIGHBOUR, created_at=now - timedelta(days=3), **NEARBY)
    unrelated = await _indexed(session, world, UNRELATED, created_at=now - timedelta(days=1))
    old = await _indexed(session, world, POTHOLE, created_at=now - timedelta(days=91))
    rejected = await _indexed(session, world, POTHOLE, created_at=now - timedelta(days=2))
    await change_status(session, rejected, "rejected", "rejected", SYSTEM)
    other = await build_world(session, code="XC", name="相城区")
    elsewhere = await _indexed(session, other, POTHOLE, created_at=now - timedelta(days=1))
    await session.commit()

    response = await client.get(_similar(case), headers=world.auth("dispatcher"))

    assert response.status_code == 200, response.text
    body = response.json()
    ids = [item["case_id"] for item in body["items"]]
    assert ids == [neighbour.id]
    assert not {case.id, unrelated.id, old.id, rejected.id, elsewhere.id} & set(ids)
    item = body["items"][0]
    assert item["tracking_no"] == neighbour.tracking_no
    assert item["grid_code"] == "GS-G1" and item["category_code"] == "urban"
    assert 0 < item["score"] <= 1
    why = item["why"]
    shared = {"白塔", "东路", "凤凰", "坑洼", "积水", "电动", "动车", "电动车", "摔倒"}
    assert set(why["shared_words"]) <= shared and len(why["shared_words"]) == 8  # the first eight shown
    assert why["same_grid"] is True and why["same_station"] is False and why["same_category"] is True
    assert 80 <= why["distance_m"] <= 110
    # The case had no search terms (it predates the index): asking indexed it.
    assert await session.scalar(select(CaseSearchTerms.case_id).where(CaseSearchTerms.case_id == case.id))


async def test_similar_looks_90_days_after_too_and_ranks_by_words_place_and_category(session, client, world):
    now = datetime.now(UTC)
    case = await _indexed(session, world, POTHOLE, created_at=now - timedelta(days=100), **HERE)
    later = await _indexed(session, world, NEIGHBOUR, created_at=now - timedelta(days=20), **NEARBY)
    too_late = await _indexed(session, world, POTHOLE, created_at=now - timedelta(days=5))
    same_text = await _indexed(
        session, world, POTHOLE, grid="G2", category="environment", created_at=now - timedelta(days=60)
    )
    await session.commit()

    body = (await client.get(_similar(case), headers=world.auth("supervisor"))).json()

    ids = [item["case_id"] for item in body["items"]]
    # Most words, the same grid and category, 100 m away outweigh the same words somewhere else.
    assert ids == [later.id, same_text.id]
    assert too_late.id not in ids
    assert body["window_days"] == 90
    assert body["items"][0]["score"] > body["items"][1]["score"]
    assert body["items"][1]["why"]["distance_m"] is None  # one side has no coordinates
    assert body["items"][1]["why"]["same_grid"] is False
    limited = await client.get(_similar(case, limit=1), headers=world.auth("dispatcher"))
    assert [item["case_id"] for item in limited.json()["items"]] == [later.id]
    too_many = await client.get(_similar(case, limit=51), headers=world.auth("dispatcher"))
    assert too_many.status_code == 422


async def test_a_merged_match_stands_for_its_main_case(session, client, world):
    main = await _indexed(session, world, UNRELATED)
    case = await _indexed(session, world, POTHOLE)
    duplicate = await _indexed(session, world, NEIGHBOUR)
    await session.commit()
    assert (await _merge(client, world, duplicate, main)).status_code == 200

    items = (await client.get(_similar(case), headers=world.auth("dispatcher"))).json()["items"]

    assert [item["case_id"] for item in items] == [main.id]
    assert items[0]["via"] == {"case_id": duplicate.id, "tracking_no": duplicate.tracking_no}
    assert "坑洼" in items[0]["why"]["shared_words"]
    # From the main case's side, its own duplicate is not offered again.
    items = (await client.get(_similar(duplicate), headers=world.auth("dispatcher"))).json()["items"]
    assert [item["case_id"] for item in items] == [case.id]


# --- merge --------------------------------------------------------------------------------------------------


async def test_merge_withdraws_the_assignments_and_follows_the_main_case(session, client, world):
    main = await new_case(session, world, description=NEIGHBOUR)
    await session.commit()
    case, assignments = await dispatched_case(session, client, world, category="environment", grid="G2")
    assert {a.status for a in assignments.values()} == {"pending"}

    response = await _merge(client, world, case, main)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "merged"
    assert body["duplicate_of_id"] == main.id and body["duplicate_of_tracking_no"] == main.tracking_no
    assert body["main_reporters"] == 2
    assert {a["status"] for a in body["assignments"]} == {"withdrawn"}
    case = await _fresh(session, Case, case.id)
    assert case.status == "merged" and case.duplicate_of_id == main.id
    assert case.merged_at is not None
    for a in assignments.values():
        a = await _fresh(session, Assignment, a.id)
        assert a.status == "withdrawn" and a.withdrawn_at == case.merged_at
    event = (
        await session.execute(
            select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.type == "merged")
        )
    ).scalar_one()
    assert event.public and event.from_status == "dispatched"
    assert event.data["text"] == f"您反映的问题已与编号 {main.tracking_no} 的事项合并办理"
    assert {a["status"] for a in event.data["withdrawn_assignments"]} == {"pending"}
    outbox = (
        await session.execute(
            select(OutboxEvent).where(OutboxEvent.case_id == case.id, OutboxEvent.type == "case.merged")
        )
    ).scalar_one()
    assert outbox.payload["into_case_id"] == main.id and outbox.payload["status"] == "merged"
    # The department sees its assignment frozen.
    accept = await client.post(
        f"/v1/assignments/{assignments['environment'].id}/accept", headers=world.auth("dept:environment")
    )
    assert accept.status_code == 409


async def test_merge_refusals(session, client, world):
    main = await new_case(session, world)
    case = await new_case(session, world)
    third = await new_case(session, world)
    replied = await new_case(session, world)
    rejected = await new_case(session, world)
    for status in ("dispatched", "in_progress", "replied"):
        await change_status(session, replied, status, status, SYSTEM)
    await change_status(session, rejected, "rejected", "rejected", SYSTEM)
    await session.commit()

    into_itself = await _merge(client, world, case, case)
    assert into_itself.status_code == 422
    assert into_itself.json()["error"]["message"] == "不能将事项并入其自身"
    answered = await _merge(client, world, replied, main)
    assert answered.status_code == 409
    assert answered.json()["error"]["message"] == "该事项当前为“已答复”，只有尚未答复的事项可以并案"
    into_rejected = await _merge(client, world, case, rejected)
    assert into_rejected.status_code == 409 and into_rejected.json()["error"]["code"] == "main_case_rejected"

    assert (await _merge(client, world, case, main)).status_code == 200
    again = await _merge(client, world, case, third)
    assert again.status_code == 409
    assert (
        again.json()["error"]["message"]
        == f"该事项已并入编号 {main.tracking_no} 的事项，如需改并请先撤销并案"
    )
    into_merged = await _merge(client, world, third, case)
    assert into_merged.status_code == 409
    assert f"请直接并入编号 {main.tracking_no} 的事项" in into_merged.json()["error"]["message"]
    has_duplicates = await _merge(client, world, main, third)
    assert has_duplicates.status_code == 409 and has_duplicates.json()["error"]["code"] == "has_duplicates"
    assert (await _fresh(session, Case, main.id)).status == "received"


async def test_roles_and_jurisdictions(session, client, world):
    case = await _indexed(session, world, POTHOLE)
    main = await new_case(session, world)
    other = await build_world(session, code="XC", name="相城区")
    theirs = await new_case(session, other)
    await session.commit()

    for path, body in ((_similar(case), None), (f"/v1/cases/{case.id}/unmerge", None)):
        method = client.get if body is None and path.endswith("similar") else client.post
        response = await method(path, headers=world.auth("dept:urban_mgmt"))
        assert response.status_code == 403, path
    assert (await _merge(client, world, case, main, who="dept:urban_mgmt")).status_code == 403
    assert (await _merge(client, world, case, main, who="deputy")).status_code == 403
    assert (await client.get(_similar(case))).status_code == 401

    # Another jurisdiction's case does not exist, as a path id or as the main case.
    assert (await client.get(_similar(theirs), headers=world.auth("dispatcher"))).status_code == 404
    assert (await _merge(client, world, theirs, main)).status_code == 404
    into_theirs = await _merge(client, world, case, theirs)
    assert into_theirs.status_code == 404 and into_theirs.json()["error"]["code"] == "main_case_not_found"
    assert (await _fresh(session, Case, theirs.id)).status == "received"

    assert (await _merge(client, world, case, main, who="supervisor")).status_code == 200
    unmerge = await client.post(f"/v1/cases/{case.id}/unmerge", headers=world.auth("admin"))
    assert unmerge.status_code == 200


async def test_crossed_merges_at_once_neither_deadlock_nor_both_succeed(session, client, world):
    a = await new_case(session, world)
    b = await new_case(session, world)
    await session.commit()

    first, second = await asyncio.gather(_merge(client, world, a, b), _merge(client, world, b, a))

    assert sorted([first.status_code, second.status_code]) == [200, 409]
    statuses = {(await _fresh(session, Case, c.id)).status for c in (a, b)}
    assert statuses == {"merged", "received"}


# --- unmerge ------------------------------------------------------------------------------------------------


async def test_unmerge_restores_the_case_and_its_assignments(session, client, world):
    main = await new_case(session, world)
    await session.commit()
    case, assignments = await dispatched_case(session, client, world, category="environment")
    lead, co = assignments["environment"], assignments["urban_mgmt"]
    accepted = await client.post(f"/v1/assignments/{lead.id}/accept", headers=world.auth("dept:environment"))
    assert accepted.status_code == 200
    assert (await _merge(client, world, case, main)).status_code == 200

    response = await client.post(f"/v1/cases/{case.id}/unmerge", headers=world.auth("dispatcher"))

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "in_progress" and body["duplicate_of_id"] is None and body["main_reporters"] == 1
    case = await _fresh(session, Case, case.id)
    assert case.status == "in_progress" and case.duplicate_of_id is None and case.merged_at is None
    lead, co = await _fresh(session, Assignment, lead.id), await _fresh(session, Assignment, co.id)
    assert (lead.status, co.status) == ("accepted", "pending")
    assert lead.withdrawn_at is None and co.withdrawn_at is None
    types = list(
        (
            await session.execute(
                select(OutboxEvent.type).where(OutboxEvent.case_id == case.id).order_by(OutboxEvent.id)
            )
        ).scalars()
    )
    assert types[-2:] == ["case.merged", "case.unmerged"]
    # Handled again: the lead department can go on.
    progress = await client.post(
        f"/v1/assignments/{lead.id}/progress",
        json={"text": "已派人查看"},
        headers=world.auth("dept:environment"),
    )
    assert progress.status_code == 200
    not_merged = await client.post(f"/v1/cases/{case.id}/unmerge", headers=world.auth("dispatcher"))
    assert not_merged.status_code == 409 and not_merged.json()["error"]["code"] == "not_merged"


async def test_unmerge_after_a_day_is_refused(session, client, world):
    main = await new_case(session, world)
    case = await new_case(session, world)
    await session.commit()
    assert (await _merge(client, world, case, main)).status_code == 200
    await session.execute(
        update(Case)
        .where(Case.id == case.id)
        .values(merged_at=Case.merged_at - timedelta(hours=24, minutes=1))
    )
    await session.commit()

    response = await client.post(f"/v1/cases/{case.id}/unmerge", headers=world.auth("dispatcher"))

    assert response.status_code == 409
    assert response.json()["error"]["message"] == "并案已超过 24 小时，不能撤销"
    assert (await _fresh(session, Case, case.id)).status == "merged"
