"""Signing in to the dashboard: the session cookie's flags, the token kept only as a hash, the 12-hour end, a
revoked key, signing out, CSRF on both forms, the roles allowed, and the limit on attempts per address."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.supervision.dashboard.sessions import csrf_for_session
from shared.db.models import ApiKey, DashboardSession
from shared.security.keys import sha256_hex
from shared.settings import get_settings
from tests.asgi import client_for
from tests.factories import World
from tests.supervision_api.dashboard_arrange import (
    login_form,
    set_cookie_headers,
    sign_in,
    signed_in,
)


async def _is_signed_in(client: httpx.AsyncClient) -> bool:
    """The sign-in page sends a signed-in browser on to the dashboard."""
    page = await client.get("/dashboard/login")
    return page.status_code == 303 and page.headers["location"] == "/dashboard"


async def _sessions(session: AsyncSession) -> list[DashboardSession]:
    session.expire_all()
    return list(await session.scalars(select(DashboardSession)))


async def test_an_unauthenticated_visit_goes_to_the_sign_in_page(client: httpx.AsyncClient) -> None:
    response = await client.get("/dashboard")
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard/login"
    page = await client.get("/dashboard/login")
    assert page.status_code == 200
    assert '<html lang="zh-CN">' in page.text and "登录督办看板" in page.text
    assert 'type="password"' in page.text and 'method="post"' in page.text
    assert page.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    [nonce] = set_cookie_headers(page, "minyi_dash_pre")
    assert "HttpOnly" in nonce and "SameSite=strict" in nonce and "Path=/dashboard" in nonce


async def test_signing_in_sets_a_strict_http_only_cookie_and_keeps_only_its_hash(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    key = world.keys["supervisor"]
    response = await sign_in(client, key)
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard"
    [cookie] = set_cookie_headers(response, "minyi_dash")
    token = cookie.split(";")[0].split("=", 1)[1]
    assert len(token) >= 43  # 32 random bytes, base64url
    for flag in ("HttpOnly", "SameSite=strict", "Path=/dashboard", "Max-Age=43200"):
        assert flag in cookie
    assert "Secure" not in cookie  # plain http here; see the https test
    # The pre-sign-in cookie is gone; neither the key nor the token is in any URL.
    assert any("minyi_dash_pre=" in h and "Max-Age=0" in h for h in response.headers.get_list("set-cookie"))
    assert key not in response.headers["location"] and token not in response.headers["location"]

    [row] = await _sessions(session)
    assert row.token_hash == sha256_hex(token) and row.token_hash != token
    assert timedelta(hours=11, minutes=59) < row.expires_at - row.created_at <= timedelta(hours=12)
    key_row = await session.scalar(select(ApiKey).where(ApiKey.id == row.api_key_id))
    assert key_row is not None and key_row.role == "supervisor"
    assert await _is_signed_in(client)


async def test_the_cookie_is_secure_over_https(app: FastAPI, world: World) -> None:
    async with client_for(app, base_url="https://test") as client:
        response = await sign_in(client, world.keys["admin"])
    assert response.status_code == 303
    [cookie] = set_cookie_headers(response, "minyi_dash")
    assert "Secure" in cookie


async def test_the_setting_makes_the_cookie_secure_behind_a_tls_proxy(
    client: httpx.AsyncClient, world: World
) -> None:
    csrf = await login_form(client)  # over plain http, the client would not send a Secure cookie back
    settings = get_settings()
    settings.dashboard_secure_cookies = True
    try:
        response = await client.post("/dashboard/login", data={"key": world.keys["admin"], "csrf": csrf})
        page = await client.get("/dashboard/login")
    finally:
        settings.dashboard_secure_cookies = False
    [cookie] = set_cookie_headers(response, "minyi_dash")
    assert "Secure" in cookie
    [nonce] = set_cookie_headers(page, "minyi_dash_pre")
    assert "Secure" in nonce


async def test_a_session_ends_after_twelve_hours(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    await signed_in(client, world.keys["supervisor"])
    await session.execute(
        update(DashboardSession).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    )
    await session.commit()
    response = await client.get("/dashboard")
    assert response.status_code == 303 and response.headers["location"] == "/dashboard/login"
    assert any("Max-Age=0" in h for h in set_cookie_headers(response, "minyi_dash"))
    assert await _sessions(session) == []


async def test_ended_sessions_are_cleared_at_the_next_sign_in(
    app: FastAPI, client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    await signed_in(client, world.keys["admin"])
    await session.execute(
        update(DashboardSession).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    )
    await session.commit()
    async with client_for(app) as other:
        await signed_in(other, world.keys["supervisor"])
    [row] = await _sessions(session)
    key_row = await session.scalar(select(ApiKey).where(ApiKey.id == row.api_key_id))
    assert key_row is not None and key_row.role == "supervisor"


async def test_last_seen_is_written_at_most_once_a_minute(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    await signed_in(client, world.keys["supervisor"])
    recent = datetime.now(UTC) - timedelta(seconds=30)
    await session.execute(update(DashboardSession).values(last_seen_at=recent))
    await session.commit()
    assert await _is_signed_in(client)
    [row] = await _sessions(session)
    assert row.last_seen_at == recent
    old = datetime.now(UTC) - timedelta(minutes=2)
    await session.execute(update(DashboardSession).values(last_seen_at=old))
    await session.commit()
    assert await _is_signed_in(client)
    [row] = await _sessions(session)
    assert row.last_seen_at > old + timedelta(seconds=100)


async def test_revoking_the_key_ends_its_sessions(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    await signed_in(client, world.keys["supervisor"])
    [row] = await _sessions(session)
    await session.execute(
        update(ApiKey).where(ApiKey.id == row.api_key_id).values(revoked_at=datetime.now(UTC))
    )
    await session.commit()
    response = await client.get("/dashboard")
    assert response.status_code == 303 and response.headers["location"] == "/dashboard/login"
    assert await _sessions(session) == []
    # Nor can it sign in again.
    again = await sign_in(client, world.keys["supervisor"])
    assert again.status_code == 401 and "无效或已吊销" in again.text


async def test_signing_out_deletes_the_session_and_the_cookie(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    await signed_in(client, world.keys["supervisor"])
    [cookie] = [c for c in client.cookies.jar if c.name == "minyi_dash"]
    token = cookie.value
    response = await client.post("/dashboard/logout", data={"csrf": csrf_for_session(token)})
    assert response.status_code == 303 and response.headers["location"] == "/dashboard/login"
    assert any("Max-Age=0" in h for h in set_cookie_headers(response, "minyi_dash"))
    assert await _sessions(session) == []
    assert not await _is_signed_in(client)
    # The old token is worth nothing even if a copy of the cookie was kept.
    client.cookies.set("minyi_dash", token, path="/dashboard")
    assert (await client.get("/dashboard")).status_code == 303


async def test_signing_in_without_or_with_a_wrong_csrf_token_is_refused(
    app: FastAPI, client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    key = world.keys["supervisor"]
    csrf = await login_form(client)
    missing = await client.post("/dashboard/login", data={"key": key})
    assert missing.status_code == 403 and "表单已失效" in missing.text
    wrong = await client.post("/dashboard/login", data={"key": key, "csrf": csrf[:-2] + "00"})
    assert wrong.status_code == 403
    non_ascii = await client.post("/dashboard/login", data={"key": key, "csrf": "令牌"})
    assert non_ascii.status_code == 403
    # A token made for another browser's nonce does not fit this browser's cookie.
    async with client_for(app) as other:
        foreign = await login_form(other)
    fresh = await login_form(client)
    assert foreign != fresh
    forged = await client.post("/dashboard/login", data={"key": key, "csrf": foreign})
    assert forged.status_code == 403
    assert await _sessions(session) == []


async def test_signing_in_without_the_pre_sign_in_cookie_is_refused(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    csrf = await login_form(client)
    client.cookies.clear()
    response = await client.post("/dashboard/login", data={"key": world.keys["supervisor"], "csrf": csrf})
    assert response.status_code == 403
    assert await _sessions(session) == []


async def test_signing_out_without_or_with_a_wrong_csrf_token_is_refused(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    await signed_in(client, world.keys["supervisor"])
    for data in ({}, {"csrf": "0" * 64}):
        response = await client.post("/dashboard/logout", data=data)
        assert response.status_code == 403
        assert "表单已失效" in response.text and "<html" in response.text
        assert len(await _sessions(session)) == 1
        assert await _is_signed_in(client)


@pytest.mark.parametrize("role", ["deputy", "integrator", "dispatcher"])
async def test_other_roles_cannot_sign_in(
    client: httpx.AsyncClient, world: World, session: AsyncSession, role: str
) -> None:
    response = await sign_in(client, world.keys[role])
    assert response.status_code == 403
    assert "不能登录督办看板" in response.text
    assert 'type="password"' in response.text  # the form again
    assert set_cookie_headers(response, "minyi_dash") == []
    assert await _sessions(session) == []


@pytest.mark.parametrize("key", ["", "mk_nothing_here", "不是密钥", "mk_\x00_x", "mk_" + "a" * 5000])
async def test_a_wrong_key_is_a_401_page(
    client: httpx.AsyncClient, world: World, session: AsyncSession, key: str
) -> None:
    response = await sign_in(client, key)
    assert response.status_code == 401
    assert "访问密钥无效或已吊销" in response.text
    assert await _sessions(session) == []


@pytest.mark.parametrize("role", ["supervisor", "admin", "dept:urban_mgmt"])
async def test_supervisors_admins_and_departments_sign_in(
    client: httpx.AsyncClient, world: World, role: str
) -> None:
    await signed_in(client, world.keys[role])
    assert await _is_signed_in(client)


@pytest.fixture
def three_attempts() -> Iterator[None]:
    settings = get_settings()
    saved = settings.limit_dashboard_logins_per_address
    settings.limit_dashboard_logins_per_address = "3/600"
    yield
    settings.limit_dashboard_logins_per_address = saved


async def test_sign_in_attempts_are_limited_per_address(
    client: httpx.AsyncClient, world: World, session: AsyncSession, three_attempts: None
) -> None:
    for _ in range(3):
        assert (await sign_in(client, "mk_wrong_guess")).status_code == 401
    refused = await sign_in(client, world.keys["supervisor"])
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) > 0
    assert "登录尝试过于频繁" in refused.text
    assert await _sessions(session) == []
