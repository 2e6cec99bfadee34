"""退回补充 at the dispatcher's desk: a case returned to its citizen waits in the queue for the answer, and the
citizen's supplement (case.supplemented) sends it through routing again."""

from __future__ import annotations

from sqlalchemy import select, update

from services.intake.schemas import SupplementIn
from services.intake.supplements import supplement
from shared.db.models import Assignment, Case, CaseEvent, CaseSearchTerms, OutboxEvent, RoutingSettings
from tests.factories import build_world
from tests.routing_api.conftest import dispatched_case, send_event
from tests.services.routing.cases import new_case

VAGUE = "门口有个问题想反映一下"
QUESTION = "请补充具体位置、发生时间和问题情况"
NOISE = "夜里工地施工噪声太大，吵得睡不着"


async def _threshold(session, world, threshold: float) -> None:
    await session.merge(
        RoutingSettings(
            jurisdiction_id=world.jurisdiction.id, classify_threshold=threshold, queue_unmatched=False
        )
    )
    await session.commit()


async def _arrive(session, client, world, **fields) -> Case:
    case = await new_case(session, world, **fields)
    await session.commit()
    response = await send_event(client, "case.received", {"case_id": case.id})
    assert response.json()["results"][0]["status"] == "applied", response.text
    await session.refresh(case)
    return case


async def _return(client, world, case_id: int, message: str = QUESTION, who: str = "dispatcher"):
    return await client.post(
        f"/v1/cases/{case_id}/return", json={"message": message}, headers=world.auth(who)
    )


async def _queue(client, world, **params) -> dict:
    response = await client.get("/v1/dispatch-queue", params=params, headers=world.auth("dispatcher"))
    assert response.status_code == 200, response.text
    return response.json()


async def _citizen_answers(session, case_id: int, text: str) -> None:
    """What intake does when the citizen sends the form: under the case's row lock, in one transaction."""
    case = await session.scalar(
        select(Case).where(Case.id == case_id).with_for_update().execution_options(populate_existing=True)
    )
    await supplement(session, case, SupplementIn(text=text))
    await session.commit()


async def _assignments(session, case_id: int) -> list[Assignment]:
    rows = await session.scalars(
        select(Assignment)
        .where(Assignment.case_id == case_id)
        .order_by(Assignment.id)
        .execution_options(populate_existing=True)
    )
    return list(rows)


async def test_a_returned_case_waits_for_its_citizen_with_the_question_and_a_public_event(
    session, client, world
):
    await _threshold(session, world, 1.0)
    case = await _arrive(session, client, world, category=None, description=VAGUE)
    assert case.queue_reason == "low_confidence"
    response = await _return(client, world, case.id)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "received" and body["queue_reason"] == "awaiting_citizen"
    assert body["message"] == QUESTION and body["tracking_no"] == case.tracking_no
    await session.refresh(case)
    assert (case.status, case.queue_reason) == ("received", "awaiting_citizen")

    event = await session.scalar(
        select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.type == "returned")
    )
    assert event.public is True and event.data == {"text": QUESTION}
    assert event.actor_type == "dispatcher" and event.to_status == "received"
    outbox = await session.scalar(
        select(OutboxEvent).where(OutboxEvent.case_id == case.id, OutboxEvent.type == "case.returned")
    )
    assert outbox is not None and outbox.payload["status"] == "received"
    assert QUESTION not in str(outbox.payload)

    page = await _queue(client, world)
    item = next(i for i in page["items"] if i["case_id"] == case.id)
    assert item["reason"] == "awaiting_citizen" and item["reason_label"] == "已退回群众补充"
    assert item["returned"]["message"] == QUESTION and item["returned"]["at"]
    assert page["counts"]["awaiting_citizen"] == 1 and page["counts"]["low_confidence"] == 0
    assert [i["case_id"] for i in (await _queue(client, world, reason="awaiting_citizen"))["items"]] == [
        case.id
    ]

    # Asked once: a second return waits for the first answer.
    again = await _return(client, world, case.id, "再补充一下")
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_returned"
    # A late case.received does not route a case that waits for its citizen.
    assert (await send_event(client, "case.received", {"case_id": case.id})).status_code == 200
    await session.refresh(case)
    assert case.queue_reason == "awaiting_citizen" and await _assignments(session, case.id) == []


async def test_cases_waiting_for_their_citizen_come_after_those_a_dispatcher_can_act_on(
    session, client, world
):
    await _threshold(session, world, 1.0)
    returned = await _arrive(session, client, world, category=None, urgency="critical", description=VAGUE)
    waiting = await _arrive(session, client, world, category=None, description="反映另一个情况请处理")
    assert (await _return(client, world, returned.id)).status_code == 200
    # Returned after the other arrived, but even a critical one that waits for its citizen goes last.
    await session.execute(update(Case).where(Case.id == returned.id).values(queued_at=waiting.queued_at))
    await session.commit()
    first = await _queue(client, world, limit=1)
    assert [i["case_id"] for i in first["items"]] == [waiting.id] and first["next_cursor"]
    second = await _queue(client, world, limit=1, cursor=first["next_cursor"])
    assert [i["case_id"] for i in second["items"]] == [returned.id] and second["next_cursor"] is None
    assert second["items"][0]["returned"]["message"] == QUESTION
    assert first["items"][0]["returned"] is None


async def test_only_a_case_not_yet_dispatched_can_be_returned(session, client, world):
    case, _ = await dispatched_case(session, client, world, category="urban")
    response = await _return(client, world, case.id)
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "not_returnable" and error["message"] == (
        "该事项当前为“已交办”，只有尚未交办的事项可以退回群众补充"
    )
    short = await _return(client, world, case.id, "请")
    assert short.status_code == 422 and short.json()["error"]["details"][0]["field"] == "message"
    extra = await client.post(
        f"/v1/cases/{case.id}/return", json={"message": QUESTION, "x": 1}, headers=world.auth("dispatcher")
    )
    assert extra.status_code == 422


async def test_only_dispatchers_and_admins_of_the_jurisdiction_return_cases(session, client, world):
    await _threshold(session, world, 1.0)
    case = await _arrive(session, client, world, category=None, description=VAGUE)
    for who in ("dept:urban_mgmt", "supervisor", "deputy"):
        assert (await _return(client, world, case.id, who=who)).status_code == 403, who
    assert (await client.post(f"/v1/cases/{case.id}/return", json={"message": QUESTION})).status_code == 401
    other = await build_world(session, code="XX", name="另一区")
    await session.commit()
    foreign = await new_case(session, other, category="urban")
    await session.commit()
    missing = await _return(client, world, foreign.id)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "case_not_found"
    assert (await _return(client, world, 10**12)).status_code == 404
    assert (await _return(client, world, case.id, who="admin")).status_code == 200


async def test_the_citizens_answer_is_classified_and_dispatched(session, client, world):
    await _threshold(session, world, 1.0)
    case = await _arrive(session, client, world, category=None, description=VAGUE)
    assert (await _return(client, world, case.id)).status_code == 200
    # From now on the classifier decides alone; the text it decides on is the supplemented one.
    await _threshold(session, world, 0.0)
    await _citizen_answers(session, case.id, NOISE)
    await session.refresh(case)
    assert case.queue_reason is None and case.description == f"{VAGUE}\n【补充说明】{NOISE}"
    outbox = await session.scalar(
        select(OutboxEvent).where(OutboxEvent.case_id == case.id, OutboxEvent.type == "case.supplemented")
    )
    assert outbox is not None and NOISE not in str(outbox.payload)

    response = await send_event(client, "case.supplemented", {"case_id": case.id})
    assert response.json()["results"][0]["status"] == "applied", response.text
    await session.refresh(case)
    assert case.status == "dispatched" and case.queue_reason is None
    assert case.category_id == world.categories["environment.noise"].id and case.category_source == "system"
    assignments = await _assignments(session, case.id)
    assert world.departments["environment"].id in {a.department_id for a in assignments}
    words = await session.scalar(select(CaseSearchTerms.terms).where(CaseSearchTerms.case_id == case.id))
    assert "噪声" in words
    assert (await _queue(client, world))["items"] == []
    # Redelivered: the case is dispatched, nothing more happens.
    assert (await send_event(client, "case.supplemented", {"case_id": case.id})).status_code == 200
    assert len(await _assignments(session, case.id)) == len(assignments)


async def test_a_case_units_had_before_goes_back_to_a_person_after_the_answer(session, client, world):
    case, assignments = await dispatched_case(session, client, world, category="urban")
    declined = await client.post(
        f"/v1/assignments/{assignments['urban_mgmt'].id}/decline",
        json={"reason": "地址不清，无法确定责任单位"},
        headers=world.auth("dept:urban_mgmt"),
    )
    assert declined.status_code == 200, declined.text
    assert (await _return(client, world, case.id, "请补充具体地址")).status_code == 200
    await _citizen_answers(session, case.id, "地址是平江路 88 号东侧人行道")
    response = await send_event(client, "case.supplemented", {"case_id": case.id})
    assert response.json()["results"][0]["status"] == "applied", response.text
    await session.refresh(case)
    assert (case.status, case.queue_reason) == ("received", "declined")
    assert [a.status for a in await _assignments(session, case.id)] == ["declined"]
    item = (await _queue(client, world))["items"][0]
    assert item["case_id"] == case.id and item["declines"][0]["reason"] == "地址不清，无法确定责任单位"
    assert "平江路" in item["description"] and item["returned"] is None


async def test_a_returned_case_can_still_be_dispatched_or_rejected_by_hand(session, client, world):
    await _threshold(session, world, 1.0)
    first = await _arrive(session, client, world, category=None, description=VAGUE)
    second = await _arrive(session, client, world, category=None, description="反映另一个情况请处理")
    for case in (first, second):
        assert (await _return(client, world, case.id)).status_code == 200
    dispatched = await client.post(
        f"/v1/cases/{first.id}/dispatch",
        json={
            "category_code": "urban",
            "assignments": [{"department_id": world.departments["urban_mgmt"].id, "role": "lead"}],
        },
        headers=world.auth("dispatcher"),
    )
    assert dispatched.status_code == 200, dispatched.text
    rejected = await client.post(
        f"/v1/cases/{second.id}/reject",
        json={"reason": "insufficient", "message": "多次联系未获补充，内容无法核实"},
        headers=world.auth("dispatcher"),
    )
    assert rejected.status_code == 200, rejected.text
    for case in (first, second):
        await session.refresh(case)
        assert case.queue_reason is None
    assert (await _queue(client, world))["counts"]["awaiting_citizen"] == 0
