"""The supervisors' dashboard in Debian's chromium (Playwright, JavaScript off) against the running services
with the demo loaded: a supervisor signs in through the form with the demo key, reads the charts (inline SVG,
each labelled), nothing is requested from another host, nothing is wider than a 390 px phone, the panels sit
in two columns at 1280 px, and signing out ends the session."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import Stack
from tests.e2e.test_browser import CHROMIUM, CHROMIUM_FLAGS

pytestmark = pytest.mark.e2e

CHARTS = {
    "各承办单位按期答复率",
    "每周受理、答复、办结件数（按受理周统计）",
    "办理进度漏斗：受理→交办→答复→办结",
    "满意度评价分布",
}

# Every element that is laid out and reaches past the viewport's right edge (or is wider than it).
_TOO_WIDE = """(limit) => [...document.querySelectorAll('body *')]
  .filter((e) => { const r = e.getBoundingClientRect(); return r.width > 0 && (r.right > limit + 0.5); })
  .map((e) => `${e.tagName}#${e.id}.${e.className && e.className.baseVal !== undefined ? e.className.baseVal : e.className} ${Math.round(e.getBoundingClientRect().right)}`)"""

_PANELS = """() => [...document.querySelectorAll('.panels > section')]
  .map((e) => { const r = e.getBoundingClientRect(); return {id: e.id, left: Math.round(r.left), top: Math.round(r.top), width: Math.round(r.width)}; })"""


@contextmanager
def _browser() -> Iterator[object]:
    if not shutil.which("chromium"):
        pytest.skip("Debian's chromium is not installed (.ci/run installs it: apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()


def _sign_in(page, base: str, key: str) -> None:
    page.goto(f"{base}/dashboard")
    assert page.url == f"{base}/dashboard/login"
    assert page.locator("input[name=key]").get_attribute("type") == "password"
    page.get_by_label("访问密钥").fill(key)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{base}/dashboard")


def _screenshot(page, name: str) -> None:
    """MINYI_SCREENSHOTS=<dir> keeps the pages as PNG files (for the README's description)."""
    folder = os.environ.get("MINYI_SCREENSHOTS")
    if folder:
        page.screenshot(path=f"{folder}/{name}.png", full_page=True)


def test_a_supervisor_reads_the_dashboard_in_a_browser(stack: Stack) -> None:
    stack.cli("demo")
    keys = json.loads((stack.data_dir / "demo-keys.json").read_text())
    base = stack.urls["supervision"]
    host = urlsplit(base).netloc
    with _browser() as browser:
        phone = browser.new_context(  # type: ignore[attr-defined]
            viewport={"width": 390, "height": 844}, locale="zh-CN", java_script_enabled=False, is_mobile=True
        )
        page = phone.new_page()
        hosts: list[str] = []
        page.on("request", lambda request: hosts.append(urlsplit(request.url).netloc))
        _sign_in(page, base, keys["supervisor"])
        assert keys["supervisor"] not in page.url
        cookies = {c["name"]: c for c in phone.cookies()}
        assert cookies["minyi_dash"]["httpOnly"] and cookies["minyi_dash"]["sameSite"] == "Strict"
        assert cookies["minyi_dash"]["path"] == "/dashboard"

        labels = page.locator("svg[aria-label]").evaluate_all(
            "els => els.map(e => e.getAttribute('aria-label'))"
        )
        assert set(labels) >= CHARTS, labels
        titles = page.locator("svg > title").all_text_contents()
        assert set(titles) >= CHARTS
        assert page.locator("#overdue h2").inner_text().startswith("超期未答复")
        assert page.locator("#key-items h2").is_visible() and page.locator("#hotspots h2").is_visible()

        assert page.evaluate(_TOO_WIDE, 390) == []
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        panels = page.evaluate(_PANELS)
        assert len({p["left"] for p in panels}) == 1, panels  # one column
        _screenshot(page, "dashboard-390")

        # A filter is a plain link; the page it opens keeps to the host too.
        page.get_by_role("link", name="今年").click()
        assert page.url == f"{base}/dashboard?period=year"
        assert page.locator("nav.filters a[aria-current]").first.inner_text() == "今年"

        page.get_by_role("button", name="退出登录").click()
        page.wait_for_url(f"{base}/dashboard/login")
        page.goto(f"{base}/dashboard")
        assert page.url == f"{base}/dashboard/login"
        assert hosts and set(hosts) == {host}, set(hosts)
        phone.close()

        desk = browser.new_context(  # type: ignore[attr-defined]
            viewport={"width": 1280, "height": 900}, locale="zh-CN", java_script_enabled=False
        )
        page = desk.new_page()
        _sign_in(page, base, keys["supervisor"])
        panels = {p["id"]: p for p in page.evaluate(_PANELS)}
        assert len({p["left"] for p in panels.values()}) == 2, panels  # two columns
        assert panels["rates"]["top"] == panels["weekly"]["top"]
        assert panels["rates"]["left"] < panels["weekly"]["left"]
        assert page.evaluate("document.documentElement.scrollWidth") <= 1280
        _screenshot(page, "dashboard-1280")
        desk.close()
