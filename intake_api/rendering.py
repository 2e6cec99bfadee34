"""Server-rendered pages: one Jinja2 environment (autoescaping every template), times in Asia/Shanghai, and
the citizen's choice of text size."""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import escape
from starlette.datastructures import URL

from services.intake.form_page import IntakeForm
from shared.errors import TooManyRequests
from shared.web.pages import PAGE_HEADERS, page_environment

TEMPLATES = Path(__file__).parent / "templates"


_env = page_environment(TEMPLATES)
templates = Jinja2Templates(env=_env)


# The larger-text switch (适老化) works without JavaScript: a link to the same page with ``?size=large`` (or
# ``normal``) renders it so and keeps the choice in a cookie, which the next pages (the form's receipt, the
# progress page) read. "large" sets the root font size, so every size given in rem grows with it.
TEXT_SIZE_COOKIE = "minyi_text_size"
TEXT_SIZES = ("normal", "large")
_TEXT_SIZE_MAX_AGE = 365 * 24 * 3600


def text_size(request: Request) -> str:
    """The size this page is shown in: asked in the address, else remembered, else normal."""
    asked = request.query_params.get("size")
    if asked in TEXT_SIZES:
        return asked
    return "large" if request.cookies.get(TEXT_SIZE_COOKIE) == "large" else "normal"


def _size_href(request: Request, size: str, page: str | None) -> str:
    """The switch's link: this page (``page``, its address to GET, when answering a post) in the other size."""
    if page is None:
        page = request.url.path + (
            f"?{request.url.query}" if request.method == "GET" and request.url.query else ""
        )
    other = "normal" if size == "large" else "large"
    return str(URL(page).include_query_params(size=other))


def _remember_size(request: Request, response: Response) -> None:
    asked = request.query_params.get("size")
    if asked == "large":
        response.set_cookie(
            TEXT_SIZE_COOKIE,
            "large",
            max_age=_TEXT_SIZE_MAX_AGE,
            path="/",
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )
    elif asked == "normal" and TEXT_SIZE_COOKIE in request.cookies:
        response.delete_cookie(TEXT_SIZE_COOKIE, path="/")


def render(
    request: Request,
    name: str,
    context: dict[str, Any],
    status_code: int = 200,
    *,
    page: str | None = None,
    size_switch: bool = True,
) -> HTMLResponse:
    """The page in the size the citizen chose; ``page`` is its address to GET when answering a post.
    ``size_switch=False`` leaves the switch out (a short error page, which then never echoes its address)."""
    size = text_size(request)
    href = _size_href(request, size, page) if size_switch else None
    context = {**context, "large": size == "large", "size_href": href}
    response = templates.TemplateResponse(
        request, name, context, status_code=status_code, headers=PAGE_HEADERS
    )
    _remember_size(request, response)
    return response


# Profiled: rendering the form (its category list above all) was the largest cost of a scan. A fresh form is
# the same page for every scan of a code but for its submission key, so it is rendered once per form (the
# directory's facts) with a slot, and each scan only fills in its key.
_KEY_SLOT = "@@submission-key@@"


@lru_cache(maxsize=256)
def _blank_form_parts(slotted: IntakeForm, size: str) -> tuple[str, str]:
    html = _env.get_template("intake_form.html").render(
        form=slotted,
        values={},
        errors={},
        large=size == "large",
        size_href=_form_size_href(slotted.token, size),
    )
    head, tail = html.split(_KEY_SLOT)  # exactly one slot: the hidden field
    return head, tail


def _form_size_href(token: str, size: str) -> str:
    other = "normal" if size == "large" else "large"
    return str(URL(f"/c/{quote(token, safe='')}").include_query_params(size=other))


def blank_form(request: Request, form: IntakeForm) -> HTMLResponse:
    """The form as a scan first sees it: no values, no messages, in the size the citizen chose."""
    head, tail = _blank_form_parts(replace(form, submission_key=_KEY_SLOT), text_size(request))
    response = HTMLResponse(head + str(escape(form.submission_key)) + tail, headers=PAGE_HEADERS)
    _remember_size(request, response)
    return response


def not_found(request: Request, message: str) -> HTMLResponse:
    return render(request, "not_found.html", {"message": message}, 404, size_switch=False)


def too_many(request: Request, exc: TooManyRequests) -> HTMLResponse:
    """429 for a page: what happened and when to try again."""
    response = render(request, "too_many.html", {"message": exc.detail_message}, 429, size_switch=False)
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


def code_gone(request: Request, *, replaced: bool = False) -> HTMLResponse:
    """410: a revoked code, or (``replaced``) a token its code was rotated away from."""
    return render(request, "code_gone.html", {"replaced": replaced}, 410, size_switch=False)
