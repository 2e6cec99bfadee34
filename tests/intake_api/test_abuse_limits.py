"""Abuse limits on the anonymous submission routes: 429 with Retry-After and a Chinese message, the form
again with what was typed, X-Forwarded-For only from a trusted proxy, one limit across processes."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select, text

from intake_api.app import create_app
from shared import ratelimit
from shared.db.models import Case
from shared.settings import Settings, get_settings
from tests.asgi import client_for, running
from tests.intake_api.conftest import submit

_FIELDS = (
    "trusted_proxies",
    "limit_submissions_per_address",
    "limit_submissions_per_code",
    "limit_tracking_misses_per_address",
)


@pytest.fixture
def limits():
    """The settings the limits read, restored afterwards; starting from the documented defaults."""
    settings = get_settings()
    saved = {name: getattr(settings, name) for name in _FIELDS}
    for name in _FIELDS:
        setattr(settings, name, Settings.model_fields[name].default)
    yield settings
    for name, value in saved.items():
        setattr(settings, name, value)


async def _cases(session) -> int:
    return (await session.execute(select(func.count()).select_from(Case))).scalar_one()


async def test_the_default_limit_refuses_the_eleventh_submission_from_one_address(
    client, world, session, limits
):
    assert limits.limit_submissions_per_address == "10/600"
    assert limits.limit_submissions_per_code == "300/3600"
    for _ in range(10):
        assert (await submit(client, world.station_code.token)).status_code == 201
    refused = await submit(client, world.station_code.token)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 600
    error = refused.json()["error"]
    assert error["code"] == "too_many_requests"
    assert re.fullmatch(r"提交过于频繁，请 \d+ 分钟后再试", error["message"])
    assert await _cases(session) == 10
    # Another code from the same address is the same address.
    assert (await submit(client, world.deputy_code.token)).status_code == 429


async def test_the_form_refused_keeps_what_the_citizen_typed(client, world, session, limits):
    limits.limit_submissions_per_address = "1/600"
    token = world.station_code.token
    page = await client.get(f"/c/{token}")
    key = re.search(r'name="submission_key" value="([^"]+)"', page.text).group(1)
    first = await client.post(
        f"/c/{token}", data={"description": "井盖松动，夜里有响声", "submission_key": key}
    )
    assert first.status_code == 303
    typed = "路口<b>红绿灯</b>坏了 & 没人修"
    refused = await client.post(
        f"/c/{token}", data={"description": typed, "title": "红绿灯", "submission_key": "x"}
    )
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 600
    assert "提交过于频繁" in refused.text and "您填写的内容仍保留在下方" in refused.text
    assert (
        "路口&lt;b&gt;红绿灯&lt;/b&gt;坏了 &amp; 没人修" in refused.text
        and "<b>红绿灯</b>" not in refused.text
    )
    assert 'value="红绿灯"' in refused.text
    assert "提交的内容有误" not in refused.text
    assert await _cases(session) == 1


async def test_forwarded_for_is_believed_only_from_a_trusted_proxy(client, world, limits):
    limits.limit_submissions_per_address = "1/600"
    url = f"/v1/public/codes/{world.station_code.token}/cases"
    body = {"description": "平江路垃圾桶满溢三天无人清运"}
    # The test client's peer is 127.0.0.1, not trusted: the header is the client's own word and ignored.
    assert (await client.post(url, json=body, headers={"X-Forwarded-For": "198.51.100.1"})).status_code == 201
    assert (await client.post(url, json=body, headers={"X-Forwarded-For": "198.51.100.2"})).status_code == 429

    limits.trusted_proxies = "127.0.0.0/8, 10.0.0.0/8"
    await _reset(client)
    for hops in ("203.0.113.5", "1.2.3.4, 203.0.113.6, 10.0.0.7"):
        assert (await client.post(url, json=body, headers={"X-Forwarded-For": hops})).status_code == 201
    # The nearest untrusted hop is the client, whatever it wrote to the left of it.
    again = await client.post(url, json=body, headers={"X-Forwarded-For": "9.9.9.9, 203.0.113.6"})
    assert again.status_code == 429


async def _reset(client) -> None:
    engine = client._transport.app.state.engine
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM rate_limits"))


async def test_a_code_limit_counts_every_address(client, world, limits):
    limits.trusted_proxies = "127.0.0.1"
    limits.limit_submissions_per_code = "2/3600"
    url = f"/v1/public/codes/{world.station_code.token}/cases"
    body = {"description": "平江路垃圾桶满溢三天无人清运"}
    answers = [
        (await client.post(url, json=body, headers={"X-Forwarded-For": f"203.0.113.{n}"})).status_code
        for n in range(3)
    ]
    assert answers == [201, 201, 429]
    assert (await submit(client, world.deputy_code.token)).status_code == 201


async def test_a_limit_holds_across_two_app_instances(engine, world, session, limits):
    """Two processes' worth: two apps with their own pools and caches on one database."""
    limits.limit_submissions_per_address = "3/600"
    first, second = create_app(engine), create_app(engine)
    async with running(first, second), client_for(first) as one, client_for(second) as two:
        answers = [(await submit(c, world.station_code.token)).status_code for c in (one, two, one, two)]
    assert answers == [201, 201, 201, 429]
    assert await _cases(session) == 3


async def test_old_windows_are_cleaned(engine):
    limit = ratelimit.Limit("test:addr:x", ratelimit.Rate.parse("5/60"))
    async with engine.connect() as conn:
        assert await ratelimit.hit(conn, [limit]) is None
        await conn.execute(text("UPDATE rate_limits SET window_start = window_start - interval '3 hours'"))
        assert await ratelimit.clean(conn, 7200) == 1
        assert await ratelimit.exhausted(conn, [limit]) is None
        await conn.commit()
    with pytest.raises(ValueError):
        ratelimit.Rate.parse("10/0")


async def test_wrong_key_lookups_are_limited_per_address(client, world, limits):
    assert limits.limit_tracking_misses_per_address == "20/600"
    limits.limit_tracking_misses_per_address = "3/600"
    limits.trusted_proxies = "127.0.0.1"
    created = (await submit(client, world.station_code.token)).json()
    number, key = created["tracking_no"], created["access_key"]
    guesser = {"X-Forwarded-For": "203.0.113.9"}
    for wrong in ("a" * 20, "b" * 20, "c" * 20):
        assert (
            await client.get(f"/v1/public/cases/{number}", params={"k": wrong}, headers=guesser)
        ).status_code == 404
    # Refused now, the right key included: a hit cannot be told from a refusal.
    for k in ("d" * 20, key):
        refused = await client.get(f"/v1/public/cases/{number}", params={"k": k}, headers=guesser)
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["retry-after"]) <= 600
        assert re.fullmatch(r"查询失败次数过多，请 \d+ 分钟后再试", refused.json()["error"]["message"])
    page = await client.get(f"/t/{number}", params={"k": key}, headers=guesser)
    assert page.status_code == 429 and "查询失败次数过多" in page.text and page.headers["retry-after"]
    posted = await client.post(
        f"/t/{number}/feedback", params={"k": key}, data={"rating": "satisfied"}, headers=guesser
    )
    assert posted.status_code == 429
    # The citizen's own address is not the guesser's.
    assert (await client.get(f"/v1/public/cases/{number}", params={"k": key})).status_code == 200
    assert (await client.get(f"/t/{number}", params={"k": key})).status_code == 200
