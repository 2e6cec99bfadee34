"""The supervisors' dashboard (HTML, zh-CN, no JavaScript): sign in with an API key on a form, read the page,
sign out. The browser keeps only a session cookie (HttpOnly, SameSite=Strict, Path=/dashboard, Secure over
https); no key or token ever travels in a URL. Every form carries a CSRF token; sign-in attempts are limited per
client address (MINYI_LIMIT_DASHBOARD_LOGINS_PER_ADDRESS)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.supervision.dashboard import sessions, views
from services.supervision.dashboard.errors import CsrfRejected, FilterInvalid, KeyRejected, RoleNotAllowed
from shared import ratelimit
from shared.errors import MinyiError
from shared.ratelimit import Limit, Rate
from shared.security.apikeys import Principal
from shared.settings import get_settings
from shared.web.client_address import request_address
from shared.web.db import Session
from supervision_api.rendering import render

router = APIRouter(prefix="/dashboard", tags=["dashboard"])

SESSION_COOKIE = "minyi_dash"
NONCE_COOKIE = "minyi_dash_pre"  # the sign-in form's CSRF binding, before there is a session
COOKIE_PATH = "/dashboard"
LOGIN_PATH = "/dashboard/login"
_NONCE = re.compile(r"[A-Za-z0-9_-]{32,128}")


def _form_body(*fields: str) -> dict[str, Any]:
    properties = {name: {"type": "string"} for name in fields}
    schema = {"type": "object", "properties": properties}
    return {
        "requestBody": {
            "required": True,
            "content": {"application/x-www-form-urlencoded": {"schema": schema}},
        }
    }


def _secure(request: Request) -> bool:
    return request.url.scheme == "https" or get_settings().dashboard_secure_cookies


def _set_cookie(
    response: Response, request: Request, name: str, value: str, max_age: int | None = None
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )


def _drop_cookie(response: Response, request: Request, name: str) -> None:
    response.delete_cookie(name, path=COOKIE_PATH, httponly=True, samesite="strict", secure=_secure(request))


async def _signed_in(request: Request, session: Session) -> Principal | None:
    return await sessions.current(session, request.cookies.get(SESSION_COOKIE), datetime.now(UTC))


SignedIn = Annotated[Principal | None, Depends(_signed_in)]


def _to_login(request: Request) -> Response:
    response = RedirectResponse(LOGIN_PATH, status_code=303)
    if SESSION_COOKIE in request.cookies:
        _drop_cookie(response, request, SESSION_COOKIE)  # ended, revoked or unknown
    return response


def _problem(request: Request, exc: MinyiError, back_href: str, back_label: str) -> Response:
    context = {"message": exc.detail_message, "back_href": back_href, "back_label": back_label}
    return render(request, "dash_error.html", context, exc.status_code)


async def _form(request: Request) -> dict[str, str]:
    """The posted text fields (a sign-in form has two); files are refused with a 400."""
    form = await request.form(max_files=0, max_fields=8, max_part_size=8 * 1024)
    return {name: value for name, value in form.items() if isinstance(value, str)}


def _login_page(
    request: Request, message: str | None = None, status_code: int = 200, *, fresh_nonce: bool = False
) -> Response:
    nonce = request.cookies.get(NONCE_COOKIE) or ""
    new = fresh_nonce or not _NONCE.fullmatch(nonce)
    if new:
        nonce = sessions.new_token()
    context = {"csrf": sessions.csrf_for_nonce(nonce), "message": message}
    response = render(request, "dash_login.html", context, status_code)
    if new:
        _set_cookie(response, request, NONCE_COOKIE, nonce)
    return response


@router.get("", summary="The dashboard (HTML)", response_class=HTMLResponse)
async def dashboard(
    request: Request,
    session: Session,
    user: SignedIn,
    period: Annotated[
        str | None,
        Query(description="month (本月), 3m (近三个月, the default), year (今年), lastyear (去年)"),
    ] = None,
    category: Annotated[str | None, Query(description="A top-level category's code")] = None,
    grid: Annotated[str | None, Query(description="A grid's code")] = None,
) -> Response:
    """Signed-in browsers only (the session cookie from the sign-in form); others are sent to the sign-in page
    (303). Charts of the rates as inline SVG, the overdue list, key-supervision items, difficult cases, hot
    spots and the calendar warning; a department key sees its own assignments only. An unknown filter is a
    422 page."""
    if user is None:
        return _to_login(request)
    token = request.cookies[SESSION_COOKIE]
    try:
        filters = views.parse_filters(
            {"period": period or "", "category": category or "", "grid": grid or ""}
        )
        view = await views.build(session, user, filters)
    except FilterInvalid as exc:
        return _problem(request, exc, views.PATH, "返回看板")
    return render(request, "dashboard.html", {"view": view, "csrf": sessions.csrf_for_session(token)})


@router.get("/login", summary="The dashboard's sign-in form (HTML)", response_class=HTMLResponse)
async def login_page(request: Request, user: SignedIn) -> Response:
    if user is not None:
        return RedirectResponse(views.PATH, status_code=303)
    return _login_page(request)


async def _count_attempt(request: Request, session: Session) -> int | None:
    limits = [
        Limit(
            f"dashboard-login:addr:{request_address(request)}",
            Rate.parse(get_settings().limit_dashboard_logins_per_address),
        )
    ]
    # Counted in the request's transaction, which commits whatever the page says (no error is raised here).
    return await ratelimit.hit(await session.connection(), limits)


@router.post(
    "/login",
    summary="Sign in to the dashboard (HTML form: key, csrf)",
    response_class=HTMLResponse,
    openapi_extra=_form_body("key", "csrf"),
)
async def login(request: Request, session: Session) -> Response:
    """303 to /dashboard with the session cookie for a supervisor's, an admin's or a department's key; the form
    again with a message otherwise: 401 for an unknown or revoked key, 403 for another role or a missing or
    wrong CSRF token, 429 (with Retry-After) past the limit of attempts per address."""
    retry_after = await _count_attempt(request, session)
    if retry_after is not None:
        minutes = max(1, -(-retry_after // 60))
        response = _login_page(request, f"登录尝试过于频繁，请 {minutes} 分钟后再试", 429)
        response.headers["Retry-After"] = str(retry_after)
        return response
    values = await _form(request)
    nonce = request.cookies.get(NONCE_COOKIE) or ""
    if not _NONCE.fullmatch(nonce) or not sessions.nonce_csrf_accepted(nonce, values.get("csrf")):
        return _login_page(request, CsrfRejected.message, 403, fresh_nonce=True)
    try:
        signed = await sessions.sign_in(session, values.get("key", ""), datetime.now(UTC))
    except (KeyRejected, RoleNotAllowed) as exc:
        return _login_page(request, exc.detail_message, exc.status_code)
    response = RedirectResponse(views.PATH, status_code=303)
    max_age = int(sessions.SESSION_LIFETIME.total_seconds())
    _set_cookie(response, request, SESSION_COOKIE, signed.token, max_age=max_age)
    _drop_cookie(response, request, NONCE_COOKIE)
    return response


@router.post(
    "/logout",
    summary="Sign out of the dashboard (HTML form: csrf)",
    response_class=HTMLResponse,
    openapi_extra=_form_body("csrf"),
)
async def logout(request: Request, session: Session, user: SignedIn) -> Response:
    """Ends the session (its row and its cookie) and goes back to the sign-in page (303); a missing or wrong
    CSRF token is a 403 page and ends nothing."""
    if user is None:
        return _to_login(request)
    token = request.cookies[SESSION_COOKIE]
    values = await _form(request)
    if not sessions.session_csrf_accepted(token, values.get("csrf")):
        return _problem(request, CsrfRejected(), views.PATH, "返回看板")
    await sessions.sign_out(session, token)
    response = RedirectResponse(LOGIN_PATH, status_code=303)
    _drop_cookie(response, request, SESSION_COOKIE)
    return response
