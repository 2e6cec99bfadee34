"""The public station page /s/{code}: what it shows (and what not), escaping, the QR code, caching, 404s;
stations' public codes."""

from __future__ import annotations

import base64
import re
from datetime import date
from html import unescape

import pytest
from sqlalchemy import update

from services.intake.codes import form_url
from services.intake.contact import schedule
from services.intake.qr import qr_svg
from shared.db.models import Deputy, IntakeCode, Station
from tests.factories import build_world


@pytest.fixture
def on_first_of_september(monkeypatch):
    monkeypatch.setattr(schedule, "today", lambda: date(2026, 9, 1))


def _text(html: str) -> str:
    return unescape(re.sub(r"<[^>]+>", "", html))


async def test_the_page_shows_the_station_its_next_days_and_its_qr(
    client, world, session, on_first_of_september
):
    admin = world.auth("admin")
    li = await client.post("/v1/deputies", json={"name": "李代表", "level": "city"}, headers=admin)
    # The station receives on the 1st Sunday; October's (the 4th) falls in National Day.
    await client.put(
        f"/v1/stations/{world.station.id}/contact-schedule",
        json={"nth": 1, "weekday": 6, "starts_at": "09:00", "ends_at": "11:30"},
        headers=admin,
    )
    plan = {
        "from": "2026-09-01",
        "to": "2026-12-31",
        "entries": [
            {"day": "2026-09-06", "deputy_ids": [world.deputy.id, li.json()["id"]]},
            {"day": "2026-10-11", "deputy_ids": [li.json()["id"]]},
        ],
    }
    assert (
        await client.put(f"/v1/stations/{world.station.id}/roster", json=plan, headers=admin)
    ).status_code == 200

    response = await client.get(f"/s/{world.station.code}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "public, max-age=300"
    html = response.text
    text = _text(html)
    assert '<html lang="zh-CN"' in html and "<script" not in html
    for expected in (
        "双塔街道代表联络站",
        "代表联络站",
        "双塔街道1号",
        "G1网格、G2网格",
        "姑苏区",
        "每月第一个星期日",
    ):
        assert expected in text, expected
    assert "2026年9月6日（星期日）09:00–11:30" in text
    assert "接待代表：王代表（区（县）人大代表）、李代表（市人大代表）" in text
    assert "2026年10月11日（星期日）" in text and "因国庆节顺延（原定10月4日）" in text
    assert "2026年11月1日（星期日）" in text and "待定" in text
    assert "2026年12月6日" not in text  # three days only

    url = form_url(world.station_code.token)
    assert f'href="{url}"' in html
    (uri,) = re.findall(r'src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', html)
    assert base64.b64decode(uri) == qr_svg(url)
    # No request leaves the page: no external stylesheet, image, font or script.
    assert not re.search(r'(src|href)="(?!data:|/|' + re.escape(url) + r"|\?size)", html)


async def test_names_are_escaped_and_nothing_personal_is_shown(client, world, session, on_first_of_september):
    await session.execute(
        update(Station)
        .where(Station.id == world.station.id)
        .values(name="<script>alert(1)</script>站", address='"><img src=x onerror=alert(2)>')
    )
    await session.execute(update(Deputy).where(Deputy.id == world.deputy.id).values(name="<b>王</b>"))
    await session.commit()
    await client.put(
        f"/v1/stations/{world.station.id}/roster",
        json={
            "from": "2026-09-01",
            "to": "2026-09-30",
            "entries": [{"day": "2026-09-13", "deputy_ids": [world.deputy.id]}],
        },
        headers=world.auth("admin"),
    )
    html = (await client.get(f"/s/{world.station.code}")).text
    assert "<script>" not in html and "<img src=x" not in html and "<b>王</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;站" in html
    assert "&lt;b&gt;王&lt;/b&gt;" in html
    # The deputy's name and level only: no ids, keys or anything from a case.
    assert f"/v1/deputies/{world.deputy.id}" not in html and "mk_" not in html


async def test_a_station_without_an_active_code_says_so_and_inactive_ones_deputies_are_left_out(
    client, world, session, on_first_of_september
):
    await client.put(
        f"/v1/stations/{world.station.id}/roster",
        json={
            "from": "2026-09-01",
            "to": "2026-09-30",
            "entries": [{"day": "2026-09-13", "deputy_ids": [world.deputy.id]}],
        },
        headers=world.auth("admin"),
    )
    # Since the plan was made, the deputy left office and the station's code was revoked.
    await session.execute(update(Deputy).where(Deputy.id == world.deputy.id).values(active=False))
    await session.execute(
        update(IntakeCode).where(IntakeCode.id == world.station_code.id).values(status="revoked")
    )
    await session.commit()
    html = (await client.get(f"/s/{world.station.code}")).text
    assert "data:image/svg+xml" not in html and world.station_code.token not in html
    assert "本站暂未开通扫码反映" in html
    assert "王代表" not in html and "接待代表：待定" in _text(html)


async def test_unknown_inactive_and_malformed_codes_get_the_polite_404(client, world, session):
    for code in ("GS-S999", "no such station", "x" * 60, "GS-S1%00"):
        response = await client.get(f"/s/{code}")
        assert response.status_code == 404, code
        assert "未找到该联络站" in response.text and response.headers["content-type"].startswith("text/html")
    await session.execute(update(Station).where(Station.id == world.station.id).values(active=False))
    await session.commit()
    assert (await client.get(f"/s/{world.station.code}")).status_code == 404


async def test_the_page_follows_the_stations_new_code(client, world, on_first_of_september):
    renamed = await client.patch(
        f"/v1/stations/{world.station.id}", json={"code": "GS-SHUANGTA"}, headers=world.auth("admin")
    )
    assert renamed.status_code == 200
    assert (await client.get("/s/GS-SHUANGTA")).status_code == 200
    assert (await client.get(f"/s/{world.station.code}")).status_code == 404


async def test_stations_get_a_public_code_given_or_by_default(client, world, session):
    admin = world.auth("admin")
    made = await client.post("/v1/stations", json={"name": "金阊街道代表之家", "kind": "home"}, headers=admin)
    assert made.status_code == 201 and made.json()["code"] == f"GS-S{made.json()['id']}"
    named = await client.post(
        "/v1/stations", json={"name": "虎丘代表联络站", "code": "GS-HUQIU"}, headers=admin
    )
    assert named.status_code == 201 and named.json()["code"] == "GS-HUQIU"

    other = await build_world(session, code="XC", name="相城区")
    await session.commit()
    # Unique across jurisdictions: /s/{code} names one station everywhere.
    taken = await client.post(
        "/v1/stations", json={"name": "重名", "code": "GS-HUQIU"}, headers=other.auth("admin")
    )
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "station_code_taken"
    assert "GS-HUQIU" in taken.json()["error"]["message"]
    patched = await client.patch(f"/v1/stations/{world.station.id}", json={"code": "GS-HUQIU"}, headers=admin)
    assert patched.status_code == 409

    for bad in ("x", "有中文", "a b", "a" * 41, "GS_1"):
        response = await client.post("/v1/stations", json={"name": "坏编码", "code": bad}, headers=admin)
        assert response.status_code == 422, bad
        assert response.json()["error"]["details"][0]["field"] == "code"
    assert (
        await client.patch(f"/v1/stations/{world.station.id}", json={"code": None}, headers=admin)
    ).status_code == 422

    renamed = await client.patch(
        f"/v1/stations/{world.station.id}", json={"code": "GS-SHUANGTA"}, headers=admin
    )
    assert renamed.status_code == 200 and renamed.json()["code"] == "GS-SHUANGTA"
    same = await client.patch(f"/v1/stations/{world.station.id}", json={"code": "GS-SHUANGTA"}, headers=admin)
    assert same.status_code == 200
