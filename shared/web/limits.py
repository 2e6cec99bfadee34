"""A ceiling on every request body, counted as it streams: a client cannot make a service hold (or a
parser chew on) more than the route could ever need.

The declared Content-Length is refused at once; a body without one (chunked) is counted as it arrives and
refused the moment it passes the limit. Either way the answer is 413 in the API's error shape. Routes that
take photos get a larger limit than the rest, by path.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def too_large_message(limit: int) -> str:
    return f"提交的内容太大，不能超过 {limit / (1024 * 1024):g} MB"


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` while a route reads its body; FastAPI passes HTTP exceptions through its
    body parsing, so the error handlers answer 413 in the error shape."""

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=too_large_message(limit))


class BodySizeLimitMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int,
        large_max_bytes: int | None = None,
        large_paths: Sequence[str] = (),
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.large_max_bytes = large_max_bytes if large_max_bytes is not None else max_bytes
        self.large_paths = [re.compile(p) for p in large_paths]

    def limit_for(self, path: str) -> int:
        if any(p.fullmatch(path) for p in self.large_paths):
            return self.large_max_bytes
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.max_bytes <= 0:
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _refuse(send, limit)
            return
        seen = 0

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, counting_receive, send)


async def _refuse(send: Send, limit: int) -> None:
    error = {"code": "payload_too_large", "message": too_large_message(limit), "details": []}
    body = json.dumps({"error": error}, ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                # The body was not read: the connection cannot be reused for another request.
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
