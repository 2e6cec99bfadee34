"""Reception records: who may record one, the cases of that day linked and no others, validation, the
reception.recorded event without personal data, listings and the CSV export."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from shared.db.models import Case, OutboxEvent, Reception
from tests.factories import build_world
from tests.intake_api.conftest import PHONE, case_by_tracking_no, submit

SHANGHAI = ZoneInfo("Asia/Shanghai")
HELD_ON = date(2026, 11, 8)


async def _case_at(client, session, token: str, at: datetime, **fields) -> Case:
    """A citizen's case through a code, dated ``at`` (as if submitted then)."""
    response = await submit(client, token, **fields)
    assert response.status_code == 201, response.text
    case = await case_by_tracking_no(session, response.json()["tracking_no"])
    await session.execute(update(Case).where(Case.id == case.id).values(created_at=at))
    await session.commit()
    return case


def _local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


async def _record(client, world, who: str = "admin", station_id: int | None = None, **body):
    payload = {
        "held_on": HELD_ON.isoformat(),
        "deputy_ids": [world.deputy.id],
        "citizens_received": 12,
        **body,
    }
    return await client.post(
        f"/v1/stations/{station_id or world.station.id}/receptions", json=payload, headers=world.auth(who)
    )


async def test_that_days_cases_through_the_station_are_linked_and_no_others(client, world, session):
    station_token, deputy_token = world.station_code.token, world.deputy_code.token
    morning = await _case_at(client, session, station_token, _local(HELD_ON, 9, 30))
    via_deputy = await _case_at(client, session, deputy_token, _local(HELD_ON, 10, 5))
    late = await _case_at(client, session, station_token, _local(HELD_ON, 23, 59))
    # Beijing's day, not UTC's: 00:30 on the 8th is still the 7th in UTC, and counts.
    early = await _case_at(client, session, station_token, _local(HELD_ON, 0, 30))
    day_before = await _case_at(client, session, station_token, _local(HELD_ON - timedelta(days=1), 23, 59))
    day_after = await _case_at(client, session, station_token, _local(HELD_ON + timedelta(days=1), 0, 0))
    other_station = await client.post(
        "/v1/stations", json={"name": "平江代表联络站"}, headers=world.auth("admin")
    )
    code = await client.post(
        "/v1/intake-codes",
        json={"owner_type": "station", "owner_id": other_station.json()["id"]},
        headers=world.auth("admin"),
    )
    elsewhere = await _case_at(client, session, code.json()["token"], _local(HELD_ON, 10))
    # One more the deputy carried in by hand, from another day.
    listed = day_before

    response = await _record(client, world, answered_on_spot=5, case_ids=[listed.id], note="加装电梯、停车难")
    assert response.status_code == 201, response.text
    body = response.json()
    linked = {c["id"] for c in body["cases"]}
    assert linked == {morning.id, via_deputy.id, late.id, early.id, listed.id}
    assert day_after.id not in linked and elsewhere.id not in linked
    assert {c["tracking_no"] for c in body["cases"]} >= {morning.tracking_no}
    assert body["deputies"] == [
        {"id": world.deputy.id, "name": "王代表", "level": "county", "level_label": "区（县）人大代表"}
    ]
    assert (body["held_on"], body["citizens_received"], body["answered_on_spot"]) == ("2026-11-08", 12, 5)
    assert body["station_name"] == "双塔街道代表联络站" and body["recorded_by"]["type"] == "admin"


async def test_the_event_carries_ids_and_counts_and_nothing_personal(client, world, session):
    case = await _case_at(
        client,
        session,
        world.station_code.token,
        _local(HELD_ON, 9),
        submitter_name="张三丰",
        submitter_phone=PHONE,
    )
    response = await _record(client, world, answered_on_spot=3, note=f"张三丰 {PHONE} 反映噪声")
    assert response.status_code == 201
    reception_id = response.json()["id"]
    (event,) = (
        await session.execute(select(OutboxEvent).where(OutboxEvent.type == "reception.recorded"))
    ).scalars()
    assert event.case_id is None and event.jurisdiction_id == world.jurisdiction.id
    assert event.payload == {
        "reception_id": reception_id,
        "station_id": world.station.id,
        "jurisdiction": "GS",
        "held_on": "2026-11-08",
        "deputy_ids": [world.deputy.id],
        "citizens_received": 12,
        "answered_on_spot": 3,
        "case_ids": [case.id],
    }
    text = json.dumps(event.payload, ensure_ascii=False)
    assert "张三丰" not in text and PHONE not in text and "反映噪声" not in text


async def test_a_deputy_records_only_a_reception_they_were_at(client, world):
    li = await client.post(
        "/v1/deputies", json={"name": "李代表", "level": "city"}, headers=world.auth("admin")
    )
    absent = await _record(client, world, who="deputy", deputy_ids=[li.json()["id"]])
    assert absent.status_code == 403
    assert absent.json()["error"]["message"] == "代表只能登记本人参加的接待，请在接待代表中包含本人"
    present = await _record(client, world, who="deputy", deputy_ids=[li.json()["id"], world.deputy.id])
    assert present.status_code == 201 and present.json()["recorded_by"]["type"] == "deputy"
    assert [d["name"] for d in present.json()["deputies"]] == ["王代表", "李代表"]
    assert (await _record(client, world, who="supervisor")).status_code == 201
    for who in ("dispatcher", "integrator", "dept:urban_mgmt"):
        assert (await _record(client, world, who=who)).status_code == 403, who


async def test_bad_receptions_are_refused_in_chinese(client, world, session):
    other = await build_world(session, code="XC", name="相城区")
    await session.commit()
    foreign_case = await _case_at(client, session, other.station_code.token, _local(HELD_ON, 9))
    tomorrow = (datetime.now(UTC).astimezone(SHANGHAI) + timedelta(days=1)).date().isoformat()

    future = await _record(client, world, held_on=tomorrow)
    assert future.status_code == 422
    assert future.json()["error"]["details"] == [{"field": "held_on", "message": "接待日期不能晚于今天"}]

    strangers = await _record(
        client, world, deputy_ids=[world.deputy.id, other.deputy.id], case_ids=[foreign_case.id]
    )
    assert strangers.status_code == 422
    assert strangers.json()["error"]["details"] == [
        {"field": "deputy_ids", "message": f"代表不存在或不属于本辖区：{other.deputy.id}"},
        {"field": "case_ids", "message": f"受理事项不存在或不属于本辖区：{foreign_case.id}"},
    ]
    for body, field in (
        ({"deputy_ids": []}, "deputy_ids"),
        ({"citizens_received": -1}, "citizens_received"),
        ({"answered_on_spot": -2}, "answered_on_spot"),
        ({"held_on": "2026-13-01"}, "held_on"),
    ):
        response = await _record(client, world, **body)
        assert response.status_code == 422, body
        assert response.json()["error"]["details"][0]["field"] == field
    # Another jurisdiction's station is not there.
    assert (await _record(client, world, station_id=other.station.id)).status_code == 404
    assert (await session.execute(select(Reception.id))).first() is None


async def test_listings_filter_and_page_newest_first(client, world, session):
    li = (
        await client.post(
            "/v1/deputies", json={"name": "李代表", "level": "city"}, headers=world.auth("admin")
        )
    ).json()
    ids = []
    for held_on, deputies in (
        ("2026-10-11", [world.deputy.id]),
        ("2026-11-08", [li["id"]]),
        ("2026-11-08", [world.deputy.id, li["id"]]),
    ):
        response = await _record(client, world, held_on=held_on, deputy_ids=deputies)
        ids.append(response.json()["id"])
    other = await build_world(session, code="XC", name="相城区")
    await session.commit()
    other_reception = await _record(client, other, deputy_ids=[other.deputy.id], station_id=other.station.id)
    assert other_reception.status_code == 201

    supervisor = world.auth("supervisor")
    first = await client.get(
        f"/v1/stations/{world.station.id}/receptions", params={"limit": 2}, headers=supervisor
    )
    assert [r["id"] for r in first.json()["items"]] == [ids[2], ids[1]]
    second = await client.get(
        f"/v1/stations/{world.station.id}/receptions",
        params={"limit": 2, "cursor": first.json()["next_cursor"]},
        headers=supervisor,
    )
    assert [r["id"] for r in second.json()["items"]] == [ids[0]] and second.json()["next_cursor"] is None

    async def listed(**params) -> list[int]:
        response = await client.get("/v1/receptions", params=params, headers=world.auth("dispatcher"))
        assert response.status_code == 200, response.text
        return [r["id"] for r in response.json()["items"]]

    assert await listed() == [ids[2], ids[1], ids[0]]  # never the other jurisdiction's
    assert await listed(deputy_id=world.deputy.id) == [ids[2], ids[0]]
    assert await listed(**{"from": "2026-11-01"}) == [ids[2], ids[1]]
    assert await listed(to="2026-10-31", station_id=world.station.id) == [ids[0]]
    assert await listed(station_id=other.station.id) == []
    foreign = await client.get(f"/v1/stations/{other.station.id}/receptions", headers=supervisor)
    assert foreign.status_code == 404
    assert (await client.get("/v1/receptions", headers=world.auth("dept:urban_mgmt"))).status_code == 403


async def test_the_csv_has_a_bom_chinese_headers_and_safe_cells(client, world, session):
    case = await _case_at(client, session, world.station_code.token, _local(HELD_ON, 9))
    await _record(client, world, answered_on_spot=4, note='=HYPERLINK("x")，群众反映停车难')
    await _record(client, world, held_on="2026-10-11", citizens_received=3)
    other = await build_world(session, code="XC", name="相城区")
    await session.commit()
    await _record(client, other, deputy_ids=[other.deputy.id], station_id=other.station.id)

    response = await client.get("/v1/receptions.csv", headers=world.auth("supervisor"))
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert 'filename="receptions.csv"' in response.headers["content-disposition"]
    raw = response.content
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == [
        "日期",
        "联络站",
        "接待代表",
        "接待群众人数",
        "现场提出问题数",
        "当场答复数",
        "备注",
        "关联受理编号",
    ]
    assert rows[1:] == [
        ["2026-10-11", "双塔街道代表联络站", "王代表", "3", "0", "0", "", ""],
        [
            "2026-11-08",
            "双塔街道代表联络站",
            "王代表",
            "12",
            "1",
            "4",
            '\'=HYPERLINK("x")，群众反映停车难',
            case.tracking_no,
        ],
    ]
    one_station = await client.get(
        f"/v1/stations/{world.station.id}/receptions.csv",
        params={"from": "2026-11-01"},
        headers=world.auth("admin"),
    )
    assert [r[0] for r in csv.reader(io.StringIO(one_station.content.decode("utf-8-sig")))] == [
        "日期",
        "2026-11-08",
    ]
    assert (
        await client.get(f"/v1/stations/{other.station.id}/receptions.csv", headers=world.auth("admin"))
    ).status_code == 404
