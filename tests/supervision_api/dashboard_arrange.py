"""Signing a test client in to the dashboard through its form, as a browser would."""

from __future__ import annotations

import re

import httpx

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found is not None, "no CSRF field on the page"
    return found.group(1)


async def login_form(client: httpx.AsyncClient) -> str:
    """Opens the sign-in page (which sets the pre-sign-in cookie) and answers its CSRF token."""
    page = await client.get("/dashboard/login")
    assert page.status_code == 200, page.text
    return csrf_of(page.text)


async def sign_in(client: httpx.AsyncClient, key: str) -> httpx.Response:
    csrf = await login_form(client)
    return await client.post("/dashboard/login", data={"key": key, "csrf": csrf})


async def signed_in(client: httpx.AsyncClient, key: str) -> None:
    response = await sign_in(client, key)
    assert response.status_code == 303 and response.headers["location"] == "/dashboard", response.text


def set_cookie_headers(response: httpx.Response, name: str) -> list[str]:
    return [h for h in response.headers.get_list("set-cookie") if h.startswith(f"{name}=")]
