"""Server-rendered pages of supervision_api (the dashboard): one Jinja2 environment that autoescapes every
template, times shown in Asia/Shanghai, and the headers every page carries."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from shared.calendar import SHANGHAI

TEMPLATES = Path(__file__).parent / "templates"


def local_time(value: datetime | None) -> str:
    """2026-11-22 14:05 in Beijing time, whatever the server's zone."""
    if value is None:
        return ""
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def local_day(value: datetime | date | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(SHANGHAI).date()
    return value.isoformat()


_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    auto_reload=False,
)
_env.filters["local"] = local_time
_env.filters["day"] = local_day
templates = Jinja2Templates(env=_env)

# Pages show a jurisdiction's figures to a signed-in browser: never cached, never framed (clickjacking of the
# sign-out form), no referrer; inline CSS and inline SVG only, nothing loaded, forms post only to us.
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
