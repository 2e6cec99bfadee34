"""The services' side of the metrics: timing every request by its route template, and GET /metrics."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.errors import Unauthorized
from shared.observability.metrics import (
    METRICS_PATH,
    UNMATCHED_ROUTE,
    exposition,
    observe_request,
    token_accepted,
)


def route_template(scope: Scope) -> str:
    """The path template of the route that answered (``/v1/cases/{case_id}``), never the path itself (ids,
    tracking numbers and tokens would make a series each); ``unmatched`` when no route did."""
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return template if isinstance(template, str) and template else UNMATCHED_ROUTE


class MetricsMiddleware:
    """Counts and times each request (minyi_http_requests_total, minyi_http_request_duration_seconds); the
    scrapes of /metrics itself are left out."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] == METRICS_PATH:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the catch-all handler answers when an error escapes before the answer began

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            seconds = time.perf_counter() - started
            observe_request(self.service, scope["method"], route_template(scope), status, seconds)


def metrics_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get(METRICS_PATH)
    def metrics(request: Request) -> Response:
        """Prometheus text format; with MINYI_METRICS_TOKEN set, only for ``Authorization: Bearer <token>``."""
        if not token_accepted(request.headers.get("authorization")):
            raise Unauthorized("缺少或无效的监控访问令牌")
        body, content_type = exposition()
        return Response(body, media_type=content_type)

    return router
