"""Request ids: taken from X-Request-ID when the caller sends a sane one, bound to every log line, echoed back."""

from __future__ import annotations

import secrets
import time

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.logs import sane_request_id

log = structlog.get_logger("minyi.http")


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = sane_request_id(incoming) or secrets.token_hex(8)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        tokens = structlog.contextvars.bind_contextvars(request_id=request_id)
        failed = False
        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # Left bound: the catch-all error handler runs outside this middleware (Starlette's
            # ServerErrorMiddleware), in this same task, and its line must name the request too. Each request
            # runs in its own task, whose context ends with it.
            failed = True
            raise
        finally:
            log.info(
                "request",
                method=scope["method"],
                path=scope["path"],
                status=status,
                ms=round((time.perf_counter() - started) * 1000, 1),
            )
            if not failed:
                structlog.contextvars.reset_contextvars(**tokens)
