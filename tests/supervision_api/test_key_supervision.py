"""Key supervision (重点督办) and the three checks a year (一年三督): choosing items, recording checks, the report
as JSON and as an Excel workbook read back with openpyxl."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
from openpyxl import load_workbook
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.supervision import deadlines
from services.supervision.levels import change_level
from services.workflow import Actor, change_status
from shared.db.enums import AssignmentStatus, CaseKind, CaseStatus
from shared.db.models import Case, Deadline, ExtensionRequest, Feedback
from tests.factories import World, build_world
from tests.supervision_api.arrange import DISPATCHER, accept, assignment_of, dispatched_case, new_case, reply

ITEMS = "/v1/key-supervision/items"
START = {"checked_on": "2026-01-12", "findings": "确定为年度重点督办事项，明确整改目标", "rating": None}
MID = {"stage": "mid", "checked_on": "2026-06-30", "findings": "清运频次已提高，仍有反复", "rating": "fair"}
END = {"stage": "end", "checked_on": "2026-11-20", "findings": "=已建立长效机制", "rating": "good"}


async def _choose(
    client: httpx.AsyncClient, world: World, case: Case, *, year: int = 2026, **extra: Any
) -> httpx.Response:
    body = {"year": year, "case_id": case.id, "lead_supervisor": "李主任", "goal": "年内解决垃圾清运问题"}
    return await client.post(ITEMS, json={**body, **extra}, headers=world.auth("supervisor"))


async def _check(
    client: httpx.AsyncClient, world: World, item_id: int, body: dict[str, Any]
) -> httpx.Response:
    return await client.post(f"{ITEMS}/{item_id}/checks", json=body, headers=world.auth("supervisor"))


async def _case_supervision(client: httpx.AsyncClient, world: World, case: Case) -> dict[str, Any]:
    view = (await client.get(f"/v1/cases/{case.id}", headers=world.auth("supervisor"))).json()
    return {k: view["supervision"][k] for k in ("level", "lead_supervisor")}


async def test_choose_an_item_and_record_its_three_checks(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    case = await dispatched_case(session, world)
    await session.commit()

    chosen = await _choose(client, world, case, start_check=START)
    assert chosen.status_code == 201, chosen.text
    item = chosen.json()
    assert (item["year"], item["case_id"], item["tracking_no"], item["case_status"], item["kind"]) == (
        2026,
        case.id,
        case.tracking_no,
        "dispatched",
        "citizen",
    )
    assert (item["lead_supervisor"], item["goal"], item["committee_id"]) == (
        "李主任",
        "年内解决垃圾清运问题",
        world.committee.id,  # the category's committee, by default
    )
    assert [(c["stage"], c["checked_on"], c["rating"]) for c in item["checks"]] == [
        ("start", "2026-01-12", None)
    ]

    # The case itself is now at level key, owned by the lead supervisor.
    assert await _case_supervision(client, world, case) == {"level": "key", "lead_supervisor": "李主任"}

    ungraded = await _check(client, world, item["id"], {**MID, "rating": None})
    assert ungraded.status_code == 422
    assert ungraded.json()["error"]["details"][0]["field"] == "rating"
    assert (await _check(client, world, item["id"], END)).status_code == 409  # end before mid
    assert (await _check(client, world, item["id"], MID)).status_code == 201
    ended = await _check(client, world, item["id"], END)
    assert ended.status_code == 201, ended.text
    assert [(c["stage"], c["rating"]) for c in ended.json()["checks"]] == [
        ("start", None),
        ("mid", "fair"),
        ("end", "good"),
    ]
    again = await _check(client, world, item["id"], {**MID, "findings": "再次督查"})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "key_check_recorded"
    assert "年中督查" in again.json()["error"]["message"]

    duplicate = await _choose(client, world, case)
    assert duplicate.status_code == 409
    assert duplicate.json()["error"]["code"] == "key_item_exists"
    assert (await _choose(client, world, case, year=2027)).status_code == 201  # the next year's item

    listed = await client.get(ITEMS, params={"year": 2026}, headers=world.auth("admin"))
    assert listed.status_code == 200
    assert [i["id"] for i in listed.json()["items"]] == [item["id"]]
    assert len((await client.get(ITEMS, headers=world.auth("supervisor"))).json()["items"]) == 2

    timeline = (await client.get(f"/v1/cases/{case.id}", headers=world.auth("admin"))).json()["events"]
    assert [e["data"]["stage"] for e in timeline if e["type"] == "key_check_recorded"] == [
        "start",
        "mid",
        "end",
    ]


async def test_checks_come_in_order_on_dates_of_the_items_year(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    case = await dispatched_case(session, world)
    await session.commit()
    item_id = (await _choose(client, world, case)).json()["id"]

    early = await _check(client, world, item_id, MID)
    assert early.status_code == 409 and early.json()["error"]["code"] == "key_check_out_of_order"
    for checked_on in ("2030-01-01", "2099-06-30"):
        wrong = await _check(client, world, item_id, {**START, "stage": "start", "checked_on": checked_on})
        assert wrong.status_code == 422, checked_on
        assert wrong.json()["error"]["details"][0]["field"] == "checked_on"
    assert (await _check(client, world, item_id, {**START, "stage": "start"})).status_code == 201
    before_start = await _check(client, world, item_id, {**MID, "checked_on": "2026-01-02"})
    assert before_start.status_code == 422
    assert "年初确定" in before_start.json()["error"]["message"]
    for body in ({**MID, "rating": "excellent"}, {**MID, "stage": "late"}, {**MID, "findings": " "}):
        assert (await _check(client, world, item_id, body)).status_code == 422, body


async def test_patch_changes_the_lead_supervisor_and_goal(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    case = await dispatched_case(session, world)
    await session.commit()
    item_id = (await _choose(client, world, case)).json()["id"]

    patched = await client.patch(
        f"{ITEMS}/{item_id}", json={"lead_supervisor": "周副主任"}, headers=world.auth("supervisor")
    )
    assert patched.status_code == 200, patched.text
    assert (patched.json()["lead_supervisor"], patched.json()["goal"]) == ("周副主任", "年内解决垃圾清运问题")
    assert await _case_supervision(client, world, case) == {"level": "key", "lead_supervisor": "周副主任"}
    goal = await client.patch(
        f"{ITEMS}/{item_id}", json={"goal": "建立长效机制"}, headers=world.auth("supervisor")
    )
    assert goal.json()["goal"] == "建立长效机制"
    assert (
        await client.patch(f"{ITEMS}/{item_id}", json={}, headers=world.auth("supervisor"))
    ).status_code == 422
    fetched = await client.get(f"{ITEMS}/{item_id}", headers=world.auth("admin"))
    assert (fetched.json()["lead_supervisor"], fetched.json()["goal"]) == ("周副主任", "建立长效机制")

    # The case follows its newest item only: correcting last year's item leaves this year's owner alone.
    assert (await _choose(client, world, case, year=2027, lead_supervisor="陈主任")).status_code == 201
    await client.patch(
        f"{ITEMS}/{item_id}", json={"lead_supervisor": "吴主任"}, headers=world.auth("supervisor")
    )
    assert await _case_supervision(client, world, case) == {"level": "key", "lead_supervisor": "陈主任"}


async def test_a_case_moved_off_key_is_not_put_back_by_a_new_lead_supervisor(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    case = await dispatched_case(session, world)
    await session.commit()
    item_id = (await _choose(client, world, case)).json()["id"]
    await session.refresh(case)
    await change_level(
        session,
        case,
        level="formal",
        lead_supervisor=None,
        note="降为一般督办",
        actor=Actor("supervisor"),
        source="manual",
    )
    await session.commit()
    patched = await client.patch(
        f"{ITEMS}/{item_id}", json={"lead_supervisor": "周副主任"}, headers=world.auth("supervisor")
    )
    assert patched.json()["lead_supervisor"] == "周副主任"
    assert await _case_supervision(client, world, case) == {"level": "formal", "lead_supervisor": None}


async def test_roles_jurisdictions_and_cases_that_cannot_be_chosen(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    other = await build_world(session, code="XC", name="相城区")
    foreign = await dispatched_case(session, other)
    case = await dispatched_case(session, world)
    merged = await dispatched_case(session, world)
    await change_status(session, merged, CaseStatus.merged, "merged", DISPATCHER)
    rejected = await new_case(session, world)
    await change_status(session, rejected, CaseStatus.rejected, "rejected", DISPATCHER)
    await session.commit()

    body = {"year": 2026, "case_id": case.id, "lead_supervisor": "李主任", "goal": "年内解决"}
    assert (await client.post(ITEMS, json=body)).status_code == 401
    assert (await client.get(ITEMS)).status_code == 401
    assert (await client.get("/v1/key-supervision/report", params={"year": 2026})).status_code == 401
    for who in ("admin", "dispatcher", "integrator", "dept:urban_mgmt", "deputy"):
        assert (await client.post(ITEMS, json=body, headers=world.auth(who))).status_code == 403, who
    for who in ("dispatcher", "integrator", "dept:urban_mgmt", "deputy"):
        assert (await client.get(ITEMS, headers=world.auth(who))).status_code == 403, who
        report = await client.get(
            "/v1/key-supervision/report.xlsx", params={"year": 2026}, headers=world.auth(who)
        )
        assert report.status_code == 403, who

    assert (await _choose(client, world, foreign)).status_code == 404
    for gone in (merged, rejected):
        refused = await _choose(client, world, gone)
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "case_not_supervisable"
    committee = await _choose(client, world, case, committee_id=other.committee.id)
    assert committee.status_code == 422 and committee.json()["error"]["details"][0]["field"] == "committee_id"

    foreign_item = (await _choose(client, other, foreign)).json()["id"]
    own_item = (await _choose(client, world, case)).json()["id"]
    assert (await client.get(f"{ITEMS}/{foreign_item}", headers=world.auth("supervisor"))).status_code == 404
    patch = await client.patch(
        f"{ITEMS}/{foreign_item}", json={"goal": "x"}, headers=world.auth("supervisor")
    )
    assert patch.status_code == 404
    assert (await _check(client, world, foreign_item, {**START, "stage": "start"})).status_code == 404
    assert (
        await client.patch(f"{ITEMS}/{own_item}", json={"goal": "x"}, headers=world.auth("admin"))
    ).status_code == 403
    assert [i["id"] for i in (await client.get(ITEMS, headers=world.auth("supervisor"))).json()["items"]] == [
        own_item
    ]
    report = await client.get(
        "/v1/key-supervision/report", params={"year": 2026}, headers=world.auth("admin")
    )
    assert [i["id"] for i in report.json()["items"]] == [own_item]
    for params in ({}, {"year": 1999}, {"year": "x"}):
        assert (
            await client.get("/v1/key-supervision/report", params=params, headers=world.auth("admin"))
        ).status_code == 422


async def _a_year_of_key_items(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> dict[str, Case]:
    """Three key items: one replied in time and rated, one whose lead never replied by its lapsed deadline
    (its separate department declined, which takes its deadline out of the count), one not due yet."""
    now = datetime.now(UTC)
    kept = await dispatched_case(session, world, at=now, kind=CaseKind.deputy_suggestion)
    await deadlines.ensure_dispatch_deadlines(session, kept)
    lead = await assignment_of(session, kept, world.departments["urban_mgmt"].id)
    await accept(session, kept, lead)
    await reply(session, kept, lead)
    await deadlines.settle_replies(session, kept)
    session.add(
        Feedback(
            jurisdiction_id=kept.jurisdiction_id,
            case_id=kept.id,
            source="deputy",
            rating="satisfied",
            round=0,
        )
    )

    missed = await dispatched_case(  # dispatched 2026-09-30: its reply deadline lapsed on 2026-10-13
        session,
        world,
        category="environment",
        assignments=(("environment", "lead"), ("street_office", "separate")),
    )
    await deadlines.ensure_dispatch_deadlines(session, missed)
    separate = await assignment_of(session, missed, world.departments["street_office"].id)
    separate.status = AssignmentStatus.declined
    separate.declined_at = now
    await session.flush()
    await deadlines.supersede_declined(session, missed, now)

    running = await dispatched_case(session, world, at=now)
    await deadlines.ensure_dispatch_deadlines(session, running)
    await session.commit()

    for case in (kept, missed, running):
        assert (await _choose(client, world, case, start_check=START)).status_code == 201
    item_id = (await client.get(ITEMS, headers=world.auth("admin"))).json()["items"][0]["id"]
    assert (await _check(client, world, item_id, MID)).status_code == 201
    assert (await _check(client, world, item_id, END)).status_code == 201
    return {"kept": kept, "missed": missed, "running": running}


async def test_report_counts_kept_and_missed_reply_deadlines(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    cases = await _a_year_of_key_items(client, session, world)
    response = await client.get(
        "/v1/key-supervision/report", params={"year": 2026}, headers=world.auth("supervisor")
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["year"] == 2026
    items = {i["tracking_no"]: i for i in report["items"]}
    kept, missed, running = (items[cases[k].tracking_no] for k in ("kept", "missed", "running"))

    assert (kept["deadlines_kept"], kept["deadlines_missed"], kept["deadlines_open"]) == (1, 0, 0)
    assert [d["outcome"] for d in kept["reply_deadlines"]] == ["kept"]
    assert (kept["kind"], kept["status"], kept["latest_rating"]) == (
        "deputy_suggestion",
        "replied",
        "satisfied",
    )
    assert [(r["department_name"], r["reply_class"]) for r in kept["replies"]] == [("区城管局", "A")]
    assert kept["departments"] == [
        {
            "department_id": world.departments["urban_mgmt"].id,
            "name": "区城管局",
            "role": "lead",
            "status": "replied",
        }
    ]
    assert [(c["stage"], c["rating"]) for c in kept["checks"]] == [
        ("start", None),
        ("mid", "fair"),
        ("end", "good"),
    ]
    assert (kept["lead_supervisor"], kept["committee_name"], kept["category_code"]) == (
        "李主任",
        "城建环保工委",
        "urban",
    )

    # The lead's lapsed deadline is missed; the declined separate department's superseded one is not counted.
    assert (missed["deadlines_kept"], missed["deadlines_missed"], missed["deadlines_open"]) == (0, 1, 0)
    assert [(d["department_name"], d["outcome"]) for d in missed["reply_deadlines"]] == [
        ("区生态环境局", "missed")
    ]
    assert [d["name"] for d in missed["departments"]] == ["区生态环境局"]
    assert missed["latest_rating"] is None and missed["replies"] == []

    assert (running["deadlines_kept"], running["deadlines_missed"], running["deadlines_open"]) == (0, 0, 1)

    summary = report["summary"]
    assert (summary["deadlines_kept"], summary["deadlines_missed"], summary["deadlines_open"]) == (1, 1, 1)
    assert summary["items"] == 3
    assert summary["by_status"] == {"dispatched": 2, "replied": 1}
    assert summary["by_kind"] == {"deputy_suggestion": 1, "citizen": 2}
    assert summary["ratings"] == {"satisfied": 1, "unrated": 2}
    assert summary["checks_recorded"] == {"start": 3, "mid": 1, "end": 1}
    assert summary["check_ratings"] == {"start": {}, "mid": {"fair": 1}, "end": {"good": 1}}

    empty = await client.get("/v1/key-supervision/report", params={"year": 2025}, headers=world.auth("admin"))
    assert empty.json()["items"] == [] and empty.json()["summary"]["items"] == 0


async def test_an_approved_extension_counts_its_new_date(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    case = await dispatched_case(session, world, at=now - timedelta(days=1), tier="month")
    await deadlines.ensure_dispatch_deadlines(session, case)
    lead = await assignment_of(session, case, world.departments["urban_mgmt"].id)
    await accept(session, case, lead)
    original = (
        await session.execute(
            select(Deadline).where(Deadline.assignment_id == lead.id, Deadline.kind == "reply")
        )
    ).scalar_one()
    asked = original.due_at + timedelta(days=20)
    request = ExtensionRequest(
        jurisdiction_id=case.jurisdiction_id,
        case_id=case.id,
        assignment_id=lead.id,
        department_id=lead.department_id,
        round=0,
        current_due_at=original.due_at,
        requested_until=asked,
        reason="需协调供电公司迁移线路",
    )
    session.add(request)
    await session.commit()
    approved = await client.post(
        f"/v1/extension-requests/{request.id}/approve", json={}, headers=world.auth("supervisor")
    )
    assert approved.status_code == 200, approved.text
    # The replaced date passes unmet; the department replies within the approved one.
    await session.execute(
        update(Deadline).where(Deadline.id == original.id).values(due_at=now - timedelta(hours=1))
    )
    await reply(session, case, lead)
    await deadlines.settle_replies(session, case)
    await session.commit()
    assert (await _choose(client, world, case)).status_code == 201

    report = (
        await client.get("/v1/key-supervision/report", params={"year": 2026}, headers=world.auth("admin"))
    ).json()
    (item,) = report["items"]
    assert (item["deadlines_kept"], item["deadlines_missed"], item["deadlines_open"]) == (1, 0, 0)
    assert [datetime.fromisoformat(d["due_at"]) for d in item["reply_deadlines"]] == [asked]


async def test_report_as_an_excel_workbook(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    cases = await _a_year_of_key_items(client, session, world)
    response = await client.get(
        "/v1/key-supervision/report.xlsx", params={"year": 2026}, headers=world.auth("admin")
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert f"filename*=UTF-8''{quote('重点督办报告-2026.xlsx')}" in disposition
    assert 'filename="key-supervision-2026.xlsx"' in disposition

    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["重点督办事项", "三督记录", "汇总"]

    items = book["重点督办事项"]
    header = [cell.value for cell in items[1]]
    assert header[:3] == ["序号", "受理编号", "标题或摘要"]
    assert {
        "领衔督办",
        "督办目标",
        "承办单位",
        "答复期限按期",
        "答复期限逾期",
        "满意度",
        "年中督查",
        "年终评估",
    } <= set(header)
    assert items.freeze_panes == "A2"
    assert items.column_dimensions["B"].width == 20
    rows = {
        row[1]: dict(zip(header, row, strict=True)) for row in items.iter_rows(min_row=2, values_only=True)
    }
    assert set(rows) == {case.tracking_no for case in cases.values()}
    first = rows[cases["kept"].tracking_no]
    assert (first["类别"], first["办理状态"], first["领衔督办"]) == ("代表建议", "已答复", "李主任")
    assert (first["答复期限按期"], first["答复期限逾期"], first["满意度"]) == (1, 0, "代表：满意")
    assert first["承办单位"] == "区城管局（主办，已答复）"
    assert (first["年中督查"], first["年终评估"]) == ("2026-06-30 较好", "2026-11-20 好")
    assert rows[cases["missed"].tracking_no]["答复期限逾期"] == 1

    checks = book["三督记录"]
    check_header = [cell.value for cell in checks[1]]
    assert check_header == [
        "受理编号",
        "标题或摘要",
        "领衔督办",
        "督查阶段",
        "检查日期",
        "评价等级",
        "检查情况",
        "记录时间",
    ]
    check_rows = list(checks.iter_rows(min_row=2, values_only=True))
    assert len(check_rows) == 5  # three start checks, one mid, one end
    end = next(row for row in check_rows if row[3] == "年终评估")
    assert (end[0], end[5], end[6]) == (cases["kept"].tracking_no, "好", "=已建立长效机制")
    assert end[4].date().isoformat() == "2026-11-20"
    # Findings that start with "=" are text, never a formula.
    assert next(c for c in checks["G"] if c.value == "=已建立长效机制").data_type == "s"
    assert "清运频次已提高，仍有反复" in [row[6] for row in check_rows]

    summary = {row[0]: row[1] for row in book["汇总"].iter_rows(min_row=2, values_only=True)}
    assert summary["2026 年度重点督办事项"] == 3
    assert (summary["答复期限：按期"], summary["答复期限：逾期"], summary["答复期限：未到期"]) == (1, 1, 1)
    assert (summary["满意度：满意"], summary["满意度：未评价"]) == (1, 2)
    assert (summary["已记录年终评估"], summary["年终评估评价：好"]) == (1, 1)
