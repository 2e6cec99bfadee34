"""Extension requests (延期申请): who may ask, when, for what date; one pending at a time even under races; the
event supervision hears."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text, update

from services.routing import extensions
from shared.db.models import Case, CaseEvent, Deadline, ExtensionRequest, OutboxEvent
from tests.routing_api.conftest import dispatched_case

REASON = "需协调供电公司迁移线路，工期较长"


def _url(assignment) -> str:
    return f"/v1/assignments/{assignment.id}/extension-requests"


async def _reply_deadline(
    session, case, assignment, due_at: datetime, *, round_: int = 0, **fields
) -> Deadline:
    deadline = Deadline(
        jurisdiction_id=case.jurisdiction_id,
        case_id=case.id,
        assignment_id=assignment.id,
        kind="reply",
        round=round_,
        starts_at=due_at - timedelta(days=5),
        due_at=due_at,
        **fields,
    )
    session.add(deadline)
    await session.commit()
    return deadline


async def _accepted_lead(session, client, world, *, due_in: timedelta = timedelta(days=5)):
    case, assignments = await dispatched_case(session, client, world, category="urban")
    lead = assignments["urban_mgmt"]
    auth = world.auth("dept:urban_mgmt")
    assert (await client.post(f"/v1/assignments/{lead.id}/accept", headers=auth)).status_code == 200
    due = datetime.now(UTC) + due_in
    await _reply_deadline(session, case, lead, due)
    return case, lead, auth, due


def _body(until: datetime, reason: str = REASON) -> dict[str, str]:
    return {"until": until.isoformat(), "reason": reason}


async def test_the_lead_asks_and_supervision_hears_without_the_reason(session, client, world):
    case, lead, auth, due = await _accepted_lead(session, client, world)
    until = due + timedelta(days=20)
    response = await client.post(_url(lead), json=_body(until), headers=auth)
    assert response.status_code == 201, response.text
    made = response.json()
    assert made["status"] == "pending" and made["reason"] == REASON
    assert made["assignment_id"] == lead.id and made["case_id"] == case.id and made["round"] == 0
    assert datetime.fromisoformat(made["current_due_at"]) == due
    assert datetime.fromisoformat(made["requested_until"]) == until
    assert made["decided_at"] is None and made["approved_until"] is None

    row = (await session.execute(select(ExtensionRequest))).scalar_one()
    assert (row.status, row.department_id, row.requested_until) == ("pending", lead.department_id, until)
    event = (
        await session.execute(select(OutboxEvent).where(OutboxEvent.type == "case.extension_requested"))
    ).scalar_one()
    assert event.payload["extension_request_id"] == row.id
    assert event.payload["assignment_id"] == lead.id
    assert datetime.fromisoformat(event.payload["requested_until"]) == until
    assert REASON not in str(event.payload)
    logged = (
        await session.execute(select(CaseEvent).where(CaseEvent.type == "extension_requested"))
    ).scalar_one()
    assert not logged.public and logged.data["reason"] == REASON
    assert (logged.actor_type, logged.actor_id) == ("department", lead.department_id)

    listed = (await client.get(_url(lead), headers=auth)).json()
    assert [(r["id"], r["status"]) for r in listed["items"]] == [(row.id, "pending")]
    assert listed["next_cursor"] is None


async def test_a_separate_unit_may_ask_too(session, client, world):
    case, assignments = await dispatched_case(session, client, world, category="environment", grid="G2")
    separate = assignments["street_office"]
    auth = world.auth("dept:street_office")
    await client.post(f"/v1/assignments/{separate.id}/accept", headers=auth)
    due = datetime.now(UTC) + timedelta(days=2)
    await _reply_deadline(session, case, separate, due)
    response = await client.post(_url(separate), json=_body(due + timedelta(days=3)), headers=auth)
    assert response.status_code == 201, response.text


async def test_a_co_handler_may_not_ask(session, client, world):
    case, assignments = await dispatched_case(session, client, world, category="environment", grid="G1")
    co = assignments["urban_mgmt"]
    auth = world.auth("dept:urban_mgmt")
    await client.post(f"/v1/assignments/{co.id}/accept", headers=auth)
    due = datetime.now(UTC) + timedelta(days=2)
    await _reply_deadline(session, case, co, due)
    response = await client.post(_url(co), json=_body(due + timedelta(days=3)), headers=auth)
    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "wrong_assignment_role",
        "message": "协办单位不能申请延期，延期由主办或分办单位申请",
        "details": [],
    }
    assert (await session.execute(select(ExtensionRequest))).first() is None


async def test_an_assignment_must_be_accepted_first(session, client, world):
    case, assignments = await dispatched_case(session, client, world, category="urban")
    lead = assignments["urban_mgmt"]
    due = datetime.now(UTC) + timedelta(days=2)
    await _reply_deadline(session, case, lead, due)
    response = await client.post(
        _url(lead), json=_body(due + timedelta(days=3)), headers=world.auth("dept:urban_mgmt")
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "not_accepted"
    assert "请先签收" in response.json()["error"]["message"]


async def test_after_the_reply_deadline_it_is_too_late(session, client, world):
    _, lead, auth, _ = await _accepted_lead(session, client, world, due_in=timedelta(minutes=-1))
    response = await client.post(_url(lead), json=_body(datetime.now(UTC) + timedelta(days=10)), headers=auth)
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "reply_deadline_passed" and "答复期限已过" in error["message"]


async def test_without_an_open_reply_deadline_there_is_nothing_to_extend(session, client, world):
    case, assignments = await dispatched_case(session, client, world, category="urban")
    lead = assignments["urban_mgmt"]
    auth = world.auth("dept:urban_mgmt")
    await client.post(f"/v1/assignments/{lead.id}/accept", headers=auth)
    until = datetime.now(UTC) + timedelta(days=10)
    response = await client.post(_url(lead), json=_body(until), headers=auth)
    assert response.status_code == 409 and response.json()["error"]["code"] == "no_reply_deadline"
    # A superseded deadline (e.g. an earlier round's) does not count either.
    await _reply_deadline(session, case, lead, until, superseded_at=datetime.now(UTC))
    again = await client.post(_url(lead), json=_body(until + timedelta(days=1)), headers=auth)
    assert again.status_code == 409 and again.json()["error"]["code"] == "no_reply_deadline"


async def test_the_latest_rounds_deadline_is_the_one_extended(session, client, world):
    case, lead, auth, due = await _accepted_lead(session, client, world, due_in=timedelta(days=1))
    later = due + timedelta(days=30)
    await _reply_deadline(session, case, lead, later, round_=1)
    between = await client.post(_url(lead), json=_body(due + timedelta(days=2)), headers=auth)
    assert between.status_code == 422  # not later than the round-1 deadline
    response = await client.post(_url(lead), json=_body(later + timedelta(days=1)), headers=auth)
    assert response.status_code == 201 and response.json()["round"] == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"until": "EARLIER", "reason": REASON}, "until"),
        ({"until": "PAST", "reason": REASON}, "until"),
        ({"until": "2027-01-01T10:00:00", "reason": REASON}, "until"),  # no time zone
        ({"until": "明天", "reason": REASON}, "until"),
        ({"until": "9999-12-31T23:59:59-14:00", "reason": REASON}, "until"),  # beyond the database's range
        ({"until": "LATER", "reason": "短"}, "reason"),
        ({"until": "LATER", "reason": "长" * 501}, "reason"),
        ({"until": "LATER"}, "reason"),
        ({"reason": REASON}, "until"),
        ({"until": "LATER", "reason": REASON, "approved": True}, "approved"),
    ],
)
async def test_bad_requests_are_422_in_chinese(session, client, world, body, field):
    _, lead, auth, due = await _accepted_lead(session, client, world)
    moments = {
        "EARLIER": due - timedelta(hours=1),
        "PAST": datetime.now(UTC) - timedelta(days=1),
        "LATER": due + timedelta(days=10),
    }
    sent = {k: moments[v].isoformat() if v in moments else v for k, v in body.items()}
    response = await client.post(_url(lead), json=sent, headers=auth)
    assert response.status_code == 422, response.text
    details = response.json()["error"]["details"]
    assert [d["field"] for d in details] == [field]
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in d["message"]) for d in details)
    assert (await session.execute(select(ExtensionRequest))).first() is None


async def test_one_pending_request_at_a_time(session, client, world):
    _, lead, auth, due = await _accepted_lead(session, client, world)
    first = await client.post(_url(lead), json=_body(due + timedelta(days=10)), headers=auth)
    assert first.status_code == 201
    second = await client.post(_url(lead), json=_body(due + timedelta(days=5)), headers=auth)
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "extension_pending"
    # Once supervision has decided, the department may ask again.
    await session.execute(update(ExtensionRequest).values(status="refused", decided_at=datetime.now(UTC)))
    await session.commit()
    third = await client.post(_url(lead), json=_body(due + timedelta(days=5)), headers=auth)
    assert third.status_code == 201
    listed = (await client.get(_url(lead), headers=auth)).json()["items"]
    assert [r["status"] for r in listed] == ["pending", "refused"]  # newest first


async def test_simultaneous_requests_make_one(session, client, world):
    _, lead, auth, due = await _accepted_lead(session, client, world)
    responses = await asyncio.gather(
        *(client.post(_url(lead), json=_body(due + timedelta(days=d)), headers=auth) for d in (3, 4, 5))
    )
    assert sorted(r.status_code for r in responses) == [201, 409, 409]
    assert len((await session.execute(select(ExtensionRequest))).all()) == 1


async def test_a_request_written_by_another_transaction_is_waited_for(session, client, world, engine):
    # Another writer (say, a script) inserts a pending request and has not committed. Its foreign-key lock on
    # the case row makes the API wait at the case lock; once it commits, the API sees the request: a 409.
    case, lead, auth, due = await _accepted_lead(session, client, world)
    async with engine.connect() as other:
        await other.execute(
            text(
                "INSERT INTO extension_requests (jurisdiction_id, case_id, assignment_id, department_id, round,"
                " current_due_at, requested_until, reason, status)"
                " VALUES (:j, :c, :a, :d, 0, :due, :until, '脚本写入', 'pending')"
            ),
            {
                "j": case.jurisdiction_id,
                "c": case.id,
                "a": lead.id,
                "d": lead.department_id,
                "due": due,
                "until": due + timedelta(days=9),
            },
        )
        request = asyncio.create_task(
            client.post(_url(lead), json=_body(due + timedelta(days=10)), headers=auth)
        )
        await asyncio.sleep(0.5)
        assert not request.done()
        await other.commit()
    response = await request
    assert response.status_code == 409, response.text
    assert response.json()["error"]["code"] == "extension_pending"
    assert len((await session.execute(select(ExtensionRequest))).all()) == 1


async def test_the_unique_index_is_the_last_word(session, client, world, monkeypatch):
    # Should the check ever miss a pending request, the partial unique index refuses the second one, and the
    # department still gets the same 409, not a generic conflict.
    _, lead, auth, due = await _accepted_lead(session, client, world)
    assert (
        await client.post(_url(lead), json=_body(due + timedelta(days=3)), headers=auth)
    ).status_code == 201

    async def sees_nothing(session, assignment_id: int) -> bool:
        return False

    monkeypatch.setattr(extensions, "_has_pending", sees_nothing)
    response = await client.post(_url(lead), json=_body(due + timedelta(days=4)), headers=auth)
    assert response.status_code == 409, response.text
    assert response.json()["error"]["code"] == "extension_pending"
    assert len((await session.execute(select(ExtensionRequest))).all()) == 1


async def test_frozen_cases_and_departed_units_cannot_ask(session, client, world):
    case, lead, auth, due = await _accepted_lead(session, client, world)
    await session.execute(update(Case).where(Case.id == case.id).values(status="closed"))
    await session.commit()
    closed = await client.post(_url(lead), json=_body(due + timedelta(days=10)), headers=auth)
    assert closed.status_code == 409 and closed.json()["error"]["code"] == "case_not_active"

    other_case, assignments = await dispatched_case(session, client, world, category="environment", grid="G2")
    separate = assignments["street_office"]
    sep_auth = world.auth("dept:street_office")
    await _reply_deadline(session, other_case, separate, due)
    await client.post(
        f"/v1/assignments/{separate.id}/decline", json={"reason": "不在本街道辖区"}, headers=sep_auth
    )
    declined = await client.post(_url(separate), json=_body(due + timedelta(days=10)), headers=sep_auth)
    assert declined.status_code == 409 and declined.json()["error"]["code"] == "assignment_state_conflict"


async def test_another_departments_assignment_is_a_404(session, client, world):
    _, lead, _, due = await _accepted_lead(session, client, world)
    other = world.auth("dept:environment")
    assert (
        await client.post(_url(lead), json=_body(due + timedelta(days=1)), headers=other)
    ).status_code == 404
    assert (await client.get(_url(lead), headers=other)).status_code == 404
    for role in ("admin", "dispatcher", "supervisor"):
        assert (await client.get(_url(lead), headers=world.auth(role))).status_code == 403, role
