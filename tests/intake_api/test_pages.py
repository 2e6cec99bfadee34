"""The HTML pages: the intake form a QR code opens, its submission, the progress page and its rating form."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import func, select, update

from services.intake.form_keys import issue_submission_key
from services.intake.tracking_numbers import SHANGHAI
from shared.db.models import Case, Category, IntakeCode
from shared.security.keys import sha256_hex
from shared.security.pii import decrypt
from tests.intake_api.conftest import NAME, PHONE, case_by_tracking_no, make_replied


def _hidden_key(html: str) -> str:
    found = re.search(r'name="submission_key" value="([^"]+)"', html)
    assert found, "the form carries a submission key"
    return found.group(1)


def _form(key: str, **fields: str) -> dict[str, str]:
    return {"submission_key": key, "description": "小区东门的路灯坏了一个月，晚上很黑", **fields}


async def _count_cases(session) -> int:
    return (await session.execute(select(func.count()).select_from(Case))).scalar_one()


async def test_form_page_is_a_mobile_page_that_counts_scans(app, client, world, session):
    response = await client.get(f"/c/{world.deputy_code.token}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert '<html lang="zh-CN">' in html
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert "王代表" in html and "双塔街道代表联络站" in html
    assert '<form class="card" method="post" action="/c/' in html
    # No external resources or scripts: it must load on a weak signal and work without JavaScript.
    assert "<script" not in html and "http://" not in html and "https://" not in html
    assert "<link" not in html
    # Every visible field has a label.
    fields = re.findall(r'<(?:input|select|textarea)[^>]*\bid="([^"]+)"', html)
    assert set(fields) >= {
        "description",
        "category_code",
        "request_type",
        "urgency",
        "title",
        "location_text",
        "grid_code",
        "submitter_name",
        "submitter_phone",
        "confidential",
    }
    for field in fields:
        assert f'for="{field}"' in html, field
    assert '<option value="">不清楚/其他</option>' in html
    assert '<option value="urban.sanitation">市容环卫</option>' in html
    assert '<optgroup label="生态环境">' in html
    assert "G2网格" in html  # the station serves two grids, so the grid is asked
    first, second = _hidden_key(html), _hidden_key((await client.get(f"/c/{world.deputy_code.token}")).text)
    assert first != second  # one key per rendering
    await app.state.scans.flush()  # scans reach the database in batches, about every second
    scans = (
        await session.execute(select(IntakeCode.scan_count).where(IntakeCode.id == world.deputy_code.id))
    ).scalar_one()
    assert scans == 2


async def test_grid_is_not_asked_for_a_single_grid_station(client, world):
    admin = world.auth("admin")
    await client.patch(f"/v1/stations/{world.station.id}", json={"grid_codes": ["GS-G1"]}, headers=admin)
    html = (await client.get(f"/c/{world.station_code.token}")).text
    assert 'id="grid_code"' not in html


async def test_form_post_redirects_to_the_receipt(client, world, session):
    key = _hidden_key((await client.get(f"/c/{world.station_code.token}")).text)
    response = await client.post(
        f"/c/{world.station_code.token}",
        data=_form(
            key,
            category_code="environment.noise",
            request_type="complaint",
            urgency="urgent",
            grid_code="GS-G2",
            submitter_name=NAME,
            submitter_phone=PHONE,
            confidential="true",
        ),
    )
    assert response.status_code == 303
    location = urlsplit(response.headers["location"])
    tracking_no = location.path.removeprefix("/t/")
    assert re.fullmatch(r"GS\d{8}-\d{4,}", tracking_no)
    query = parse_qs(location.query)
    assert query["new"] == ["1"] and query["k"][0]

    case = await case_by_tracking_no(session, tracking_no)
    assert case.source == "form" and case.confidential is True
    assert case.submission_key == sha256_hex(
        key
    )  # stored hashed: replaying the plain key reopens the receipt
    assert case.grid_id == world.grids["G2"].id and case.request_type == "complaint"
    assert decrypt(case.submitter_phone_enc) == PHONE

    receipt = await client.get(response.headers["location"])
    assert receipt.status_code == 200
    assert "提交成功" in receipt.text and tracking_no in receipt.text and "请保存此页面链接" in receipt.text
    assert receipt.headers["cache-control"] == "no-store"
    assert receipt.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in receipt.headers["content-security-policy"]
    for secret in (PHONE, NAME, "138****5678", "小区东门的路灯"):
        assert secret not in receipt.text


async def test_multipart_form_post_works_too(client, world, session):
    key = _hidden_key((await client.get(f"/c/{world.station_code.token}")).text)
    response = await client.post(
        f"/c/{world.station_code.token}", data=_form(key), files={"_": (None, "")}
    )  # a files= part makes httpx send multipart/form-data
    assert response.status_code == 303, response.text
    assert await _count_cases(session) == 1


async def test_a_double_tap_creates_one_case_and_shows_the_same_receipt(client, world, session):
    key = _hidden_key((await client.get(f"/c/{world.station_code.token}")).text)
    first = await client.post(f"/c/{world.station_code.token}", data=_form(key))
    second = await client.post(f"/c/{world.station_code.token}", data=_form(key))
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert await _count_cases(session) == 1
    assert (await client.get(second.headers["location"])).status_code == 200

    # A key this server did not issue is no idempotency key: two posts, two cases.
    forged = {"submission_key": "chosen-by-someone"}
    await client.post(f"/c/{world.station_code.token}", data=_form(forged["submission_key"]))
    await client.post(f"/c/{world.station_code.token}", data=_form(forged["submission_key"]))
    assert await _count_cases(session) == 3
    assert (
        await session.execute(select(func.count()).where(Case.submission_key.is_not(None)))
    ).scalar_one() == 1


async def test_repeat_whose_key_cannot_be_shown_again_gets_a_submitted_page(client, world, session):
    key = issue_submission_key()
    first = await client.post(f"/c/{world.station_code.token}", data=_form(key))
    assert first.status_code == 303
    # As if the secret had changed since: the derived key no longer opens the case.
    await session.execute(update(Case).values(access_key_hash="0" * 64))
    await session.commit()
    again = await client.post(f"/c/{world.station_code.token}", data=_form(key))
    assert again.status_code == 200
    tracking_no = urlsplit(first.headers["location"]).path.removeprefix("/t/")
    assert "已提交" in again.text and tracking_no in again.text
    assert await _count_cases(session) == 1


async def test_form_errors_rerender_with_values_and_escape_user_text(client, world, session):
    key = _hidden_key((await client.get(f"/c/{world.station_code.token}")).text)
    response = await client.post(
        f"/c/{world.station_code.token}",
        data={
            "submission_key": key,
            "description": "短",
            "title": "<script>alert(1)</script>",
            "location_text": '"><img src=x onerror=alert(2)>',
            "submitter_phone": "12",
            "category_code": "urban",
        },
    )
    assert response.status_code == 422
    html = response.text
    assert "<script>alert(1)</script>" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&#34;&gt;&lt;img src=x onerror=alert(2)&gt;" in html
    assert "问题描述至少需要 5 个字" in html and "联系电话格式有误" in html
    assert re.search(r'id="description"[^>]*aria-invalid="true"', html)
    assert '<option value="urban" selected>' in html  # entered values are kept
    assert _hidden_key(html) == key
    assert await _count_cases(session) == 0

    # A category deactivated meanwhile is a field error too, never a 500.
    await session.execute(update(Category).values(active=False))
    await session.commit()
    stale = await client.post(f"/c/{world.station_code.token}", data=_form(key, category_code="urban"))
    assert stale.status_code == 422 and "问题分类不存在或已停用" in stale.text
    assert await _count_cases(session) == 0


async def test_revoked_and_unknown_codes_get_polite_pages(app, client, world, session):
    await session.execute(
        update(IntakeCode).where(IntakeCode.id == world.station_code.id).values(status="revoked")
    )
    await session.commit()
    page = await client.get(f"/c/{world.station_code.token}")
    assert page.status_code == 410
    assert "该二维码已停止使用" in page.text and "<form" not in page.text
    posted = await client.post(f"/c/{world.station_code.token}", data=_form(issue_submission_key()))
    assert posted.status_code == 410 and "<form" not in posted.text
    await app.state.scans.flush()
    scans = (
        await session.execute(select(IntakeCode.scan_count).where(IntakeCode.id == world.station_code.id))
    ).scalar_one()
    assert scans == 0

    unknown = await client.get("/c/not-a-real-token")
    assert unknown.status_code == 404 and "未找到该二维码" in unknown.text
    assert (await client.post("/c/not-a-real-token", data=_form("x"))).status_code == 404
    assert await _count_cases(session) == 0


async def test_progress_page_and_rating_form(client, world, session):
    key = _hidden_key((await client.get(f"/c/{world.station_code.token}")).text)
    submitted = await client.post(
        f"/c/{world.station_code.token}", data=_form(key, submitter_name=NAME, submitter_phone=PHONE)
    )
    page_url = submitted.headers["location"].replace("&new=1", "")
    tracking_no = urlsplit(page_url).path.removeprefix("/t/")
    access_key = parse_qs(urlsplit(page_url).query)["k"][0]

    before = await client.get(page_url)
    assert before.status_code == 200 and "已受理" in before.text
    assert "提交成功" not in before.text and 'name="rating"' not in before.text

    await make_replied(session, world, tracking_no, text="<b>已清运</b>，并增设垃圾桶")
    replied = await client.get(page_url)
    assert "已答复" in replied.text and "区城管局" in replied.text
    assert "&lt;b&gt;已清运&lt;/b&gt;" in replied.text and "<b>已清运</b>" not in replied.text
    assert 'type="radio"' in replied.text and 'name="rating" value="dissatisfied"' in replied.text
    action = re.search(r'action="([^"]+/feedback[^"]*)"', replied.text).group(1).replace("&amp;", "&")
    assert action == f"/t/{tracking_no}/feedback?k={access_key}"
    # Times are shown in Beijing time.
    case = await case_by_tracking_no(session, tracking_no)
    assert case.created_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") in replied.text
    for secret in (PHONE, NAME, "138****5678", "张**"):
        assert secret not in replied.text

    missing = await client.post(action, data={"comment": "<i>没选</i>"})
    assert missing.status_code == 422
    assert "请选择满意、基本满意或不满意" in missing.text and "&lt;i&gt;没选&lt;/i&gt;" in missing.text

    rated = await client.post(action, data={"rating": "basically_satisfied", "comment": "还行"})
    assert rated.status_code == 303 and rated.headers["location"] == f"/t/{tracking_no}?k={access_key}"
    closed = await client.get(rated.headers["location"])
    assert "已办结" in closed.text and "基本满意" in closed.text and 'name="rating"' not in closed.text

    again = await client.post(action, data={"rating": "satisfied"})
    assert again.status_code == 409 and "暂不能评价" in again.text


async def test_progress_page_with_a_wrong_key_is_a_404_page(client, world):
    key = _hidden_key((await client.get(f"/c/{world.station_code.token}")).text)
    submitted = await client.post(f"/c/{world.station_code.token}", data=_form(key))
    tracking_no = urlsplit(submitted.headers["location"]).path.removeprefix("/t/")
    for params in ({"k": "wrong"}, {}):
        response = await client.get(f"/t/{tracking_no}", params=params)
        assert response.status_code == 404 and "未找到该事项" in response.text
        assert tracking_no not in response.text
    posted = await client.post(
        f"/t/{tracking_no}/feedback", params={"k": "wrong"}, data={"rating": "satisfied"}
    )
    assert posted.status_code == 404
