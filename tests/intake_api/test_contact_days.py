"""Contact days: the default and the jurisdiction's rule, a station's own over it, statutory holidays
(postpone, skip, keep; from the national data and from the jurisdiction's own calendar), dates added and
cancelled, the roster and its checks, scoping between jurisdictions, the poster."""

from __future__ import annotations

import shutil
from datetime import date

import pytest

from services.intake import posters
from services.intake.contact.holidays import national_holiday_name
from services.intake.contact.rules import DEFAULT_RULE, Reason, Rule, nth_weekday, rule_days
from shared.db.models import CalendarOverride, Deputy
from tests.factories import build_world

FIRST_SUNDAY = {"nth": 1, "weekday": 6, "starts_at": "09:00", "ends_at": "11:30", "on_holiday": "postpone"}


def _days(body: dict) -> list[str]:
    return [item["day"] for item in body["items"]]


async def _schedule(client, world, station_id: int, start: str, end: str, who: str = "admin") -> dict:
    response = await client.get(
        f"/v1/stations/{station_id}/schedule", params={"from": start, "to": end}, headers=world.auth(who)
    )
    assert response.status_code == 200, response.text
    return response.json()


# The rule, pure -------------------------------------------------------------------------------------------


def test_nth_weekday_and_the_last_one():
    assert nth_weekday(2026, 10, 2, 6) == date(2026, 10, 11)
    assert nth_weekday(2026, 11, 2, 6) == date(2026, 11, 8)
    assert nth_weekday(2026, 11, -1, 6) == date(2026, 11, 29)
    assert nth_weekday(2026, 2, 4, 0) == date(2026, 2, 23)


def test_the_national_calendar_names_the_holidays_in_chinese():
    assert national_holiday_name(date(2026, 10, 4)) == "国庆节"  # a Sunday inside National Day
    assert national_holiday_name(date(2026, 2, 22)) == "春节"
    assert national_holiday_name(date(2026, 4, 5)) == "清明节"
    assert national_holiday_name(date(2026, 10, 11)) is None  # an ordinary Sunday
    assert national_holiday_name(date(2026, 10, 10)) is None  # a make-up working Saturday
    assert national_holiday_name(date(2031, 10, 1)) is None  # a year the package does not know


def test_a_holiday_that_outlasts_a_week_postpones_twice():
    # The 3rd Sunday of February 2026 (the 15th) and the next one (the 22nd) are both Spring Festival.
    rule = Rule(3, 6, DEFAULT_RULE.starts_at, DEFAULT_RULE.ends_at, "postpone")
    days = rule_days(rule, date(2026, 2, 1), date(2026, 3, 31), national_holiday_name)
    assert [(d.day, d.reason, d.postponed_from, d.holiday) for d in days] == [
        (date(2026, 3, 1), Reason.postponed, date(2026, 2, 15), "春节"),
        (date(2026, 3, 15), Reason.rule, None, None),
    ]


# Through the API --------------------------------------------------------------------------------------------


async def test_the_default_is_the_second_sunday_postponed_off_spring_festival(client, world):
    admin = world.auth("admin")
    rule = (await client.get("/v1/contact-schedule", headers=admin)).json()
    assert (rule["source"], rule["nth"], rule["weekday"], rule["on_holiday"]) == ("default", 2, 6, "postpone")
    assert rule["description"] == "每月第二个星期日 09:00-11:30，遇法定节假日顺延一周"

    # 2024-02-11, the 2nd Sunday of February 2024, was Spring Festival: the day moves to the 18th.
    body = await _schedule(client, world, world.station.id, "2024-01-01", "2024-03-31")
    assert _days(body) == ["2024-01-14", "2024-02-18", "2024-03-10"]
    moved = body["items"][1]
    assert moved["reason"] == "postponed" and moved["postponed_from"] == "2024-02-11"
    assert moved["holiday"] == "春节" and moved["reason_label"] == "因春节顺延（原定2月11日）"
    assert (moved["starts_at"], moved["ends_at"], moved["weekday_label"]) == (
        "09:00",
        "11:30",
        "星期日",
    )
    assert body["items"][0]["reason"] == "rule" and body["items"][0]["holiday"] is None


async def test_national_day_postpones_skips_or_keeps_the_first_sunday(client, world):
    admin = world.auth("admin")
    put = await client.put("/v1/contact-schedule", json=FIRST_SUNDAY, headers=admin)
    assert put.status_code == 200 and put.json()["source"] == "jurisdiction"

    # 2026-10-04, the 1st Sunday of October 2026, lies in National Day (10-01..07).
    body = await _schedule(client, world, world.station.id, "2026-09-01", "2026-11-30")
    assert _days(body) == ["2026-09-06", "2026-10-11", "2026-11-01"]
    october = body["items"][1]
    assert (october["reason"], october["postponed_from"], october["holiday"]) == (
        "postponed",
        "2026-10-04",
        "国庆节",
    )

    await client.put("/v1/contact-schedule", json={**FIRST_SUNDAY, "on_holiday": "skip"}, headers=admin)
    body = await _schedule(client, world, world.station.id, "2026-09-01", "2026-11-30")
    assert _days(body) == ["2026-09-06", "2026-11-01"]

    await client.put("/v1/contact-schedule", json={**FIRST_SUNDAY, "on_holiday": "keep"}, headers=admin)
    body = await _schedule(client, world, world.station.id, "2026-09-01", "2026-11-30")
    assert _days(body) == ["2026-09-06", "2026-10-04", "2026-11-01"]
    assert body["items"][1]["reason"] == "rule" and body["items"][1]["holiday"] == "国庆节"


async def test_the_jurisdictions_own_calendar_decides_a_year_the_package_does_not_know(
    client, world, session
):
    # 2027-01-10 is the 2nd Sunday of January 2027; chinesecalendar 1.11 does not know 2027.
    session.add(
        CalendarOverride(
            jurisdiction_id=world.jurisdiction.id, day=date(2027, 1, 10), is_workday=False, note="元旦"
        )
    )
    await session.commit()
    body = await _schedule(client, world, world.station.id, "2027-01-01", "2027-01-31")
    (item,) = body["items"]
    assert (item["day"], item["postponed_from"], item["holiday"]) == ("2027-01-17", "2027-01-10", "元旦")


async def test_a_station_rule_overrides_the_jurisdictions_until_deleted(client, world):
    admin = world.auth("admin")
    await client.put("/v1/contact-schedule", json=FIRST_SUNDAY, headers=admin)
    other = await client.post("/v1/stations", json={"name": "平江街道代表联络站"}, headers=admin)
    other_id = other.json()["id"]
    own = {"nth": -1, "weekday": 2, "starts_at": "14:30", "ends_at": "17:00", "on_holiday": "skip"}
    put = await client.put(f"/v1/stations/{world.station.id}/contact-schedule", json=own, headers=admin)
    assert put.status_code == 200
    assert (put.json()["source"], put.json()["station_id"]) == ("station", world.station.id)
    assert put.json()["description"] == "每月最后一个星期三 14:30-17:00，遇法定节假日当月不安排"

    body = await _schedule(client, world, world.station.id, "2026-11-01", "2026-12-31")
    assert _days(body) == ["2026-11-25", "2026-12-30"]
    assert body["items"][0]["starts_at"] == "14:30" and body["rule"]["source"] == "station"
    # Another station still follows the jurisdiction.
    assert _days(await _schedule(client, world, other_id, "2026-11-01", "2026-12-31")) == [
        "2026-11-01",
        "2026-12-06",
    ]

    dropped = await client.delete(f"/v1/stations/{world.station.id}/contact-schedule", headers=admin)
    assert dropped.status_code == 200 and dropped.json()["source"] == "jurisdiction"
    assert _days(await _schedule(client, world, world.station.id, "2026-11-01", "2026-12-31")) == [
        "2026-11-01",
        "2026-12-06",
    ]


async def test_added_and_cancelled_dates_the_stations_over_the_jurisdictions(client, world):
    admin = world.auth("admin")
    station = f"/v1/stations/{world.station.id}"
    # Jurisdiction-wide: December's day is cancelled, a Saturday is added.
    cancelled = await client.post(
        "/v1/contact-days",
        json={"day": "2026-12-13", "change": "cancelled", "note": "区人代会"},
        headers=admin,
    )
    assert cancelled.status_code == 201 and cancelled.json()["station_id"] is None
    await client.post(
        "/v1/contact-days", json={"day": "2026-12-19", "change": "added", "note": "集中接待"}, headers=admin
    )
    assert _days(await _schedule(client, world, world.station.id, "2026-12-01", "2026-12-31")) == [
        "2026-12-19"
    ]

    # The station keeps its December day after all, and cancels the added Saturday for itself.
    await client.post(f"{station}/contact-days", json={"day": "2026-12-13", "change": "added"}, headers=admin)
    await client.post(
        f"{station}/contact-days", json={"day": "2026-12-19", "change": "cancelled"}, headers=admin
    )
    body = await _schedule(client, world, world.station.id, "2026-12-01", "2026-12-31")
    assert _days(body) == ["2026-12-13"]

    # Cancelling a postponed rule date by its rule date cancels the day it moved to.
    await client.post(
        f"{station}/contact-days", json={"day": "2024-02-11", "change": "cancelled"}, headers=admin
    )
    assert "2024-02-18" not in _days(
        await _schedule(client, world, world.station.id, "2024-02-01", "2024-02-29")
    )

    # An added weekday shows its note; undoing it removes it, twice is a 404.
    await client.post(
        f"{station}/contact-days",
        json={"day": "2026-12-02", "change": "added", "note": "专题接待"},
        headers=admin,
    )
    body = await _schedule(client, world, world.station.id, "2026-12-01", "2026-12-31")
    assert body["items"][0]["reason"] == "added" and body["items"][0]["reason_label"] == "临时增加：专题接待"
    listed = await client.get(
        f"{station}/contact-days", params={"from": "2026-12-01", "to": "2026-12-31"}, headers=admin
    )
    assert [(c["day"], c["change"]) for c in listed.json()["items"]] == [
        ("2026-12-02", "added"),
        ("2026-12-13", "added"),
        ("2026-12-19", "cancelled"),
    ]
    assert (await client.delete(f"{station}/contact-days/2026-12-02", headers=admin)).status_code == 204
    assert (await client.delete(f"{station}/contact-days/2026-12-02", headers=admin)).status_code == 404
    assert (await client.delete("/v1/contact-days/2026-12-13", headers=admin)).status_code == 204
    assert _days(await _schedule(client, world, world.station.id, "2026-12-01", "2026-12-31")) == [
        "2026-12-13"
    ]


async def test_bad_rules_and_ranges_are_422_in_chinese(client, world):
    admin = world.auth("admin")
    for body, field in (
        ({**FIRST_SUNDAY, "nth": 5}, "nth"),
        ({**FIRST_SUNDAY, "weekday": 7}, "weekday"),
        ({**FIRST_SUNDAY, "ends_at": "08:00"}, "body"),
        ({**FIRST_SUNDAY, "on_holiday": "sometimes"}, "on_holiday"),
        ({**FIRST_SUNDAY, "starts_at": "09:00:30"}, "starts_at"),
        ({**FIRST_SUNDAY, "starts_at": "09:00+08:00"}, "starts_at"),
    ):
        response = await client.put("/v1/contact-schedule", json=body, headers=admin)
        assert response.status_code == 422, body
        assert response.json()["error"]["details"][0]["field"] == field
    late = await client.put("/v1/contact-schedule", json={**FIRST_SUNDAY, "ends_at": "08:00"}, headers=admin)
    assert "结束时间应晚于开始时间" in late.json()["error"]["details"][0]["message"]

    path = f"/v1/stations/{world.station.id}/schedule"
    too_long = await client.get(path, params={"from": "2026-01-01", "to": "2027-01-03"}, headers=admin)
    assert too_long.status_code == 422 and "366" in too_long.json()["error"]["message"]
    backwards = await client.get(path, params={"from": "2026-03-01", "to": "2026-02-01"}, headers=admin)
    assert backwards.status_code == 422 and backwards.json()["error"]["message"] == "结束日期不能早于开始日期"
    year = await client.get(path, params={"from": "2026-01-01", "to": "2027-01-02"}, headers=admin)
    assert year.status_code == 200 and len(year.json()["items"]) == 12  # one a month
    bad_day = await client.post(
        f"/v1/stations/{world.station.id}/contact-days",
        json={"day": "9999-01-01", "change": "added"},
        headers=admin,
    )
    assert bad_day.status_code == 422


async def test_who_may_read_and_set_schedules(client, world, session):
    other = await build_world(session, code="XC", name="相城区")
    await session.commit()
    station = f"/v1/stations/{world.station.id}"
    for who in ("dispatcher", "supervisor", "deputy"):
        assert (await client.get(f"{station}/schedule", headers=world.auth(who))).status_code == 200, who
        assert (await client.get(f"{station}/roster", headers=world.auth(who))).status_code == 200, who
        assert (
            await client.put(f"{station}/contact-schedule", json=FIRST_SUNDAY, headers=world.auth(who))
        ).status_code == 403
    assert (await client.get(f"{station}/schedule", headers=world.auth("dept:urban_mgmt"))).status_code == 403
    assert (await client.get(f"{station}/schedule")).status_code == 401
    # Another jurisdiction's station is not there at all.
    foreign = f"/v1/stations/{other.station.id}"
    for method, path, body in (
        ("GET", f"{foreign}/schedule", None),
        ("GET", f"{foreign}/roster", None),
        ("GET", f"{foreign}/contact-schedule", None),
        ("PUT", f"{foreign}/contact-schedule", FIRST_SUNDAY),
        ("POST", f"{foreign}/contact-days", {"day": "2026-12-20", "change": "added"}),
        ("PUT", f"{foreign}/roster", {"from": "2026-12-01", "to": "2026-12-31", "entries": []}),
    ):
        response = await client.request(method, path, json=body, headers=world.auth("admin"))
        assert response.status_code == 404, (method, path)
    # The jurisdiction's rule is its own: the other jurisdiction still has the default.
    await client.put("/v1/contact-schedule", json=FIRST_SUNDAY, headers=world.auth("admin"))
    assert (await client.get("/v1/contact-schedule", headers=other.auth("admin"))).json()[
        "source"
    ] == "default"


# The roster ------------------------------------------------------------------------------------------------


async def test_the_roster_replaces_its_range_and_shows_on_the_schedule(client, world, session):
    admin = world.auth("admin")
    station = f"/v1/stations/{world.station.id}"
    li = await client.post("/v1/deputies", json={"name": "李代表", "level": "city"}, headers=admin)
    li_id = li.json()["id"]
    plan = {
        "from": "2026-12-01",
        "to": "2027-01-31",
        "entries": [
            {"day": "2026-12-13", "deputy_ids": [world.deputy.id, li_id]},
            {"day": "2026-12-14", "deputy_ids": [li_id]},  # a Monday: no contact day
            {"day": "2027-01-10", "deputy_ids": [world.deputy.id]},
        ],
    }
    put = await client.put(f"{station}/roster", json=plan, headers=admin)
    assert put.status_code == 200, put.text
    body = put.json()
    assert (body["from"], body["to"]) == ("2026-12-01", "2027-01-31")
    assert [(e["day"], [d["name"] for d in e["deputies"]]) for e in body["entries"]] == [
        ("2026-12-13", ["王代表", "李代表"]),
        ("2026-12-14", ["李代表"]),
        ("2027-01-10", ["王代表"]),
    ]
    assert [w["day"] for w in body["warnings"]] == ["2026-12-14"]
    assert "不是本站的联系日" in body["warnings"][0]["message"]

    schedule = await _schedule(client, world, world.station.id, "2026-12-01", "2027-01-31", who="deputy")
    december = schedule["items"][0]
    assert december["day"] == "2026-12-13"
    assert december["deputies"] == [
        {"id": world.deputy.id, "name": "王代表", "level": "county", "level_label": "区（县）人大代表"},
        {"id": li_id, "name": "李代表", "level": "city", "level_label": "市人大代表"},
    ]

    # A second plan for January only replaces January.
    january = {
        "from": "2027-01-01",
        "to": "2027-01-31",
        "entries": [{"day": "2027-01-10", "deputy_ids": [li_id]}],
    }
    assert (await client.put(f"{station}/roster", json=january, headers=admin)).status_code == 200
    got = await client.get(
        f"{station}/roster", params={"from": "2026-12-01", "to": "2027-01-31"}, headers=admin
    )
    assert [(e["day"], [d["id"] for d in e["deputies"]]) for e in got.json()["entries"]] == [
        ("2026-12-13", [world.deputy.id, li_id]),
        ("2026-12-14", [li_id]),
        ("2027-01-10", [li_id]),
    ]


async def test_the_roster_refuses_strangers_duplicates_and_dates_outside_its_range(client, world, session):
    other = await build_world(session, code="XC", name="相城区")
    retired = Deputy(jurisdiction_id=world.jurisdiction.id, name="退休代表", level="county", active=False)
    session.add(retired)
    await session.commit()
    admin = world.auth("admin")
    path = f"/v1/stations/{world.station.id}/roster"

    strangers = {
        "from": "2026-12-01",
        "to": "2026-12-31",
        "entries": [{"day": "2026-12-13", "deputy_ids": [world.deputy.id, other.deputy.id, 999999]}],
    }
    response = await client.put(path, json=strangers, headers=admin)
    assert response.status_code == 422
    (detail,) = response.json()["error"]["details"]
    assert detail["message"] == f"代表不存在或不属于本辖区：{other.deputy.id}、999999"

    inactive = {**strangers, "entries": [{"day": "2026-12-13", "deputy_ids": [retired.id]}]}
    response = await client.put(path, json=inactive, headers=admin)
    assert response.status_code == 422 and "退休代表" in response.json()["error"]["details"][0]["message"]

    messy = {
        "from": "2026-12-01",
        "to": "2026-12-31",
        "entries": [
            {"day": "2026-12-13", "deputy_ids": [world.deputy.id]},
            {"day": "2026-12-13", "deputy_ids": [world.deputy.id]},
            {"day": "2027-01-10", "deputy_ids": [world.deputy.id]},
        ],
    }
    response = await client.put(path, json=messy, headers=admin)
    assert response.status_code == 422
    assert [d["field"] for d in response.json()["error"]["details"]] == ["entries.1.day", "entries.2.day"]

    too_long = {"from": "2026-01-01", "to": "2027-12-31", "entries": []}
    assert (await client.put(path, json=too_long, headers=admin)).status_code == 422
    # Nothing was written by the refused plans.
    got = await client.get(path, params={"from": "2026-12-01", "to": "2026-12-31"}, headers=admin)
    assert got.json()["entries"] == []


# The poster ----------------------------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils is not installed here")
async def test_the_poster_prints_the_stations_own_rule(client, world, session, tmp_path):
    from tests.intake_api.test_posters import _text

    admin = world.auth("admin")
    own = {"nth": 1, "weekday": 5, "starts_at": "14:00", "ends_at": "16:30", "on_holiday": "postpone"}
    await client.put(f"/v1/stations/{world.station.id}/contact-schedule", json=own, headers=admin)
    pdf = await client.get(f"/v1/intake-codes/{world.station_code.id}/poster.pdf", headers=admin)
    text = _text(pdf.content, tmp_path)
    assert "每月第一个星期六 14:00-16:30" in text and "第二个星期日" not in text
    # A deputy's poster announces the days of the deputy's station.
    pdf = await client.get(f"/v1/intake-codes/{world.deputy_code.id}/poster.pdf", headers=admin)
    assert "每月第一个星期六 14:00-16:30" in _text(pdf.content, tmp_path)

    # A deputy without a station: the statutory default.
    alone = await client.post("/v1/deputies", json={"name": "赵代表", "level": "county"}, headers=admin)
    code = await client.post(
        "/v1/intake-codes", json={"owner_type": "deputy", "owner_id": alone.json()["id"]}, headers=admin
    )
    pdf = await client.get(f"/v1/intake-codes/{code.json()['id']}/poster.pdf", headers=admin)
    assert posters.DEFAULT_CONTACT_DAY in _text(pdf.content, tmp_path)
