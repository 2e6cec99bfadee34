"""Server-rendered pages: one Jinja2 environment (autoescaping every template), times in Asia/Shanghai."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import escape

from services.intake.form_page import IntakeForm
from shared.errors import TooManyRequests

SHANGHAI = ZoneInfo("Asia/Shanghai")
TEMPLATES = Path(__file__).parent / "templates"


def local_time(value: datetime | None) -> str:
    """2026-11-22 14:05 in Beijing time, whatever the server's zone."""
    if value is None:
        return ""
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    # Templates ship with the code: compile each once per process, never stat the file per render.
    auto_reload=False,
)
_env.filters["local"] = local_time
templates = Jinja2Templates(env=_env)


# Pages carry a citizen's access key or a one-off submission key: no shared caches, no referrer. They use
# inline CSS only, load nothing, post only to themselves, and may not be framed (clickjacking of the form).
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
}


def render(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    return templates.TemplateResponse(request, name, context, status_code=status_code, headers=PAGE_HEADERS)


# Profiled: rendering the form (its category list above all) was the largest cost of a scan. A fresh form is
# the same page for every scan of a code but for its submission key, so it is rendered once per form (the
# directory's facts) with a slot, and each scan only fills in its key.
_KEY_SLOT = "@@submission-key@@"


@lru_cache(maxsize=256)
def _blank_form_parts(slotted: IntakeForm) -> tuple[str, str]:
    html = _env.get_template("intake_form.html").render(form=slotted, values={}, errors={})
    head, tail = html.split(_KEY_SLOT)  # exactly one slot: the hidden field
    return head, tail


def blank_form(form: IntakeForm) -> HTMLResponse:
    """The form as a scan first sees it: no values, no messages."""
    head, tail = _blank_form_parts(replace(form, submission_key=_KEY_SLOT))
    return HTMLResponse(head + str(escape(form.submission_key)) + tail, headers=PAGE_HEADERS)


def not_found(request: Request, message: str) -> HTMLResponse:
    return render(request, "not_found.html", {"message": message}, 404)


def too_many(request: Request, exc: TooManyRequests) -> HTMLResponse:
    """429 for a page: what happened and when to try again."""
    response = render(request, "too_many.html", {"message": exc.detail_message}, 429)
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


def code_gone(request: Request, *, replaced: bool = False) -> HTMLResponse:
    """410: a revoked code, or (``replaced``) a token its code was rotated away from."""
    return render(request, "code_gone.html", {"replaced": replaced}, 410)
