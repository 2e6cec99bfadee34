"""Server-rendered pages of supervision_api (the dashboard): one Jinja2 environment that autoescapes every
template, times shown in Asia/Shanghai, and the headers every page carries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from shared.web.pages import PAGE_HEADERS, page_environment

TEMPLATES = Path(__file__).parent / "templates"


_env = page_environment(TEMPLATES)
templates = Jinja2Templates(env=_env)


def render(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    return templates.TemplateResponse(request, name, context, status_code=status_code, headers=PAGE_HEADERS)
