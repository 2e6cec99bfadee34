"""补充说明: a case a dispatcher returned for more detail shows the question and a form on the citizen's tracking
page; the answer (HTML form or JSON) is added to the description and the case stops waiting."""

from __future__ import annotations

import re

from sqlalchemy import select

from services.routing.desk.returns import return_to_citizen
from services.routing.desk.schemas import ReturnIn
from shared.db.models import CaseEvent, OutboxEvent
from shared.security.apikeys import Principal
from tests.intake_api.conftest import PHONE, case_by_tracking_no, make_replied, submit

DESCRIPTION = "平江路垃圾桶满溢三天无人清运，气味很大"
QUESTION = "请补充具体位置<script>alert(1)</script>和发生时间"
ANSWER = "在平江路 88 号东侧，<b>每天</b>傍晚最严重"


async def _returned(client, session, world, question: str = QUESTION) -> dict[str, str]:
    """A citizen's case, returned by a dispatcher with the question. Returns the receipt."""
    response = await submit(client, world.station_code.token, category_code="urban", submitter_phone=PHONE)
    assert response.status_code == 201, response.text
    receipt: dict[str, str] = response.json()
    case = await case_by_tracking_no(session, receipt["tracking_no"])
    dispatcher = Principal(
        key_id=1, role="dispatcher", jurisdiction_id=world.jurisdiction.id, department_id=None, deputy_id=None
    )
    await return_to_citizen(session, dispatcher, case.id, ReturnIn(message=question))
    await session.commit()
    return receipt


def _json_url(receipt: dict[str, str]) -> str:
    return f"/v1/public/cases/{receipt['tracking_no']}/supplement"


def _form_url(receipt: dict[str, str]) -> str:
    return f"/t/{receipt['tracking_no']}/supplement"


async def _view(client, receipt: dict[str, str]) -> dict:
    response = await client.get(
        f"/v1/public/cases/{receipt['tracking_no']}", params={"k": receipt["access_key"]}
    )
    assert response.status_code == 200, response.text
    body: dict = response.json()
    return body


async def test_the_page_shows_the_question_and_the_form(client, session, world):
    receipt = await _returned(client, session, world)
    view = await _view(client, receipt)
    assert view["can_supplement"] is True and view["supplement_request"] == QUESTION
    assert view["status"] == "received"
    returned = view["timeline"][-1]
    assert (returned["type"], returned["label"], returned["text"]) == ("returned", "请补充反映内容", QUESTION)

    page = await client.get(f"/t/{receipt['tracking_no']}", params={"k": receipt["access_key"]})
    assert page.status_code == 200
    html = page.text
    assert "请补充反映内容" in html and "补充说明" in html
    assert "<script>alert(1)</script>" not in html
    assert "请补充具体位置&lt;script&gt;alert(1)&lt;/script&gt;和发生时间" in html
    action = re.search(r'action="([^"]*/supplement[^"]*)"', html)
    assert action is not None
    assert action.group(1) == f"/t/{receipt['tracking_no']}/supplement?k={receipt['access_key']}"
    assert 'name="text"' in html and 'maxlength="2000"' in html and 'for="supplement-text"' in html


async def test_a_case_nobody_returned_has_no_form_and_refuses_a_supplement(client, session, world):
    response = await submit(client, world.station_code.token, category_code="urban")
    receipt = response.json()
    view = await _view(client, receipt)
    assert view["can_supplement"] is False and view["supplement_request"] is None
    page = await client.get(f"/t/{receipt['tracking_no']}", params={"k": receipt["access_key"]})
    assert "/supplement" not in page.text
    refused = await client.post(
        _json_url(receipt), params={"k": receipt["access_key"]}, json={"text": ANSWER}
    )
    assert refused.status_code == 409
    assert refused.json()["error"] == {
        "code": "not_awaiting_supplement",
        "message": "该事项目前无需补充说明",
        "details": [],
    }
    form = await client.post(_form_url(receipt), params={"k": receipt["access_key"]}, data={"text": ANSWER})
    assert form.status_code == 409 and "该事项目前无需补充说明" in form.text
    # A replied case waits for a rating, not for more detail.
    await make_replied(session, world, receipt["tracking_no"])
    replied = await client.post(
        _json_url(receipt), params={"k": receipt["access_key"]}, json={"text": ANSWER}
    )
    assert replied.status_code == 409


async def test_the_json_supplement_joins_the_description_and_ends_the_wait(client, session, world):
    receipt = await _returned(client, session, world)
    url, params = _json_url(receipt), {"k": receipt["access_key"]}
    for body, message in [
        ({"text": "  太短 "}, "补充说明至少需要 5 个字"),
        ({"text": "字" * 2001}, "补充说明不能超过 2000 个字（现有 2001 个字）"),
        ({"text": "   "}, "请填写补充说明"),
        ({}, "此项为必填项"),
    ]:
        bad = await client.post(url, params=params, json=body)
        assert bad.status_code == 422, body
        assert bad.json()["error"]["details"] == [{"field": "text", "message": message}]

    response = await client.post(url, params=params, json={"text": f"  {ANSWER}\n"})
    assert response.status_code == 200, response.text
    assert response.json() == {
        "tracking_no": receipt["tracking_no"],
        "status": "received",
        "status_label": "已受理",
    }
    case = await case_by_tracking_no(session, receipt["tracking_no"])
    assert case.description == f"{DESCRIPTION}\n【补充说明】{ANSWER}"
    assert (case.status, case.queue_reason, case.queued_at) == ("received", None, None)
    event = await session.scalar(
        select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.type == "supplemented")
    )
    assert event.public is True and event.actor_type == "citizen" and event.data == {"text": ANSWER}
    outbox = await session.scalar(
        select(OutboxEvent).where(OutboxEvent.case_id == case.id, OutboxEvent.type == "case.supplemented")
    )
    assert outbox is not None and outbox.payload["case_id"] == case.id
    assert "平江路 88 号" not in str(outbox.payload)

    view = await _view(client, receipt)
    assert view["can_supplement"] is False and view["supplement_request"] is None
    assert [(e["type"], e["label"]) for e in view["timeline"]][-2:] == [
        ("returned", "请补充反映内容"),
        ("supplemented", "已补充说明"),
    ]
    # Like the description and rating comments, the citizen's own words are not echoed on the page.
    assert view["timeline"][-1]["text"] is None and "平江路 88 号" not in str(view)
    twice = await client.post(url, params=params, json={"text": "再补充一句：晚上八点以后最严重"})
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "not_awaiting_supplement"


async def test_the_html_form_supplements_and_redirects_back_to_the_page(client, session, world):
    receipt = await _returned(client, session, world)
    no, key = receipt["tracking_no"], receipt["access_key"]
    short = await client.post(_form_url(receipt), params={"k": key}, data={"text": "<b>x"})
    assert short.status_code == 422
    assert "补充说明至少需要 5 个字" in short.text and 'aria-invalid="true"' in short.text
    assert "&lt;b&gt;x</textarea>" in short.text and "<b>x" not in short.text  # kept, escaped
    assert (await case_by_tracking_no(session, no)).queue_reason == "awaiting_citizen"

    sent = await client.post(_form_url(receipt), params={"k": key}, data={"text": ANSWER})
    assert sent.status_code == 303
    assert sent.headers["location"] == f"/t/{no}?k={key}"
    case = await case_by_tracking_no(session, no)
    assert case.description.endswith(f"【补充说明】{ANSWER}") and case.queue_reason is None
    page = await client.get(f"/t/{no}", params={"k": key})
    assert "已补充说明" in page.text and "/supplement" not in page.text
    assert "每天" not in page.text
    again = await client.post(_form_url(receipt), params={"k": key}, data={"text": ANSWER})
    assert again.status_code == 409 and 'role="alert"' in again.text


async def test_a_wrong_key_is_a_404_and_changes_nothing(client, session, world):
    receipt = await _returned(client, session, world)
    no = receipt["tracking_no"]
    for params in ({"k": "x" * 22}, {}):
        json_answer = await client.post(_json_url(receipt), params=params, json={"text": ANSWER})
        assert json_answer.status_code == 404 and json_answer.json()["error"]["code"] == "case_not_found"
        form = await client.post(_form_url(receipt), params=params, data={"text": ANSWER})
        assert form.status_code == 404
    unknown = await client.post(
        "/v1/public/cases/GS20991231-0001/supplement",
        params={"k": receipt["access_key"]},
        json={"text": ANSWER},
    )
    assert unknown.status_code == 404
    case = await case_by_tracking_no(session, no)
    assert case.description == DESCRIPTION and case.queue_reason == "awaiting_citizen"
