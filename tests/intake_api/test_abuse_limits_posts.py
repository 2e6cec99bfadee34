"""Abuse limits beyond submissions: photo uploads per address and per code (the form's photos each count),
ratings and supplements per address; refused with 429 and Retry-After, the pages keeping what was typed."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from shared.db.models import Feedback, Photo
from shared.settings import Settings, get_settings
from tests.intake_api.conftest import make_replied, submit
from tests.intake_api.photo_helpers import data_dir, image_bytes

_FIELDS = (
    "limit_uploads_per_address",
    "limit_uploads_per_code",
    "limit_case_posts_per_address",
)


@pytest.fixture
def limits():
    settings = get_settings()
    saved = {name: getattr(settings, name) for name in _FIELDS}
    for name in _FIELDS:
        setattr(settings, name, Settings.model_fields[name].default)
    yield settings
    for name, value in saved.items():
        setattr(settings, name, value)


@pytest.fixture
def storage(tmp_path):
    with data_dir(tmp_path) as path:
        yield path


def _photo(i: int) -> dict:
    return {"file": (f"p{i}.png", image_bytes("PNG"), "image/png")}


async def _photos(session) -> int:
    return (await session.execute(select(func.count()).select_from(Photo))).scalar_one()


async def test_uploads_past_the_address_limit_are_refused_before_decoding(
    client, world, session, limits, storage
):
    assert limits.limit_uploads_per_address == "40/600"
    assert limits.limit_uploads_per_code == "1200/3600"
    limits.limit_uploads_per_address = "3/600"
    token = world.station_code.token
    for i in range(3):
        response = await client.post(f"/v1/public/codes/{token}/photos", files=_photo(i))
        assert response.status_code == 201, response.text
    refused = await client.post(f"/v1/public/codes/{token}/photos", files=_photo(9))
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 600
    assert refused.json()["error"]["code"] == "too_many_requests"
    assert re.search(r"\d+ 分钟后再试", refused.json()["error"]["message"])
    assert await _photos(session) == 3


async def test_uploads_past_the_code_limit_are_refused_from_any_address(
    client, world, session, limits, storage
):
    limits.limit_uploads_per_code = "2/3600"
    token = world.station_code.token
    for i, address in enumerate(("10.0.0.1", "10.0.0.2")):
        response = await client.post(
            f"/v1/public/codes/{token}/photos", files=_photo(i), headers={"X-Forwarded-For": address}
        )
        assert response.status_code == 201
    assert (await client.post(f"/v1/public/codes/{token}/photos", files=_photo(3))).status_code == 429
    # Another code has its own count.
    assert (
        await client.post(f"/v1/public/codes/{world.deputy_code.token}/photos", files=_photo(4))
    ).status_code == 201


async def test_the_forms_photos_count_and_the_refused_form_keeps_the_text(
    client, world, session, limits, storage
):
    limits.limit_uploads_per_address = "2/600"
    token = world.station_code.token
    typed = "桥下<b>积水</b>很深"
    files = [("photos", (f"p{i}.png", image_bytes("PNG"), "image/png")) for i in range(3)]
    refused = await client.post(f"/c/{token}", data={"description": typed, "title": "积水"}, files=files)
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert "提交过于频繁" in refused.text and "照片没有保存" in refused.text
    assert "桥下&lt;b&gt;积水&lt;/b&gt;很深" in refused.text and 'value="积水"' in refused.text
    assert await _photos(session) == 0


async def test_ratings_past_the_limit_are_refused_and_the_page_keeps_the_comment(
    client, world, session, limits
):
    limits.limit_case_posts_per_address = "1/600"
    receipts = [(await submit(client, world.station_code.token)).json() for _ in range(3)]
    for receipt in receipts:
        await make_replied(session, world, receipt["tracking_no"])
    await session.commit()
    first, second, third = receipts
    rated = await client.post(
        f"/v1/public/cases/{first['tracking_no']}/feedback",
        params={"k": first["access_key"]},
        json={"rating": "satisfied"},
    )
    assert rated.status_code == 200, rated.text
    refused = await client.post(
        f"/v1/public/cases/{second['tracking_no']}/feedback",
        params={"k": second["access_key"]},
        json={"rating": "satisfied"},
    )
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    page = await client.post(
        f"/t/{third['tracking_no']}/feedback",
        params={"k": third["access_key"]},
        data={"rating": "dissatisfied", "comment": "还是<i>没</i>修好"},
    )
    assert page.status_code == 429 and int(page.headers["retry-after"]) >= 1
    assert "提交过于频繁" in page.text
    assert "还是&lt;i&gt;没&lt;/i&gt;修好" in page.text
    assert re.search(r'value="dissatisfied"[^>]*checked', page.text)
    assert (await session.execute(select(func.count()).select_from(Feedback))).scalar_one() == 1


async def test_supplements_count_against_the_same_limit(client, world, session, limits):
    limits.limit_case_posts_per_address = "0/600"  # no limit: the check itself lets everything through
    receipt = (await submit(client, world.station_code.token)).json()
    for _ in range(3):
        response = await client.post(
            f"/v1/public/cases/{receipt['tracking_no']}/supplement",
            params={"k": receipt["access_key"]},
            json={"text": "在平江路 88 号东侧"},
        )
        assert response.status_code == 409  # not returned: refused by state, never by the limit
    limits.limit_case_posts_per_address = "1/600"
    first = await client.post(
        f"/v1/public/cases/{receipt['tracking_no']}/supplement",
        params={"k": receipt["access_key"]},
        json={"text": "在平江路 88 号东侧"},
    )
    assert first.status_code == 409
    refused = await client.post(
        f"/v1/public/cases/{receipt['tracking_no']}/supplement",
        params={"k": receipt["access_key"]},
        json={"text": "在平江路 88 号东侧"},
    )
    assert refused.status_code == 429
