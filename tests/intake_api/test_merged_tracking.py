"""A merged case's tracking page follows its main case (progress, reply, a rating of its own) without ever
showing the main case's citizen; the main case counts the citizens who raised the matter."""

from __future__ import annotations

from sqlalchemy import select

from services.routing.duplicates.merge import merge, unmerge
from shared.db.models import Case, Feedback
from shared.security.apikeys import Principal
from tests.intake_api.conftest import NAME, PHONE, case_by_tracking_no, make_replied, submit

OTHER_NAME = "李小龙"
OTHER_PHONE = "13900001111"
REPLY = "已安排清运，<b>每日两次</b>"


async def _receipt(client, world, **fields) -> dict[str, str]:
    response = await submit(client, world.station_code.token, category_code="urban", **fields)
    assert response.status_code == 201, response.text
    body: dict[str, str] = response.json()
    return body


async def _merged(client, session, world) -> tuple[dict[str, str], dict[str, str]]:
    """Two citizens' reports; the second merged into the first by a dispatcher. Returns both receipts."""
    main = await _receipt(client, world, submitter_name=NAME, submitter_phone=PHONE)
    dup = await _receipt(client, world, submitter_name=OTHER_NAME, submitter_phone=OTHER_PHONE)
    dispatcher = Principal(
        key_id=1, role="dispatcher", jurisdiction_id=world.jurisdiction.id, department_id=None, deputy_id=None
    )
    case = await case_by_tracking_no(session, dup["tracking_no"])
    main_case = await case_by_tracking_no(session, main["tracking_no"])
    await merge(session, dispatcher, case, main_case.id)
    await session.commit()
    return main, dup


def _page(receipt: dict[str, str]) -> str:
    return f"/t/{receipt['tracking_no']}?k={receipt['access_key']}"


async def test_the_merged_citizen_follows_the_main_case_and_rates_its_reply(client, session, world):
    main, dup = await _merged(client, session, world)
    await make_replied(session, world, main["tracking_no"], text=REPLY)

    view = await client.get(f"/v1/public/cases/{dup['tracking_no']}", params={"k": dup["access_key"]})
    assert view.status_code == 200
    body = view.json()
    assert body["status"] == "merged" and body["status_label"] == "已并案"
    assert body["merged_note"] == f"您反映的问题已与编号 {main['tracking_no']} 的事项合并办理"
    assert body["merged_into"]["tracking_no"] == main["tracking_no"]
    assert body["merged_into"]["status"] == "replied" and body["merged_into"]["reporters"] == 2
    assert [r["text"] for r in body["merged_into"]["replies"]] == [REPLY]
    assert body["can_rate"] is True and body["reporters"] == 2
    assert [e["type"] for e in body["timeline"]] == ["received", "merged"]
    assert body["timeline"][-1]["text"] == body["merged_note"]

    page = await client.get(_page(dup))
    assert page.status_code == 200
    html = page.text
    assert f"您反映的问题已与编号 {main['tracking_no']} 的事项合并办理" in html
    assert "已安排清运，&lt;b&gt;每日两次&lt;/b&gt;" in html  # the reply, escaped
    assert "2 位群众反映" in html
    assert 'name="rating"' in html
    for secret in (NAME, PHONE, NAME[0] + "**", PHONE[:3] + "****" + PHONE[-4:], OTHER_NAME, OTHER_PHONE):
        assert secret not in html
        assert secret not in view.text

    rated = await client.post(
        f"/t/{dup['tracking_no']}/feedback",
        params={"k": dup["access_key"]},
        data={"rating": "dissatisfied", "comment": "坑还在"},
    )
    assert rated.status_code == 303
    merged_case = await case_by_tracking_no(session, dup["tracking_no"])
    main_case = await case_by_tracking_no(session, main["tracking_no"])
    feedback = (
        await session.execute(select(Feedback).where(Feedback.case_id == merged_case.id))
    ).scalar_one()
    assert (feedback.source, feedback.rating, feedback.round) == (
        "citizen",
        "dissatisfied",
        main_case.rework_round,
    )
    # Neither case moved: the main case's own citizen still decides on rework or closing.
    assert (merged_case.status, main_case.status) == ("merged", "replied")
    again = await client.post(
        f"/v1/public/cases/{dup['tracking_no']}/feedback",
        params={"k": dup["access_key"]},
        json={"rating": "satisfied"},
    )
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_rated"
    after = (await client.get(_page(dup))).text
    assert "不满意" in after and 'name="rating"' not in after

    main_view = await client.get(f"/v1/public/cases/{main['tracking_no']}", params={"k": main["access_key"]})
    assert main_view.json()["reporters"] == 2 and main_view.json()["can_rate"] is True
    assert main_view.json()["merged_into"] is None and main_view.json()["feedback"] == []
    main_page = await client.get(_page(main))
    assert "2 位群众反映" in main_page.text
    assert OTHER_NAME not in main_page.text and OTHER_PHONE not in main_page.text


async def test_before_the_main_case_is_replied_there_is_nothing_to_rate(client, session, world):
    main, dup = await _merged(client, session, world)

    body = (
        await client.get(f"/v1/public/cases/{dup['tracking_no']}", params={"k": dup["access_key"]})
    ).json()

    assert body["can_rate"] is False and body["merged_into"]["replies"] == []
    refused = await client.post(
        f"/v1/public/cases/{dup['tracking_no']}/feedback",
        params={"k": dup["access_key"]},
        json={"rating": "satisfied"},
    )
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "not_awaiting_rating"
    one = (await client.get(_page(main))).text
    assert "2 位群众反映" in one


async def test_an_unmerged_case_is_its_own_again(client, session, world):
    main, dup = await _merged(client, session, world)
    case = await case_by_tracking_no(session, dup["tracking_no"])
    dispatcher = Principal(
        key_id=1, role="dispatcher", jurisdiction_id=world.jurisdiction.id, department_id=None, deputy_id=None
    )
    await unmerge(session, dispatcher, case)
    await session.commit()

    body = (
        await client.get(f"/v1/public/cases/{dup['tracking_no']}", params={"k": dup["access_key"]})
    ).json()

    assert body["status"] == "received" and body["merged_into"] is None and body["merged_note"] is None
    assert [e["label"] for e in body["timeline"]] == ["已受理", "已并案处理", "已撤销并案"]
    assert body["timeline"][-1]["text"] == "已撤销并案，您反映的问题恢复单独办理"
    main_case = await session.scalar(select(Case).where(Case.tracking_no == main["tracking_no"]))
    assert main_case is not None
    main_page = (await client.get(_page(main))).text
    assert "位群众反映" not in main_page
