"""Server-rendered pages: one Jinja2 environment (autoescaping every template), times in Asia/Shanghai."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

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


def not_found(request: Request, message: str) -> HTMLResponse:
    return render(request, "not_found.html", {"message": message}, 404)


def code_gone(request: Request) -> HTMLResponse:
    return render(request, "code_gone.html", {}, 410)
