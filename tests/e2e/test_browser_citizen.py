"""The citizen at the station, on a real phone-sized browser: Debian's chromium (Playwright, JavaScript off) at
390 × 844 against the running services. A photo that carries GPS goes in and comes out clean; the receipt is
worth keeping (a large number, a QR code that scans back to the page); the larger-text switch works and is
kept; text contrast and line spacing hold on every page; a double tap makes one case; a refused submission
keeps the text; and the form page stays small and loads nothing from another host."""

from __future__ import annotations

import io
import json
import re
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import httpx
import pytest
import zxingcpp
from PIL import Image

from tests.e2e.conftest import Stack
from tests.e2e.test_browser import CHROMIUM, CHROMIUM_FLAGS
from tests.intake_api.photo_helpers import GPS_IFD, jpeg_with_gps

pytestmark = pytest.mark.e2e

FORM_PAGE_BUDGET = 30 * 1024  # bytes on the wire, headers included
DESCRIPTION = "平江路 <b>18 号</b> 门口窨井盖缺了一角，晚上看不清，老人容易踩空"

# Every element with text of its own, and every field: its colour against the first opaque background behind
# it (WCAG relative luminance), and its line height against its font size. Answers the ones that fall short.
_READABILITY = """() => {
  const parse = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => [r, g, b].map((v) => {
    v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  }).reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
  const behind = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const bg = parse(getComputedStyle(e).backgroundColor);
      if (bg.length === 3 || (bg.length === 4 && bg[3] === 1)) return bg;
    }
    return [255, 255, 255];
  };
  const bad = [];
  let checked = 0;
  for (const el of document.body.querySelectorAll('*')) {
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    const field = ['INPUT', 'SELECT', 'TEXTAREA', 'BUTTON'].includes(el.tagName) && el.type !== 'hidden';
    if (!(own || field) || !el.getClientRects().length) continue;
    const style = getComputedStyle(el);
    const fg = lum(parse(style.color)), bg = lum(behind(el));
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    const spacing = parseFloat(style.lineHeight) / parseFloat(style.fontSize);
    checked++;
    if (ratio < 4.5) bad.push(`${el.tagName}.${el.className} contrast ${ratio.toFixed(2)}`);
    // One-line controls keep the browser's own line height (Chromium forces it); they wrap no text.
    const oneLine = el.tagName === 'SELECT' || el.tagName === 'INPUT';
    if (!oneLine && !(spacing >= 1.3)) bad.push(`${el.tagName}.${el.className} line-height ${style.lineHeight}`);
  }
  return {checked, bad};
}"""

# Every field a citizen fills has a label that names it (for=, or the label around it).
_UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea')]
  .filter((el) => el.type !== 'hidden' && !(el.labels && el.labels.length && el.labels[0].innerText.trim()))
  .map((el) => el.name)"""


@contextmanager
def _phone() -> Iterator[object]:
    if not shutil.which("chromium"):
        pytest.skip("Debian's chromium is not installed (.ci/run installs it: apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        context = browser.new_context(
            viewport={"width": 390, "height": 844}, locale="zh-CN", java_script_enabled=False, is_mobile=True
        )
        try:
            yield context
        finally:
            context.close()
            browser.close()


@pytest.fixture
def phone() -> Iterator[object]:
    with _phone() as context:
        yield context


def _demo(stack: Stack) -> tuple[dict[str, str], str]:
    """Loads the demo; answers its API keys and the station's intake URL."""
    stack.cli("demo")
    keys = json.loads((stack.data_dir / "demo-keys.json").read_text())
    admin = {"Authorization": f"Bearer {keys['admin']}"}
    codes = httpx.get(f"{stack.urls['intake']}/v1/intake-codes", headers=admin, params={"limit": 500}).json()
    return keys, next(c for c in codes["items"] if c["owner_type"] == "station")["url"]


def _readable(page) -> None:
    found = page.evaluate(_READABILITY)
    assert found["checked"] > 5 and found["bad"] == [], found["bad"]


def _font_size(page, selector: str) -> float:
    return float(page.locator(selector).first.evaluate("e => parseFloat(getComputedStyle(e).fontSize)"))


def _fill(page, description: str = DESCRIPTION) -> None:
    page.get_by_label("问题描述（必填）").fill(description)
    page.get_by_label("问题分类").select_option(label="市政设施")
    page.get_by_label("问题地点").fill("平江路 18 号")
    page.get_by_label("联系电话").fill("13912345678")


def _case(stack: Stack, keys: dict[str, str], tracking_no: str, status: str | None = None) -> dict:
    supervisor = {"Authorization": f"Bearer {keys['supervisor']}"}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = httpx.get(
            f"{stack.urls['supervision']}/v1/cases", params={"tracking_no": tracking_no}, headers=supervisor
        ).json()["items"]
        if found and (status is None or found[0]["status"] == status):
            return dict(found[0])
        time.sleep(0.3)
    raise AssertionError(f"case {tracking_no} not found with status {status}")


def test_form_page_weight_and_hosts(stack: Stack, phone) -> None:
    _, form_url = _demo(stack)
    page = phone.new_page()
    finished: list[tuple[str, int]] = []
    page.on(
        "requestfinished",
        lambda request: finished.append(
            (request.url, request.sizes()["responseBodySize"] + request.sizes()["responseHeadersSize"])
        ),
    )
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    page.goto(form_url)
    page.wait_for_load_state("networkidle")
    origin = urlsplit(stack.urls["intake"]).netloc
    assert failed == []
    assert [urlsplit(url).netloc for url, _ in finished] == [origin] * len(finished)
    total = sum(size for _, size in finished)
    print(f"form page: {len(finished)} request(s), {total} bytes on the wire")  # noqa: T201 (the measure)
    assert len(finished) == 1 and finished[0][0] == form_url  # the page alone: CSS inline, no icon asked
    assert total <= FORM_PAGE_BUDGET


def test_a_citizen_reports_with_a_photo_keeps_the_receipt_and_reads_it_large(stack: Stack, phone) -> None:
    keys, form_url = _demo(stack)
    page = phone.new_page()
    page.goto(form_url)
    assert page.evaluate(_UNLABELLED) == []
    assert page.get_by_role("heading", name="个人信息保护说明").is_visible()
    _readable(page)
    _fill(page)
    photo = jpeg_with_gps()
    assert Image.open(io.BytesIO(photo)).getexif().get_ifd(GPS_IFD)  # it does carry a position
    page.get_by_label("现场照片").set_input_files(
        [{"name": "IMG_0001.jpg", "mimeType": "image/jpeg", "buffer": photo}]
    )
    page.get_by_role("button", name="提交").click()

    # The receipt: the number large, a QR code of the page that scans back to it, how to come back.
    page.wait_for_url(re.compile(r"/t/GS\d{8}-\d{4,}\?k=[^&]+&new=1$"))
    number = page.locator(".no.big")
    tracking_no = number.inner_text().strip()
    assert re.fullmatch(r"GS\d{8}-\d{4,}", tracking_no)
    assert _font_size(page, ".no.big") >= 2 * _font_size(page, "main p")
    track_url = page.url.removesuffix("&new=1")
    qr = page.locator("svg.qr")
    assert qr.bounding_box()["width"] >= 180
    shot = Image.open(io.BytesIO(qr.screenshot()))
    assert [r.text for r in zxingcpp.read_barcodes(shot)] == [track_url]
    receipt = page.locator("main").inner_text()
    assert "截图或收藏" in receipt and "扫描上面的二维码" in receipt
    assert "13912345678" not in receipt and "139****5678" not in receipt
    _readable(page)

    # The stored photo kept none of the phone's metadata (read as staff do, with the supervisor's key).
    case = _case(stack, keys, tracking_no)
    supervisor = {"Authorization": f"Bearer {keys['supervisor']}"}
    supervision = stack.urls["supervision"]
    photos = httpx.get(f"{supervision}/v1/cases/{case['id']}/photos", headers=supervisor).json()
    assert len(photos) == 1
    stored = httpx.get(f"{supervision}/v1/photos/{photos[0]['id']}", headers=supervisor)
    assert stored.status_code == 200
    image = Image.open(io.BytesIO(stored.content))
    assert dict(image.getexif()) == {} and not image.getexif().get_ifd(GPS_IFD)
    assert not {"exif", "xmp", "icc_profile", "comment"} & set(image.info)
    assert image.height > image.width  # turned upright as the EXIF said, before it was dropped

    # The tracking page, once routing has dispatched it: the commitment with a date, no personal data.
    _case(stack, keys, tracking_no, status="dispatched")
    page.goto(track_url)
    body = page.locator("main").inner_text()
    assert "办理承诺" in body and "办理结果" in body and "办理过程" in body
    assert re.search(r"区城市管理局（主办）：\d{4}-\d{2}-\d{2} \d{2}:\d{2} 前答复", body)
    assert "13912345678" not in body and "139****5678" not in body and "窨井盖" not in body
    _readable(page)

    # Larger text, without JavaScript: a link; the choice is kept for the next pages.
    normal = _font_size(page, "body"), _font_size(page, "h1")
    page.get_by_role("link", name="放大字号").click()
    page.wait_for_url(re.compile(r"size=large"))
    large = _font_size(page, "body"), _font_size(page, "h1")
    assert large[0] >= 1.2 * normal[0] and large[1] >= 1.2 * normal[1]
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    _readable(page)
    page.goto(track_url)  # no size in the address: remembered
    assert _font_size(page, "body") == large[0]
    page.goto(form_url)
    assert _font_size(page, "body") == large[0]
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.get_by_role("link", name="标准字号").click()
    assert _font_size(page, "body") == normal[0]


def test_a_double_tap_makes_one_case(stack: Stack, phone) -> None:
    keys, form_url = _demo(stack)
    supervisor = {"Authorization": f"Bearer {keys['supervisor']}"}

    def count() -> int:
        response = httpx.get(
            f"{stack.urls['supervision']}/v1/cases", params={"limit": 500}, headers=supervisor
        )
        return len(response.json()["items"])

    before = count()
    # Two taps racing: the same form (the same submission key) posted twice at once, as a phone does when
    # the first tap seems to do nothing on a slow signal.
    first, second = phone.new_page(), phone.new_page()
    first.goto(form_url)
    second.goto(form_url)
    key = first.locator("input[name=submission_key]").get_attribute("value")
    second.locator("input[name=submission_key]").evaluate("(e, key) => { e.value = key }", key)
    posts: list[str] = []
    for page in (first, second):
        page.on("request", lambda request: posts.append(request.method) if request.method == "POST" else None)
        _fill(page)
    first.get_by_role("button", name="提交").click(no_wait_after=True)
    second.get_by_role("button", name="提交").click(no_wait_after=True)
    receipt = re.compile(r"/t/GS\d{8}-\d{4,}\?k=")
    first.wait_for_url(receipt)
    second.wait_for_url(receipt)
    assert posts == ["POST", "POST"]
    assert first.url == second.url  # both taps answer the one receipt
    # And a real double tap on one page (the browser may drop the second post; either way, one case).
    tapped = phone.new_page()
    tapped.goto(form_url)
    _fill(tapped, "拙政园东门外人行道地砖松动两块，下雨天踩上去溅水")
    tapped.get_by_role("button", name="提交").dblclick()
    tapped.wait_for_url(receipt)
    assert count() == before + 2


def test_a_refused_submission_keeps_what_was_typed(stack: Stack, phone) -> None:
    _, form_url = _demo(stack)
    # A variant of the stack: intake restarted with a limit of one submission per address.
    stack.stop("intake")
    stack.env["MINYI_LIMIT_SUBMISSIONS_PER_ADDRESS"] = "1/600"
    stack.start("intake")
    page = phone.new_page()
    page.goto(form_url)
    _fill(page, "第一次提交：平江路路灯不亮已经一周")
    page.get_by_role("button", name="提交").click()
    page.wait_for_url(re.compile(r"/t/GS\d{8}-\d{4,}\?k="))

    page.goto(form_url)
    _fill(page)
    page.get_by_label("标题").fill("窨井盖 <缺角>")
    response_status: list[int] = []
    page.on("response", lambda response: response_status.append(response.status))
    page.get_by_role("button", name="提交").click()
    page.wait_for_load_state()
    assert response_status[-1] == 429
    alert = page.get_by_role("alert").inner_text()
    assert "提交过于频繁" in alert and "分钟后再试" in alert and "仍保留" in alert
    assert page.get_by_label("问题描述（必填）").input_value() == DESCRIPTION
    assert page.get_by_label("标题").input_value() == "窨井盖 <缺角>"
    assert page.get_by_label("问题地点").input_value() == "平江路 18 号"
    assert page.get_by_label("联系电话").input_value() == "13912345678"
    assert page.locator("textarea b").count() == 0  # the markup stayed text
    _readable(page)
