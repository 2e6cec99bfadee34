"""The citizen's public view of a case (JSON) and the citizen's rating."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from services.workflow import SYSTEM, record_event
from shared.calendar import SHANGHAI
from shared.db.enums import AssignmentRole, AssignmentStatus
from shared.db.models import Assignment, Case, Deadline, Feedback, OutboxEvent
from tests.intake_api.conftest import NAME, PHONE, case_by_tracking_no, make_replied, submit


async def _submitted(client, world, **fields):
    response = await submit(
        client,
        world.station_code.token,
        category_code="urban",
        submitter_name=NAME,
        submitter_phone=PHONE,
        **fields,
    )
    assert response.status_code == 201, response.text
    return response.json()


async def test_public_view_shows_progress_without_personal_data(client, world, session):
    receipt = await _submitted(client, world)
    no, key = receipt["tracking_no"], receipt["access_key"]
    case = await case_by_tracking_no(session, no)
    case.tier = "week"
    urban, env = world.departments["urban_mgmt"], world.departments["environment"]
    declined = Assignment(
        jurisdiction_id=case.jurisdiction_id,
        case_id=case.id,
        department_id=env.id,
        role=AssignmentRole.lead,
        status=AssignmentStatus.declined,
        decline_reason="不属于本局职责（内部）",
    )
    lead = Assignment(
        jurisdiction_id=case.jurisdiction_id,
        case_id=case.id,
        department_id=urban.id,
        role=AssignmentRole.lead,
        status=AssignmentStatus.accepted,
    )
    co = Assignment(
        jurisdiction_id=case.jurisdiction_id,
        case_id=case.id,
        department_id=world.departments["street_office"].id,
        role=AssignmentRole.co,
        status=AssignmentStatus.pending,
    )
    session.add_all([declined, lead, co])
    await session.flush()
    now = datetime.now(UTC)
    session.add_all(
        [
            Deadline(
                jurisdiction_id=case.jurisdiction_id,
                case_id=case.id,
                assignment_id=lead.id,
                kind="reply",
                starts_at=now,
                due_at=now + timedelta(days=5),
            ),
            Deadline(  # met: no longer the deadline to show
                jurisdiction_id=case.jurisdiction_id,
                case_id=case.id,
                assignment_id=lead.id,
                kind="accept",
                starts_at=now,
                due_at=now + timedelta(days=1),
            ),
        ]
    )
    await record_event(
        session, case, "declined", SYSTEM, public=True, data={"reason": "不属于本局职责（内部）"}
    )
    await record_event(session, case, "accepted", SYSTEM, public=True, data={"department_id": urban.id})
    await record_event(
        session,
        case,
        "progress",
        SYSTEM,
        public=True,
        data={"text": "已到现场查看，安排清运", "department_id": urban.id, "phone": PHONE},
    )
    await record_event(session, case, "progress", SYSTEM, public=False, data={"text": "内部备注：联系张三丰"})
    await record_event(
        session,
        case,
        "assignment_replied",
        SYSTEM,
        public=True,
        data={
            "text": "街道已配合清理",
            "reply_class": "B",
            "department_id": world.departments["street_office"].id,
        },
    )
    await session.commit()

    response = await client.get(f"/v1/public/cases/{no}", params={"k": key})
    assert response.status_code == 200, response.text
    view = response.json()
    assert view["tracking_no"] == no and view["status"] == "received" and view["status_label"] == "已受理"
    assert view["category"] == "城市管理" and view["request_type_label"] == "建议"
    assert view["tier_label"] == "即收周办"
    due = now + timedelta(days=5)
    assert [{k: v for k, v in d.items() if not k.startswith("due")} for d in view["departments"]] == [
        {"name": "区城管局", "role": "lead", "role_label": "主办", "replied_at": None},
        {"name": "双塔街道办事处", "role": "co", "role_label": "协办", "replied_at": None},
    ]
    lead_due, co_due = view["departments"]
    assert datetime.fromisoformat(lead_due["due_at"]) == due  # the commitment (a co-handler has none)
    assert lead_due["due_date"] == due.astimezone(SHANGHAI).date().isoformat()
    assert co_due["due_at"] is None and co_due["due_date"] is None
    assert datetime.fromisoformat(view["due_at"]) == due
    assert datetime.fromisoformat(view["deadline"]) == now + timedelta(days=5)
    assert [(e["type"], e["label"], e["text"], e["department"]) for e in view["timeline"]] == [
        ("received", "已受理", None, None),
        ("accepted", "承办单位已签收", None, "区城管局"),
        ("progress", "办理进展", "已到现场查看，安排清运", "区城管局"),
        ("assignment_replied", "承办单位答复", "街道已配合清理", "双塔街道办事处"),
    ]
    assert view["timeline"][3]["reply_class"] == "B"
    assert view["can_rate"] is False and view["replies"] == [] and view["feedback"] == []
    for secret in (PHONE, "138****5678", NAME, "张**", "内部", "不属于本局职责", "垃圾桶满溢"):
        assert secret not in response.text, secret


async def test_wrong_or_missing_key_is_404_like_an_unknown_number(client, world):
    receipt = await _submitted(client, world)
    no = receipt["tracking_no"]
    unknown = await client.get("/v1/public/cases/GS20991231-0001", params={"k": receipt["access_key"]})
    wrong = await client.get(f"/v1/public/cases/{no}", params={"k": "not-the-key"})
    missing = await client.get(f"/v1/public/cases/{no}")
    empty = await client.get(f"/v1/public/cases/{no}", params={"k": ""})
    odd = await client.get(f"/v1/public/cases/{no}%00", params={"k": "\u4e2d" * 300})
    for response in (unknown, wrong, missing, empty, odd):
        assert response.status_code == 404
        assert response.json() == unknown.json()
    rated = await client.post(
        f"/v1/public/cases/{no}/feedback", params={"k": "x"}, json={"rating": "satisfied"}
    )
    assert rated.status_code == 404


async def test_satisfied_feedback_closes_the_case(client, world, session):
    receipt = await _submitted(client, world)
    no, key = receipt["tracking_no"], receipt["access_key"]
    early = await client.post(
        f"/v1/public/cases/{no}/feedback", params={"k": key}, json={"rating": "satisfied"}
    )
    assert early.status_code == 409
    assert early.json()["error"]["code"] == "not_awaiting_rating"
    assert early.json()["error"]["message"] == "事项尚未答复或已办结，暂不能评价"

    await make_replied(session, world, no, text="已安排清运，每日两次")
    view = (await client.get(f"/v1/public/cases/{no}", params={"k": key})).json()
    assert view["status"] == "replied" and view["can_rate"] is True
    assert (
        view["replies"][0]["text"] == "已安排清运，每日两次"
        and view["replies"][0]["department"] == "区城管局"
    )
    assert view["replies"][0]["reply_class"] == "A" and view["replies"][0]["reply_class_label"].startswith(
        "A类"
    )
    replied = next(e for e in view["timeline"] if e["type"] == "replied")
    assert replied["text"] == "已安排清运，每日两次" and replied["reply_class"] == "A"

    rated = await client.post(
        f"/v1/public/cases/{no}/feedback",
        params={"k": key},
        json={"rating": "satisfied", "comment": "很快，谢谢 13912345678"},
    )
    assert rated.status_code == 200, rated.text
    assert rated.json() == {"tracking_no": no, "status": "closed", "status_label": "已办结"}
    case = await case_by_tracking_no(session, no)
    assert case.status == "closed" and case.close_reason == "rated"
    feedback = (await session.execute(select(Feedback))).scalars().one()
    assert (feedback.source, feedback.rating, feedback.comment) == (
        "citizen",
        "satisfied",
        "很快，谢谢 13912345678",
    )

    after = await client.get(f"/v1/public/cases/{no}", params={"k": key})
    assert after.json()["can_rate"] is False
    assert after.json()["feedback"][0]["rating_label"] == "满意"
    assert "13912345678" not in after.text  # feedback comments stay private

    twice = await client.post(
        f"/v1/public/cases/{no}/feedback", params={"k": key}, json={"rating": "satisfied"}
    )
    assert twice.status_code == 409


async def test_dissatisfied_feedback_sends_the_case_to_rework(client, world, session):
    receipt = await _submitted(client, world)
    no, key = receipt["tracking_no"], receipt["access_key"]
    await make_replied(session, world, no)
    bad = await client.post(f"/v1/public/cases/{no}/feedback", params={"k": key}, json={"rating": "meh"})
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "rating"

    rated = await client.post(
        f"/v1/public/cases/{no}/feedback",
        params={"k": key},
        json={"rating": "dissatisfied", "comment": "没修好"},
    )
    assert rated.status_code == 200 and rated.json()["status"] == "rework"
    case = await case_by_tracking_no(session, no)
    assert case.status == "rework" and case.rework_round == 1
    types = (await session.execute(select(OutboxEvent.type).order_by(OutboxEvent.id))).scalars().all()
    assert types[-2:] == ["case.feedback", "case.rework"]


async def test_two_ratings_at_once_count_once(client, world, session):
    receipt = await _submitted(client, world)
    no, key = receipt["tracking_no"], receipt["access_key"]
    await make_replied(session, world, no)
    responses = await asyncio.gather(
        *(
            client.post(f"/v1/public/cases/{no}/feedback", params={"k": key}, json={"rating": rating})
            for rating in ("satisfied", "dissatisfied", "basically_satisfied")
        )
    )
    assert sorted(r.status_code for r in responses) == [200, 409, 409]
    assert len((await session.execute(select(Feedback))).scalars().all()) == 1
    assert (await session.execute(select(Case.status))).scalar_one() in ("closed", "rework")


async def test_a_wrong_key_neither_waits_for_nor_takes_the_case_lock(client, world, session, engine):
    # While staff hold the case's row lock, a rating with a wrong key must answer at once, as for an unknown
    # number; waiting would tell that the number exists and let strangers queue on the lock.
    receipt = await _submitted(client, world)
    no = receipt["tracking_no"]
    async with engine.connect() as conn:
        locked = await conn.begin()
        await conn.execute(select(Case.id).where(Case.tracking_no == no).with_for_update())
        attempts = [
            asyncio.ensure_future(
                client.post(
                    f"/v1/public/cases/{no}/feedback", params={"k": "x" * 22}, json={"rating": "satisfied"}
                )
            ),
            asyncio.ensure_future(
                client.post(f"/t/{no}/feedback", params={"k": "x" * 22}, data={"rating": "satisfied"})
            ),
        ]
        done, _ = await asyncio.wait(attempts, timeout=3)
        await locked.rollback()
    responses = [await attempt for attempt in attempts]
    assert len(done) == 2, "a wrong key waited for the case's row lock"
    assert [r.status_code for r in responses] == [404, 404]
