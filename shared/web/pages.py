"""What every server-rendered page of ours shares: one autoescaping Jinja2 environment per service (templates
compiled once per process), times shown in Beijing time whatever the server's zone, and the headers that keep a
page out of shared caches, frames and other sites' reach."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import jinja2

from shared.calendar import SHANGHAI

# Pages carry a citizen's access key, a one-off submission key or a signed-in jurisdiction's figures: no
# shared caches, no referrer, never framed (clickjacking of their forms); inline CSS and inline SVG or data:
# images only, nothing loaded from elsewhere, forms post only to us.
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


def local_time(value: datetime | None) -> str:
    """2026-11-22 14:05 in Beijing time, whatever the server's zone."""
    if value is None:
        return ""
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def local_day(value: datetime | date | None) -> str:
    """2026-11-22: a moment's Beijing day, or a date as it is."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(SHANGHAI).date()
    return value.isoformat()


def page_environment(templates: Path) -> jinja2.Environment:
    """Autoescaping every template, strict about undefined names, with the ``local`` and ``day`` filters."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        # Templates ship with the code: compile each once per process, never stat the file per render.
        auto_reload=False,
    )
    env.filters["local"] = local_time
    env.filters["day"] = local_day
    return env
