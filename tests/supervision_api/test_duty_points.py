"""Duty points (履职积分) written from events: a case through a deputy's code, a suggestion and its co-signers,
a reception, a deputy's rating, a follow-up visit; the same event never counts twice; the rules per
jurisdiction; admins' adjustments; the ledger's pages and the Asia/Shanghai year."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.supervision.events import SUBSCRIBED_EVENTS
from services.workflow import Actor
from services.workflow.service import store_feedback
from shared.calendar import SHANGHAI
from shared.db.enums import CaseStatus, Rating
from shared.db.models import Deputy, DutyPointEntry, FollowUp
from shared.events.relay import Relay
from shared.events.subscriptions import ensure_internal_endpoint
from shared.settings import get_settings
from tests.asgi import HostRouter
from tests.factories import World, build_world
from tests.supervision_api.arrange import new_case
from tests.supervision_api.duty_arrange import (
    add_deputy,
    case_via_code,
    deliver_type,
    handle_directly,
    outbox_row,
    post_event,
    reception,
    suggestion,
)

YEAR = datetime.now(SHANGHAI).year


async def _points(
    client: httpx.AsyncClient, world: World, deputy: Deputy, year: int = YEAR, **params: object
) -> dict[str, Any]:
    response = await client.get(
        f"/v1/deputies/{deputy.id}/duty-points",
        params={"year": year, **params},
        headers=world.auth("supervisor"),
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _total(client: httpx.AsyncClient, world: World, deputy: Deputy, year: int = YEAR) -> int:
    return int((await _points(client, world, deputy, year))["total"])


async def _entries(session: AsyncSession) -> list[tuple[int, str, int, str]]:
    rows = await session.execute(
        select(DutyPointEntry.deputy_id, DutyPointEntry.action, DutyPointEntry.points, DutyPointEntry.source)
        .order_by(DutyPointEntry.id)
        .execution_options(populate_existing=True)
    )
    return [tuple(r) for r in rows]


def _subtotal(body: dict[str, Any], action: str) -> tuple[int, int]:
    (row,) = [a for a in body["actions"] if a["action"] == action]
    return row["count"], row["points"]


async def test_supervision_subscribes_to_the_events_that_earn_points() -> None:
    for type_ in (
        "case.received",
        "case.feedback",
        "case.follow_up_recorded",
        "case.replied",
        "suggestion.submitted",
        "reception.recorded",
    ):
        assert type_ in SUBSCRIBED_EVENTS


async def test_a_citizen_case_through_a_deputy_code_earns_the_deputy_one_point(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    case = await case_via_code(session, world)
    assert await deliver_type(client, session, "case.received", case) == "applied"
    # A case through the station's code names no deputy and earns nothing.
    station_case = await new_case(session, world, intake_code_id=world.station_code.id)
    assert await deliver_type(client, session, "case.received", station_case) == "applied"

    body = await _points(client, world, world.deputy)
    assert body["total"] == 1
    assert _subtotal(body, "case_raised") == (1, 1)
    (entry,) = body["items"]
    assert entry["action"] == "case_raised" and entry["action_label"] == "代表码反映问题"
    assert entry["source"] == f"case:{case.id}" and entry["case_id"] == case.id
    assert entry["reason"] == f"群众通过代表码反映问题 {case.tracking_no}"
    assert entry["tracking_no"] == case.tracking_no and entry["created_by_type"] == "system"
    assert (await _entries(session)) == [(world.deputy.id, "case_raised", 1, f"case:{case.id}")]


async def test_a_suggestion_earns_its_author_three_and_each_cosigner_one(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    li = await add_deputy(session, world, "李代表")
    zhang = await add_deputy(session, world, "张代表")
    case = await suggestion(session, world, world.deputy, [li, zhang])
    # The suggestion's own case.received is not a citizen's case through a code: nothing for it.
    assert await deliver_type(client, session, "case.received", case) == "applied"
    assert await deliver_type(client, session, "suggestion.submitted", case) == "applied"

    assert await _total(client, world, world.deputy) == 3
    assert await _total(client, world, li) == 1
    assert await _total(client, world, zhang) == 1
    assert sorted(await _entries(session)) == sorted(
        [
            (world.deputy.id, "suggestion_submitted", 3, f"case:{case.id}"),
            (li.id, "suggestion_cosigned", 1, f"case:{case.id}"),
            (zhang.id, "suggestion_cosigned", 1, f"case:{case.id}"),
        ]
    )


async def test_a_reception_earns_each_deputy_present_two(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    li = await add_deputy(session, world, "李代表")
    absent = await add_deputy(session, world, "赵代表")
    row = await reception(session, world, [world.deputy, li])
    assert await deliver_type(client, session, "reception.recorded") == "applied"

    assert await _total(client, world, world.deputy) == 2
    assert await _total(client, world, li) == 2
    assert await _total(client, world, absent) == 0
    (entry,) = (await _points(client, world, li))["items"]
    assert entry["reception_id"] == row.id and entry["source"] == f"reception:{row.id}"
    assert entry["reason"] == f"在双塔街道代表联络站接待群众（{row.held_on.isoformat()}）"


async def test_the_relay_delivers_a_reception_that_has_no_case(
    engine: AsyncEngine, app: FastAPI, session: AsyncSession, world: World, client: httpx.AsyncClient
) -> None:
    await ensure_internal_endpoint(session, "supervision", "http://supervision", SUBSCRIBED_EVENTS)
    await reception(session, world, [world.deputy])
    await session.commit()

    async with Relay(engine, get_settings(), transport=HostRouter({"supervision": app})) as relay:
        await relay.fan_out()
        assert await relay.deliver_due() == 1
    assert await _total(client, world, world.deputy) == 2


async def test_the_deputys_rating_of_a_reply_earns_the_author_one(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    case = await suggestion(session, world, world.deputy)
    feedback = await store_feedback(
        session,
        case,
        source="deputy",
        rating=Rating.satisfied,
        comment=None,
        round=0,
        actor=Actor("deputy", world.deputy.id),
    )
    assert await deliver_type(client, session, "case.feedback", case) == "applied"
    # A citizen's rating of a case through the deputy's code is the citizen's, not the deputy's.
    citizen_case = await case_via_code(session, world)
    await store_feedback(
        session,
        citizen_case,
        source="citizen",
        rating=Rating.satisfied,
        comment=None,
        round=0,
        actor=Actor("citizen"),
    )
    assert await deliver_type(client, session, "case.feedback", citizen_case) == "applied"

    assert await _entries(session) == [(world.deputy.id, "rating_given", 1, f"feedback:{feedback.id}")]


async def test_a_follow_up_visit_the_deputy_records_earns_two(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    visits = []
    for _ in range(2):
        case = await case_via_code(session, world)
        case.status = CaseStatus.closed
        case.closed_at = datetime.now(UTC) - timedelta(days=30)
        follow_up = FollowUp(
            jurisdiction_id=world.jurisdiction.id,
            case_id=case.id,
            round=0,
            reason="category",
            due_at=datetime.now(UTC),
        )
        session.add(follow_up)
        await session.flush()
        visits.append((case, follow_up))
    await session.commit()
    result = {"still_solved": True, "note": "已回访，问题未再出现"}
    (by_deputy, by_deputy_follow_up), (by_staff, by_staff_follow_up) = visits
    for follow_up, who in ((by_deputy_follow_up, "deputy"), (by_staff_follow_up, "supervisor")):
        response = await client.post(
            f"/v1/follow-ups/{follow_up.id}/result", json=result, headers=world.auth(who)
        )
        assert response.status_code == 200, response.text
    assert await deliver_type(client, session, "case.follow_up_recorded", by_deputy) == "applied"
    assert await deliver_type(client, session, "case.follow_up_recorded", by_staff) == "applied"

    assert await _entries(session) == [
        (world.deputy.id, "follow_up", 2, f"follow_up:{by_deputy_follow_up.id}")
    ]


async def test_the_same_event_delivered_again_or_replayed_counts_once(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    li = await add_deputy(session, world, "李代表")
    case = await suggestion(session, world, world.deputy, [li])
    submitted = await outbox_row(session, "suggestion.submitted", case)
    await reception(session, world, [world.deputy, li])
    received = await outbox_row(session, "reception.recorded")

    for row in (submitted, received):
        assert await post_event(client, session, row) == "applied"
        # The relay's retry: the inbox knows the message id.
        assert await post_event(client, session, row) == "duplicate"
        # A replay under a new message id passes the inbox; the ledger's unique source holds.
        assert await post_event(client, session, row, fresh_id=True) == "applied"
        # The handler called twice with no inbox at all.
        await handle_directly(session, row)
        await handle_directly(session, row)

    assert len(await _entries(session)) == 4
    assert await _total(client, world, world.deputy) == 3 + 2
    assert await _total(client, world, li) == 1 + 2


async def test_rules_changed_later_leave_old_entries_as_they_were(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    defaults = await client.get("/v1/duty-points/rules", headers=world.auth("admin"))
    assert defaults.status_code == 200
    assert {r["action"]: (r["points"], r["is_default"]) for r in defaults.json()["items"]} == {
        "reception": (2, True),
        "case_raised": (1, True),
        "suggestion_submitted": (3, True),
        "suggestion_cosigned": (1, True),
        "rating_given": (1, True),
        "follow_up": (2, True),
    }
    await reception(session, world, [world.deputy], held_on=date(YEAR, 1, 11))
    assert await deliver_type(client, session, "reception.recorded") == "applied"

    changed = await client.put("/v1/duty-points/rules", json={"reception": 5}, headers=world.auth("admin"))
    assert changed.status_code == 200, changed.text
    rule = next(r for r in changed.json()["items"] if r["action"] == "reception")
    assert (rule["points"], rule["default_points"], rule["is_default"]) == (5, 2, False)
    await reception(session, world, [world.deputy], held_on=date(YEAR, 2, 8))
    assert await deliver_type(client, session, "reception.recorded") == "applied"

    body = await _points(client, world, world.deputy)
    assert [e["points"] for e in body["items"]] == [5, 2]
    assert body["total"] == 7 and _subtotal(body, "reception") == (2, 7)
    # A deputy may read the rules; only an admin sets them.
    assert (await client.get("/v1/duty-points/rules", headers=world.auth("deputy"))).status_code == 200
    for who in ("supervisor", "deputy", "dept:urban_mgmt"):
        response = await client.put("/v1/duty-points/rules", json={"reception": 1}, headers=world.auth(who))
        assert response.status_code == 403


async def test_bad_rules_are_refused_in_chinese(client: httpx.AsyncClient, world: World) -> None:
    for body, field, message in (
        ({"adjustment": 3}, "adjustment", "积分调整没有规则，请通过调整接口逐条记录"),
        ({"nonsense": 1}, "nonsense", "未知的履职事项“nonsense”"),
        ({"reception": 101}, "reception", "积分须在 0 到 100 之间"),
        ({"reception": -1}, "reception", "积分须在 0 到 100 之间"),
        ({}, "body", "请至少设置一项积分规则"),
    ):
        response = await client.put("/v1/duty-points/rules", json=body, headers=world.auth("admin"))
        assert response.status_code == 422, body
        assert response.json()["error"]["details"] == [{"field": field, "message": message}]
    response = await client.put(
        "/v1/duty-points/rules", json={"reception": "many"}, headers=world.auth("admin")
    )
    assert response.status_code == 422


async def test_an_admin_adjusts_with_a_reason_and_never_edits(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    await reception(session, world, [world.deputy])
    assert await deliver_type(client, session, "reception.recorded") == "applied"
    path = f"/v1/deputies/{world.deputy.id}/duty-points/adjustments"

    response = await client.post(
        path, json={"points": -2, "reason": "接待记录重复登记，予以扣除"}, headers=world.auth("admin")
    )
    assert response.status_code == 201, response.text
    entry = response.json()
    assert (entry["action"], entry["points"], entry["created_by_type"]) == ("adjustment", -2, "admin")
    assert entry["reason"] == "接待记录重复登记，予以扣除" and entry["source"].startswith("adjustment:")
    # Two corrections with the same words are two entries.
    again = await client.post(path, json={"points": 1, "reason": "补记"}, headers=world.auth("admin"))
    assert again.status_code == 201 and again.json()["source"] != entry["source"]
    body = await _points(client, world, world.deputy)
    assert body["total"] == 2 - 2 + 1 and _subtotal(body, "adjustment") == (2, -1)

    for bad, field in (
        ({"points": 3}, "reason"),
        ({"points": 3, "reason": "   "}, "reason"),
        ({"points": 0, "reason": "无"}, "points"),
        ({"points": 101, "reason": "太多"}, "points"),
        ({"points": -101, "reason": "太多"}, "points"),
        ({"points": 1, "reason": "以后", "occurred_at": "2099-01-01T00:00:00+08:00"}, "occurred_at"),
        ({"points": 1, "reason": "太早", "occurred_at": "0001-01-01T00:00:00+14:00"}, "occurred_at"),
    ):
        refused = await client.post(path, json=bad, headers=world.auth("admin"))
        assert refused.status_code == 422, bad
        assert [d["field"] for d in refused.json()["error"]["details"]] == [field]
    no_reason = await client.post(path, json={"points": 3}, headers=world.auth("admin"))
    assert no_reason.json()["error"]["details"][0]["message"] == "此项为必填项"
    for who in ("supervisor", "deputy", "dept:urban_mgmt"):
        response = await client.post(path, json={"points": 1, "reason": "试试"}, headers=world.auth(who))
        assert response.status_code == 403
    other = await build_world(session, code="XC", name="相城区")
    await session.commit()
    response = await client.post(
        f"/v1/deputies/{other.deputy.id}/duty-points/adjustments",
        json={"points": 1, "reason": "跨辖区"},
        headers=world.auth("admin"),
    )
    assert response.status_code == 404
    # Entries are never edited or deleted: no route does it.
    paths = (await client.get("/openapi.json")).json()["paths"]
    duty_methods = {m for p, item in paths.items() if "duty-points" in p for m in item}
    assert duty_methods <= {"get", "post", "put"}
    assert set(paths["/v1/deputies/{deputy_id}/duty-points/adjustments"]) == {"post"}
    assert await session.scalar(select(func.count()).select_from(DutyPointEntry)) == 3


async def test_the_ledger_comes_newest_first_in_pages_with_the_years_totals(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    for held_on in (date(YEAR, 1, 11), date(YEAR, 2, 8), date(YEAR, 3, 8)):
        row = await reception(session, world, [world.deputy], held_on=held_on)
        assert await deliver_type(client, session, "reception.recorded") == "applied"
    first = await _points(client, world, world.deputy, limit=2)
    assert [e["reception_id"] for e in first["items"]] == [row.id, row.id - 1]
    assert first["total"] == 6 and first["next_cursor"]
    second = await _points(client, world, world.deputy, limit=2, cursor=first["next_cursor"])
    assert [e["reception_id"] for e in second["items"]] == [row.id - 2]
    assert second["total"] == 6 and second["next_cursor"] is None
    assert second["deputy"] == {
        "id": world.deputy.id,
        "name": "王代表",
        "level": "county",
        "level_label": "区（县）人大代表",
        "active": True,
    }


async def test_the_year_is_counted_in_asia_shanghai(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    # 2026-12-31T17:00Z is 2027-01-01 01:00 in Shanghai; 15:59:59Z is still 2026-12-31 23:59:59.
    await reception(session, world, [world.deputy], at=datetime(2026, 12, 31, 17, 0, tzinfo=UTC))
    assert await deliver_type(client, session, "reception.recorded") == "applied"
    await reception(session, world, [world.deputy], at=datetime(2026, 12, 31, 15, 59, 59, tzinfo=UTC))
    assert await deliver_type(client, session, "reception.recorded") == "applied"
    adjusted = await client.post(
        f"/v1/deputies/{world.deputy.id}/duty-points/adjustments",
        json={"points": 4, "reason": "年初补记", "occurred_at": "2026-01-01T00:00:00+08:00"},
        headers=world.auth("admin"),
    )
    assert adjusted.status_code == 201

    assert await _total(client, world, world.deputy, 2027) == 2
    assert await _total(client, world, world.deputy, 2026) == 2 + 4
    assert await _total(client, world, world.deputy, 2025) == 0
    (entry,) = (await _points(client, world, world.deputy, 2027))["items"]
    assert entry["occurred_at"].startswith("2026-12-31T17:00:00")


async def test_the_year_must_be_between_2000_and_2100(client: httpx.AsyncClient, world: World) -> None:
    for year in ("1999", "2101", "去年"):
        for path in (
            f"/v1/deputies/{world.deputy.id}/duty-points",
            f"/v1/deputies/{world.deputy.id}/record",
            "/v1/duty-points/ranking",
            "/v1/duty-points/ranking.csv",
        ):
            response = await client.get(path, params={"year": year}, headers=world.auth("admin"))
            assert response.status_code == 422, (path, year)
            (detail,) = response.json()["error"]["details"]
            assert detail["field"] == "year" and detail["message"] in ("数值太小", "数值太大", "应为整数")
    # No year: the current one in Shanghai.
    response = await client.get(f"/v1/deputies/{world.deputy.id}/duty-points", headers=world.auth("deputy"))
    assert response.status_code == 200 and response.json()["year"] == YEAR
