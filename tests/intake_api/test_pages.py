"""The HTML pages: the intake form a QR code opens, its submission, the progress page and its rating form."""

from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

import zxingcpp
from PIL import Image, ImageDraw
from sqlalchemy import func, select, update

from services.intake.form_keys import issue_submission_key
from services.intake.tracking_numbers import SHANGHAI
from shared.db.enums import AssignmentRole, AssignmentStatus, DeadlineKind
from shared.db.models import Assignment, Case, Category, Deadline, IntakeCode
from shared.security.keys import sha256_hex
from shared.security.pii import decrypt
from shared.settings import get_settings
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
    assert "提交成功" in receipt.text and tracking_no in receipt.text and "请保存此页面" in receipt.text
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


async def _submitted_page(client, world, **fields: str) -> tuple[str, str]:
    """Submits the form; answers the tracking number and the progress page's address."""
    key = _hidden_key((await client.get(f"/c/{world.station_code.token}")).text)
    response = await client.post(f"/c/{world.station_code.token}", data=_form(key, **fields))
    assert response.status_code == 303, response.text
    page = response.headers["location"].replace("&new=1", "")
    return urlsplit(page).path.removeprefix("/t/"), page


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


async def test_the_commitment_is_public_and_nothing_personal_is(client, world, session):
    tracking_no, page = await _submitted_page(client, world, submitter_name=NAME, submitter_phone=PHONE)
    case = await case_by_tracking_no(session, tracking_no)
    case.tier = "week"
    assignments = {
        role: Assignment(
            jurisdiction_id=case.jurisdiction_id,
            case_id=case.id,
            department_id=world.departments[code].id,
            role=role,
            status=status,
        )
        for role, code, status in (
            (AssignmentRole.lead, "urban_mgmt", AssignmentStatus.replied),
            (AssignmentRole.separate, "environment", AssignmentStatus.accepted),
            (AssignmentRole.co, "street_office", AssignmentStatus.pending),
        )
    }
    session.add_all(assignments.values())
    await session.flush()

    def reply_deadline(role: str, due: str, **more: object) -> Deadline:
        return Deadline(
            jurisdiction_id=case.jurisdiction_id,
            case_id=case.id,
            assignment_id=assignments[role].id,
            kind=DeadlineKind.reply,
            starts_at=_at("2031-01-03 09:30"),
            due_at=_at(due),
            **more,
        )

    session.add_all(
        [
            # The lead's first deadline, moved by an approved extension: only the one in force is promised.
            reply_deadline("lead", "2031-01-10 09:30", superseded_at=_at("2031-01-08 12:00")),
            reply_deadline("lead", "2031-01-17 09:30", met_at=_at("2031-01-15 10:00")),
            reply_deadline("separate", "2031-01-20 16:00"),
        ]
    )
    await session.commit()

    html = (await client.get(page)).text
    assert "办理承诺" in html
    assert "区城管局（主办）：2031-01-17 09:30 前答复，已于 2031-01-15 10:00 答复" in html
    assert "区生态环境局（分办）：2031-01-20 16:00 前答复" in html
    assert "双塔街道办事处（协办）</li>" in html  # a co-handler answers the lead, not the citizen
    assert "<dt>办理时限</dt><dd>即收周办</dd>" in html
    assert "<dt>答复期限</dt><dd>2031-01-17 09:30 前</dd>" in html  # kept once met: it was the promise
    assert "2031-01-10" not in html
    assert "办理结果" in html and "尚未答复" in html

    k = parse_qs(urlsplit(page).query)["k"][0]
    response = await client.get(f"/v1/public/cases/{tracking_no}", params={"k": k})
    view = response.json()
    assert [(d["name"], d["due_date"]) for d in view["departments"]] == [
        ("区城管局", "2031-01-17"),
        ("区生态环境局", "2031-01-20"),
        ("双塔街道办事处", None),
    ]
    assert _at("2031-01-15 10:00") == datetime.fromisoformat(view["departments"][0]["replied_at"])
    assert datetime.fromisoformat(view["due_at"]) == _at("2031-01-17 09:30")
    assert view["due_date"] == "2031-01-17"
    assert datetime.fromisoformat(view["deadline"]) == _at("2031-01-20 16:00")  # the one still running
    for text in (html, response.text):
        for secret in (PHONE, NAME, "138****5678", "张**", "小区东门的路灯"):
            assert secret not in text, secret


async def test_the_form_says_what_is_collected_why_who_sees_it_and_for_how_long(client, world):
    html = (await client.get(f"/c/{world.station_code.token}")).text
    notice = html[html.index('<section class="card" id="privacy"') :]
    for heading in ("个人信息保护说明", "收集哪些信息", "为什么收集", "谁能看到", "保存多久"):
        assert heading in notice
    assert "加密保存" in notice and "138****5678" in notice and "24 个月" in notice
    assert "去掉拍摄地点" in notice  # photos lose their GPS
    assert '<a href="#privacy">' in html[: html.index("</form>")]  # pointed to before submitting


async def test_the_larger_text_switch_needs_no_javascript_and_is_kept(client, world):
    form_url = f"/c/{world.station_code.token}"
    normal = await client.get(form_url)
    assert '<html lang="zh-CN">' in normal.text and "set-cookie" not in normal.headers
    assert f'<a href="{form_url}?size=large">放大字号</a>' in normal.text
    assert "html.large{font-size:125%}" in normal.text and "font:1rem/1.6" in normal.text

    large = await client.get(form_url, params={"size": "large"})
    assert '<html lang="zh-CN" class="large">' in large.text
    assert f'<a href="{form_url}?size=normal">标准字号</a>' in large.text
    cookie = large.headers["set-cookie"]
    assert cookie.startswith("minyi_text_size=large;") and "HttpOnly" in cookie and "SameSite=lax" in cookie

    # The cookie carries the choice through the form's post, the receipt and the progress page.
    again = await client.get(form_url)
    assert 'class="large"' in again.text
    key = _hidden_key(again.text)
    refused = await client.post(form_url, data=_form(key, description="短"))
    assert refused.status_code == 422 and 'class="large"' in refused.text
    assert f'<a href="{form_url}?size=normal">' in refused.text  # the form's address, not the post's
    submitted = await client.post(form_url, data=_form(key))
    receipt = await client.get(submitted.headers["location"])
    assert 'class="large"' in receipt.text
    tracking_no = urlsplit(submitted.headers["location"]).path.removeprefix("/t/")
    k = parse_qs(urlsplit(submitted.headers["location"]).query)["k"][0]
    switch = re.search(r'<a href="([^"]+)">标准字号</a>', receipt.text).group(1).replace("&amp;", "&")
    assert switch == f"/t/{tracking_no}?k={k}&new=1&size=normal"  # the receipt, in normal size

    back = await client.get(switch)
    assert '<html lang="zh-CN">' in back.text and "提交成功" in back.text
    assert 'minyi_text_size=""' in back.headers["set-cookie"]  # forgotten
    assert '<html lang="zh-CN">' in (await client.get(f"/t/{tracking_no}", params={"k": k})).text


async def test_the_receipt_has_a_large_number_and_a_qr_code_of_its_link(client, world):
    key = _hidden_key((await client.get(f"/c/{world.station_code.token}")).text)
    submitted = await client.post(f"/c/{world.station_code.token}", data=_form(key))
    html = (await client.get(submitted.headers["location"])).text
    tracking_no = urlsplit(submitted.headers["location"]).path.removeprefix("/t/")
    k = parse_qs(urlsplit(submitted.headers["location"]).query)["k"][0]
    page_url = f"{get_settings().public_url}/t/{tracking_no}?k={k}"
    assert f'<p class="no big">{tracking_no}</p>' in html
    assert "截图或收藏" in html and "扫描上面的二维码" in html and "输入受理编号和下面的查询码" in html
    assert f"{get_settings().public_url}/t，" in html and f'<span class="key">{k}</span>' in html

    svg = re.search(r'<svg class="qr" viewBox="0 0 (\d+) \1"[^>]*>.*?<path fill="#000" d="([^"]+)"', html)
    assert svg is not None and 'role="img"' in svg.group(0)
    side, scale = int(svg.group(1)), 8
    image = Image.new("L", (side * scale, side * scale), 255)
    draw = ImageDraw.Draw(image)
    for x, y, w in (map(int, run) for run in re.findall(r"M(\d+) (\d+)h(\d+)v1h-\d+z", svg.group(2))):
        draw.rectangle([x * scale, y * scale, (x + w) * scale - 1, (y + 1) * scale - 1], fill=0)
    assert [r.text for r in zxingcpp.read_barcodes(image)] == [page_url]

    later = (await client.get(f"/t/{tracking_no}", params={"k": k})).text
    assert "<svg" not in later and "提交成功" not in later  # the receipt is the first visit only


async def test_the_lookup_page_finds_a_case_by_number_and_key(client, world):
    tracking_no, page = await _submitted_page(client, world)
    k = parse_qs(urlsplit(page).query)["k"][0]
    blank = await client.get("/t")
    assert blank.status_code == 200 and 'for="no"' in blank.text and 'for="k"' in blank.text
    found = await client.get("/t", params={"no": f" {tracking_no.lower()} ", "k": f"{k} "})
    assert found.status_code == 303 and found.headers["location"] == f"/t/{tracking_no}?k={k}"
    assert (await client.get(found.headers["location"])).status_code == 200
    half = await client.get("/t", params={"no": "<b>GS1</b>", "k": ""})
    assert half.status_code == 422 and "请填写查询码" in half.text and 'id="k"' in half.text
    assert "&lt;b&gt;GS1&lt;/b&gt;" in half.text and "<b>GS1" not in half.text
    odd = await client.get("/t", params={"no": "../v1?x", "k": "a&b"})
    assert odd.headers["location"] == "/t/..%2FV1%3FX?k=a%26b"  # stays a tracking page's address
