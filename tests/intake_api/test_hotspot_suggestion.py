"""Turning a hot spot into a deputy suggestion (POST /v1/hotspots/{id}/suggestion): who may, the suggestion and
its links, 409 once converted, two conversions at once, and the citizens' pages before and after the reply."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import func, insert, select, update

from services.supervision.hotspots.detect import detect
from shared.db.engine import session_factory
from shared.db.models import (
    Case,
    Deputy,
    Grid,
    Hotspot,
    OutboxEvent,
    Station,
    SuggestionSource,
    deputy_stations,
    station_grids,
)
from tests.factories import World, add_deputy, build_world
from tests.intake_api.conftest import NAME, PHONE, case_by_tracking_no, make_replied, submit

TITLE = "关于平江路垃圾清运的建议"


async def _hotspot(client, session, world: World, n: int = 5, **fields: object) -> tuple[Hotspot, list[dict]]:
    """n citizens' cases through the station's code in grid G1 (市容环卫), detected as a hot spot; the
    receipts (tracking number and access key) in the order submitted."""
    receipts = []
    for _ in range(n):
        response = await submit(
            client,
            world.station_code.token,
            category_code="urban.sanitation",
            submitter_name=NAME,
            submitter_phone=PHONE,
            **fields,
        )
        assert response.status_code == 201, response.text
        receipts.append(response.json())
    await detect(session, world.jurisdiction.id, datetime.now(UTC))
    await session.commit()
    hotspot = (await session.execute(select(Hotspot).order_by(Hotspot.id.desc()).limit(1))).scalar_one()
    return hotspot, receipts


async def _refreshed(session, hotspot_id: int) -> Hotspot:
    query = select(Hotspot).where(Hotspot.id == hotspot_id).execution_options(populate_existing=True)
    return (await session.execute(query)).scalar_one()


async def _convert(client, hotspot_id: int, auth: dict[str, str], **body: object):
    return await client.post(
        f"/v1/hotspots/{hotspot_id}/suggestion", json={"title": TITLE, **body}, headers=auth
    )


async def _sources(session) -> list[SuggestionSource]:
    query = select(SuggestionSource).order_by(SuggestionSource.case_id)
    return list((await session.execute(query)).scalars())


async def test_a_deputy_of_the_grid_turns_a_hot_spot_into_a_suggestion(client, session, world):
    hotspot, receipts = await _hotspot(client, session, world, 6)
    cases = [await case_by_tracking_no(session, r["tracking_no"]) for r in receipts]
    # A case rejected since (spam, out of scope) is no evidence.
    await session.execute(update(Case).where(Case.id == cases[2].id).values(status="rejected"))
    await session.commit()
    evidence = [c.id for c in cases if c.id != cases[2].id]

    response = await _convert(client, hotspot.id, world.auth("deputy"))
    assert response.status_code == 201, response.text
    out = response.json()
    assert out["hotspot_id"] == hotspot.id and out["deputy_id"] == world.deputy.id
    assert out["source_case_ids"] == evidence and out["access_key"] and out["track_url"]

    suggestion = await case_by_tracking_no(session, out["tracking_no"])
    assert (suggestion.kind, suggestion.deputy_id, suggestion.title) == (
        "deputy_suggestion",
        world.deputy.id,
        TITLE,
    )
    assert suggestion.grid_id == world.grids["G1"].id
    assert suggestion.category_id == world.categories["urban.sanitation"].id  # the cases' common category
    assert suggestion.description.startswith("5 位群众反映：")
    assert "G1网格" in suggestion.description and "市容环卫 5 件" in suggestion.description
    assert NAME not in suggestion.description and PHONE not in suggestion.description
    assert "平江路垃圾桶" not in suggestion.description  # nobody's own text

    sources = await _sources(session)
    assert [(s.suggestion_id, s.case_id, s.kind) for s in sources] == [
        (suggestion.id, c, "hotspot") for c in evidence
    ]
    converted = await _refreshed(session, hotspot.id)
    assert (converted.status, converted.suggestion_id) == ("converted", suggestion.id)
    assert converted.converted_at is not None
    types = (
        await session.execute(select(OutboxEvent.type).where(OutboxEvent.case_id == suggestion.id))
    ).scalars()
    assert set(types) == {"case.received", "suggestion.submitted"}

    # Listed on supervision_api with the suggestion is the dashboard's business; here: a second try is 409.
    again = await _convert(client, hotspot.id, world.auth("deputy"))
    assert again.status_code == 409
    error = again.json()["error"]
    assert error["code"] == "hotspot_not_open" and "不能重复转办" in error["message"]
    assert error["details"][0]["suggestion_id"] == suggestion.id
    assert await session.scalar(select(func.count()).select_from(SuggestionSource)) == len(evidence)


async def test_who_may_convert(client, session, world):
    # A station serving only G3, with its own deputy: the G1 hot spot is not theirs.
    grid = Grid(jurisdiction_id=world.jurisdiction.id, code="GS-G3", name="G3网格")
    station = Station(jurisdiction_id=world.jurisdiction.id, name="观前街道代表联络站", kind="station")
    session.add_all([grid, station])
    await session.flush()
    await session.execute(insert(station_grids).values(station_id=station.id, grid_id=grid.id))
    far = await add_deputy(session, world, "赵代表", key="deputy:far")
    await session.execute(insert(deputy_stations).values(deputy_id=far.id, station_id=station.id))
    retired = await add_deputy(session, world, "钱代表")
    retired.active = False
    other = await build_world(session, code="XC", name="相城区")
    await session.commit()
    hotspot, _ = await _hotspot(client, session, world)

    response = await _convert(client, hotspot.id, world.auth("deputy:far"))
    assert response.status_code == 404 and response.json()["error"]["code"] == "hotspot_not_found"
    assert (
        await _convert(client, hotspot.id, other.auth("supervisor"), deputy_id=other.deputy.id)
    ).status_code == 404
    for role in ("admin", "dispatcher", "integrator", "dept:urban_mgmt"):
        assert (await _convert(client, hotspot.id, world.auth(role))).status_code == 403, role
    assert (await _convert(client, hotspot.id, {})).status_code == 401

    # A supervisor names the author: required, of the jurisdiction, active.
    staff = world.auth("supervisor")
    for body, message in (
        ({}, "请指定提出建议的代表"),
        ({"deputy_id": other.deputy.id}, "代表不存在或已停用"),
        ({"deputy_id": retired.id}, "代表不存在或已停用"),
    ):
        response = await _convert(client, hotspot.id, staff, **body)
        assert response.status_code == 422, body
        assert response.json()["error"]["details"] == [{"field": "deputy_id", "message": message}]
    # A deputy writes in their own name only.
    response = await _convert(client, hotspot.id, world.auth("deputy"), deputy_id=far.id)
    assert response.status_code == 422
    assert (await _refreshed(session, hotspot.id)).status == "open"
    assert await session.scalar(select(func.count()).select_from(SuggestionSource)) == 0

    response = await _convert(
        client,
        hotspot.id,
        staff,
        deputy_id=far.id,
        description="建议对平江路垃圾清运问题统筹解决",
        cosigner_ids=[world.deputy.id],
    )
    assert response.status_code == 201, response.text
    suggestion = await case_by_tracking_no(session, response.json()["tracking_no"])
    assert suggestion.deputy_id == far.id and suggestion.description == "建议对平江路垃圾清运问题统筹解决"
    assert response.json()["deputy_id"] == far.id


async def test_only_an_open_hot_spot_converts(client, session, world):
    hotspot, _ = await _hotspot(client, session, world)
    await session.execute(update(Hotspot).where(Hotspot.id == hotspot.id).values(status="closed"))
    await session.commit()
    response = await _convert(client, hotspot.id, world.auth("deputy"))
    assert response.status_code == 409
    assert response.json()["error"]["message"] == "该热点当前为“已平息”，只有持续反映中的热点可以形成代表建议"
    assert (
        await session.scalar(select(func.count()).select_from(Case).where(Case.kind == "deputy_suggestion"))
        == 0
    )


async def test_two_conversions_at_once_make_one_suggestion(client, session, world, engine):
    hotspot, _ = await _hotspot(client, session, world)
    # Hold the hot spot's row so both requests reach it before either can take it.
    async with session_factory(engine)() as holder, holder.begin():
        await holder.execute(select(Hotspot).where(Hotspot.id == hotspot.id).with_for_update())
        first = asyncio.create_task(_convert(client, hotspot.id, world.auth("deputy")))
        second = asyncio.create_task(
            _convert(client, hotspot.id, world.auth("supervisor"), deputy_id=world.deputy.id)
        )
        await asyncio.sleep(0.5)
        assert not first.done() and not second.done()
    responses = await asyncio.gather(first, second)
    assert sorted(r.status_code for r in responses) == [201, 409]
    count = await session.scalar(
        select(func.count()).select_from(Case).where(Case.kind == "deputy_suggestion")
    )
    assert count == 1
    assert await session.scalar(select(func.count()).select_from(SuggestionSource)) == 5


async def test_each_citizens_page_tells_of_the_suggestion_and_then_its_reply(client, session, world):
    deputy = await session.get(Deputy, world.deputy.id)
    assert deputy is not None
    deputy.name = "王明"
    await session.commit()
    hotspot, receipts = await _hotspot(client, session, world)
    outsider = (await submit(client, world.station_code.token, grid_code="GS-G2")).json()
    out = (await _convert(client, hotspot.id, world.auth("deputy"))).json()
    note = "您反映的问题与另外 4 位群众反映的问题一并形成代表建议"

    for receipt in receipts:
        number, key = receipt["tracking_no"], receipt["access_key"]
        view = (await client.get(f"/v1/public/cases/{number}", params={"k": key})).json()
        linked = view["hotspot_suggestion"]
        assert linked["kind"] == "hotspot" and linked["note"] == note and linked["neighbours"] == 4
        assert linked["suggestion_tracking_no"] == out["tracking_no"] and linked["replies"] == []
        assert linked["deputy_name"] == "王明" and view["adoption"] is None
        page = await client.get(f"/t/{number}", params={"k": key})
        assert page.status_code == 200 and note in page.text and "代表建议正在办理" in page.text
        # Nothing of the neighbours: neither their numbers nor their name and phone.
        others = [r["tracking_no"] for r in receipts if r is not receipt]
        assert not any(o in page.text or o in str(view) for o in others)
        assert NAME not in page.text and "5678" not in page.text

    await make_replied(session, world, out["tracking_no"], text="已增设两处分类投放点并每日清运两次")
    for receipt in receipts:
        number, key = receipt["tracking_no"], receipt["access_key"]
        view = (await client.get(f"/v1/public/cases/{number}", params={"k": key})).json()
        (reply,) = view["hotspot_suggestion"]["replies"]
        assert reply["text"] == "已增设两处分类投放点并每日清运两次" and reply["reply_class"] == "A"
        assert view["hotspot_suggestion"]["suggestion_status"] == "replied"
        assert view["replies"] == []  # the citizen's own case keeps its own handling
        page = await client.get(f"/t/{number}", params={"k": key})
        assert "代表建议的答复" in page.text and "已增设两处分类投放点并每日清运两次" in page.text
        assert "代表建议正在办理" not in page.text

    plain = (
        await client.get(f"/v1/public/cases/{outsider['tracking_no']}", params={"k": outsider["access_key"]})
    ).json()
    assert plain["hotspot_suggestion"] is None
    page = await client.get(f"/t/{outsider['tracking_no']}", params={"k": outsider["access_key"]})
    assert "人大代表建议" not in page.text
