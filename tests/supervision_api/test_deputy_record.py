"""The duty-point ranking (JSON and CSV), the deputy's file (一人一档), and who may read which deputy's."""

from __future__ import annotations

from datetime import UTC, date, datetime

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from services.workflow import Actor
from services.workflow.service import store_feedback
from shared.calendar import SHANGHAI
from shared.db.enums import CaseStatus, Rating
from shared.db.models import Reply
from tests.factories import World, add_key, build_world
from tests.supervision_api.arrange import accept, assignment_of, reply
from tests.supervision_api.duty_arrange import (
    add_deputy,
    case_via_code,
    deliver_type,
    reception,
    suggestion,
)

YEAR = datetime.now(SHANGHAI).year
CSV_HEAD = "排名,代表,层级,总积分,参加接待,代表码反映问题,提出建议,联名建议,评价答复,回头看,积分调整"


async def _adjust(client: httpx.AsyncClient, world: World, deputy_id: int, points: int) -> None:
    response = await client.post(
        f"/v1/deputies/{deputy_id}/duty-points/adjustments",
        json={"points": points, "reason": "年度考评调整"},
        headers=world.auth("admin"),
    )
    assert response.status_code == 201, response.text


async def test_the_ranking_lists_every_active_deputy_and_ties_share_a_rank(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    li = await add_deputy(session, world, "李代表", level="township")
    zhang = await add_deputy(session, world, "张代表")
    zhao = await add_deputy(session, world, "赵代表")
    retired = await add_deputy(session, world, "钱代表", active=False)
    await suggestion(session, world, world.deputy, [zhang])  # 王 3, 张 1
    assert await deliver_type(client, session, "suggestion.submitted") == "applied"
    await _adjust(client, world, li.id, 3)
    await _adjust(client, world, retired.id, 10)

    response = await client.get(
        "/v1/duty-points/ranking", params={"year": YEAR}, headers=world.auth("supervisor")
    )
    assert response.status_code == 200, response.text
    ranking = response.json()
    assert ranking["year"] == YEAR
    assert [(r["rank"], r["name"], r["total"]) for r in ranking["items"]] == [
        (1, "李代表", 3),
        (1, "王代表", 3),
        (3, "张代表", 1),
        (4, "赵代表", 0),
    ]
    wang = ranking["items"][1]
    assert wang["deputy_id"] == world.deputy.id and wang["level_label"] == "区（县）人大代表"
    counts = {a["action"]: (a["count"], a["points"]) for a in wang["actions"]}
    assert counts["suggestion_submitted"] == (1, 3) and counts["reception"] == (0, 0)
    assert zhao.id == ranking["items"][3]["deputy_id"]

    csv_response = await client.get(
        "/v1/duty-points/ranking.csv", params={"year": YEAR}, headers=world.auth("admin")
    )
    assert csv_response.status_code == 200
    assert csv_response.headers["content-type"].startswith("text/csv")
    assert csv_response.content.startswith(b"\xef\xbb\xbf")
    lines = csv_response.content.decode("utf-8-sig").split("\r\n")
    assert lines[0] == CSV_HEAD
    assert lines[1] == "1,李代表,乡镇（街道）人大代表,3,0,0,0,0,0,0,3"
    assert lines[2] == "1,王代表,区（县）人大代表,3,0,0,3,0,0,0,0"
    assert lines[3] == "3,张代表,区（县）人大代表,1,0,0,0,1,0,0,0"
    assert lines[4:] == ["4,赵代表,区（县）人大代表,0,0,0,0,0,0,0,0", ""]

    # Another year has no points: everyone shares rank 1.
    other_year = await client.get(
        "/v1/duty-points/ranking", params={"year": 2001}, headers=world.auth("admin")
    )
    assert {(r["rank"], r["total"]) for r in other_year.json()["items"]} == {(1, 0)}
    for who in ("deputy", "dept:urban_mgmt", "dispatcher", "integrator"):
        for path in ("/v1/duty-points/ranking", "/v1/duty-points/ranking.csv"):
            assert (await client.get(path, headers=world.auth(who))).status_code == 403, (who, path)


async def test_a_deputy_reads_only_their_own_points_and_file(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    li = await add_deputy(session, world, "李代表")
    other = await build_world(session, code="XC", name="相城区")
    await session.commit()
    own, theirs = f"/v1/deputies/{world.deputy.id}", f"/v1/deputies/{li.id}"
    for tail in ("/duty-points", "/record"):
        assert (await client.get(own + tail, headers=world.auth("deputy"))).status_code == 200
        assert (await client.get(theirs + tail, headers=world.auth("deputy:李代表"))).status_code == 200
        missing = await client.get(theirs + tail, headers=world.auth("deputy"))
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "deputy_not_found"
        for who in ("admin", "supervisor"):
            assert (await client.get(theirs + tail, headers=world.auth(who))).status_code == 200
        # Another jurisdiction's deputy is not found, whoever asks.
        for who in ("admin", "supervisor", "deputy"):
            foreign = await client.get(f"/v1/deputies/{other.deputy.id}{tail}", headers=world.auth(who))
            assert foreign.status_code == 404
        # The same id read by XC's own deputy works: the scoping is by key, not by id.
        assert (
            await client.get(f"/v1/deputies/{other.deputy.id}{tail}", headers=other.auth("deputy"))
        ).status_code == 200
        for who in ("dept:urban_mgmt", "dispatcher", "integrator"):
            assert (await client.get(own + tail, headers=world.auth(who))).status_code == 403
        assert (await client.get(own + tail)).status_code == 401


async def test_the_deputys_file_gathers_receptions_cases_suggestions_and_points(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    li = await add_deputy(session, world, "李代表")
    # Receptions: one attended (6 citizens), one the deputy was not at.
    attended = await reception(session, world, [world.deputy, li], held_on=date(YEAR, 1, 11), citizens=6)
    assert await deliver_type(client, session, "reception.recorded") == "applied"
    await reception(session, world, [li], held_on=date(YEAR, 2, 8), citizens=9)
    assert await deliver_type(client, session, "reception.recorded") == "applied"
    # Three citizens' cases through the deputy's code: rated (dissatisfied, then satisfied), closed unrated,
    # still received.
    rated, unrated, waiting = [await case_via_code(session, world) for _ in range(3)]
    for case in (rated, unrated, waiting):
        assert await deliver_type(client, session, "case.received", case) == "applied"
    citizen = Actor("citizen")
    for round_, rating in ((0, Rating.dissatisfied), (1, Rating.satisfied)):
        await store_feedback(
            session, rated, source="citizen", rating=rating, comment=None, round=round_, actor=citizen
        )
    now = datetime.now(UTC)
    rated.status, rated.replied_at, rated.close_reason = CaseStatus.closed, now, "rated"
    unrated.status, unrated.replied_at, unrated.close_reason = CaseStatus.closed, now, "unrated"
    # The deputy's suggestion, replied A by the lead and C by a separate unit, rated basically satisfied; and
    # one co-signed with 李代表 as its author.
    own = await suggestion(
        session,
        world,
        world.deputy,
        dispatched=True,
    )
    assert await deliver_type(client, session, "suggestion.submitted", own) == "applied"
    lead = await assignment_of(session, own, world.departments["urban_mgmt"].id)
    await accept(session, own, lead)
    await reply(session, own, lead)
    session.add(
        Reply(
            jurisdiction_id=own.jurisdiction_id,
            case_id=own.id,
            assignment_id=lead.id,
            department_id=lead.department_id,
            reply_class="C",
            text="部分路段需待改造后解决",
            round=0,
        )
    )
    await store_feedback(
        session,
        own,
        source="deputy",
        rating=Rating.basically_satisfied,
        comment=None,
        round=0,
        actor=Actor("deputy", world.deputy.id),
    )
    assert await deliver_type(client, session, "case.feedback", own) == "applied"
    cosigned = await suggestion(session, world, li, [world.deputy])
    assert await deliver_type(client, session, "suggestion.submitted", cosigned) == "applied"

    response = await client.get(
        f"/v1/deputies/{world.deputy.id}/record", params={"year": YEAR}, headers=world.auth("deputy")
    )
    assert response.status_code == 200, response.text
    record = response.json()
    assert record["deputy"]["name"] == "王代表" and record["year"] == YEAR
    # reception 2 + three cases 3 + suggestion 3 + rating 1 + co-signed 1
    assert record["points"] == 10
    actions = {a["action"]: a["count"] for a in record["point_actions"]}
    assert actions["case_raised"] == 3 and actions["suggestion_cosigned"] == 1
    assert record["receptions"]["count"] == 1 and record["receptions"]["citizens_received"] == 6
    (line,) = record["receptions"]["items"]
    assert line["reception_id"] == attended.id and line["station_name"] == "双塔街道代表联络站"
    assert line["held_on"] == f"{YEAR}-01-11"
    assert record["code_cases"] == {
        "total": 3,
        "by_status": {"closed": 2, "received": 1},
        "replied": 2,
        "closed": 2,
        "rated": 1,
        "ratings": {"satisfied": 1, "basically_satisfied": 0, "dissatisfied": 0},
        "unrated": 1,
        "satisfaction_rate": 1.0,
    }
    suggestions = record["suggestions"]
    assert (suggestions["authored"], suggestions["cosigned"]) == (1, 1)
    assert suggestions["reply_classes"] == {"A": 1, "B": 0, "C": 1, "D": 0}
    assert suggestions["ratings"] == {"satisfied": 0, "basically_satisfied": 1, "dissatisfied": 0}
    by_case = {s["case_id"]: s for s in suggestions["items"]}
    assert by_case[own.id]["role"] == "author" and by_case[own.id]["status"] == "replied"
    assert (
        by_case[own.id]["reply_classes"] == ["A", "C"] and by_case[own.id]["rating"] == "basically_satisfied"
    )
    assert by_case[cosigned.id]["role"] == "cosigner" and by_case[cosigned.id]["reply_classes"] == []
    assert by_case[cosigned.id]["status_label"] == "已受理"
    # Nothing of a citizen's person or text is in the file.
    assert "平江路垃圾桶" not in response.text

    # 李代表's file knows both receptions and the suggestion they wrote.
    theirs = (
        await client.get(f"/v1/deputies/{li.id}/record", params={"year": YEAR}, headers=world.auth("admin"))
    ).json()
    assert theirs["receptions"]["count"] == 2 and theirs["receptions"]["citizens_received"] == 15
    assert (theirs["suggestions"]["authored"], theirs["suggestions"]["cosigned"]) == (1, 0)
    assert theirs["points"] == 2 + 2 + 3
    # Another year's file is empty.
    empty = (
        await client.get(
            f"/v1/deputies/{world.deputy.id}/record", params={"year": 2001}, headers=world.auth("admin")
        )
    ).json()
    assert empty["points"] == 0 and empty["code_cases"]["total"] == 0 and empty["suggestions"]["items"] == []
    assert empty["code_cases"]["satisfaction_rate"] is None


async def test_a_deputy_key_of_another_jurisdiction_cannot_reach_ours(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    other = await build_world(session, code="XC", name="相城区")
    # A deputy key naming our deputy but issued in XC (a misissued key) still sees only XC's deputies.
    odd = await add_key(session, other.jurisdiction.id, "deputy", deputy_id=world.deputy.id)
    await session.commit()
    response = await client.get(
        f"/v1/deputies/{world.deputy.id}/record", headers={"Authorization": f"Bearer {odd}"}
    )
    assert response.status_code == 404
