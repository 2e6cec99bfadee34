"""A citizen's phone, for real: Debian's chromium (driven by Playwright, JavaScript off) at phone width opens
the intake page of a running intake_api, fills the form, submits and reads the receipt."""

from __future__ import annotations

import json
import re
import shutil
import time

import httpx
import pytest

from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture
def phone():
    if not shutil.which("chromium"):
        pytest.skip("Debian's chromium is not installed (.ci/run installs it: apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        context = browser.new_context(
            viewport={"width": 360, "height": 740}, locale="zh-CN", java_script_enabled=False, is_mobile=True
        )
        yield context.new_page()
        context.close()
        browser.close()


def test_citizen_submits_the_form_on_a_phone(stack: Stack, phone) -> None:
    stack.cli("demo")
    keys = json.loads((stack.data_dir / "demo-keys.json").read_text())
    admin = {"Authorization": f"Bearer {keys['admin']}"}
    codes = httpx.get(f"{stack.urls['intake']}/v1/intake-codes", headers=admin, params={"limit": 500}).json()
    station_code = next(c for c in codes["items"] if c["owner_type"] == "station")

    phone.goto(station_code["url"])
    assert phone.locator("html").get_attribute("lang") == "zh-CN"
    assert "平江街道人大代表联络站" in phone.locator("body").inner_text()
    # Nothing on the page is wider than the phone.
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360

    # First a mistake: the server answers with the form again, the values kept and the error in Chinese.
    description = "拙政园门口人行道 <b>地砖</b> 松动，老人容易绊倒"
    phone.get_by_label("问题描述（必填）").fill(description)
    phone.get_by_label("问题分类").select_option(label="市政设施")
    phone.get_by_label("所在网格").select_option(label="拙政园网格")
    phone.get_by_label("联系电话").fill("12")
    phone.get_by_role("button", name="提交").click()
    assert phone.get_by_role("alert").is_visible()
    assert phone.locator("#submitter_phone-error").inner_text().strip() != ""
    assert phone.get_by_label("问题描述（必填）").input_value() == description
    assert phone.locator("textarea b").count() == 0  # the markup stayed text

    phone.get_by_label("联系电话").fill("13912345678")
    phone.get_by_role("button", name="提交").click()
    phone.wait_for_url(re.compile(r"/t/GS\d{8}-\d{4,}\?k=.+&new=1$"))
    receipt = phone.locator("body").inner_text()
    assert "提交成功" in receipt
    tracking_no = re.search(r"GS\d{8}-\d{4,}", receipt)
    assert tracking_no is not None
    assert "13912345678" not in receipt and "139****5678" not in receipt

    # The case is real: routing dispatches it to the city managers, as the public page then shows.
    supervisor = {"Authorization": f"Bearer {keys['supervisor']}"}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = httpx.get(
            f"{stack.urls['supervision']}/v1/cases",
            params={"tracking_no": tracking_no.group()},
            headers=supervisor,
        ).json()["items"]
        if found and found[0]["status"] == "dispatched":
            break
        time.sleep(0.3)
    else:
        raise AssertionError("the submitted case was not dispatched")
    assert found[0]["category_code"] == "urban.municipal"
    phone.reload()
    assert "区城市管理局" in phone.locator("body").inner_text()
