"""The worker's /metrics: a minimal HTTP server on the worker's event loop (asyncio streams, no framework).

It answers ``GET /metrics`` (and HEAD) with the exposition, honours MINYI_METRICS_TOKEN like the services, and
closes each connection after one answer. A port already taken (a second worker on the host) is a warning,
not a crash: that worker goes on without metrics.
"""

from __future__ import annotations

import asyncio
import json

import structlog

from shared.observability.metrics import METRICS_PATH, exposition, token_accepted

log = structlog.get_logger("minyi.metrics")

READ_SECONDS = 5.0
_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed"}
_ERRORS = {
    400: ("bad_request", "请求有误"),
    401: ("unauthorized", "缺少或无效的监控访问令牌"),
    404: ("not_found", "未找到该对象"),
    405: ("method_not_allowed", "不支持该请求方法"),
}


async def start_exporter(host: str, port: int) -> asyncio.Server | None:
    """Listens on host:port (0: a free port); None when the address cannot be had (logged as a warning)."""
    try:
        server = await asyncio.start_server(_serve_one, host, port)
    except OSError as exc:
        log.warning("metrics_port_unavailable", host=host, port=port, error=str(exc))
        return None
    bound = server.sockets[0].getsockname()[1] if server.sockets else port
    log.info("metrics_listening", host=host, port=bound, path=METRICS_PATH)
    return server


def _answer(status: int, body: bytes, content_type: str, head_only: bool = False) -> bytes:
    headers = [
        f"HTTP/1.1 {status} {_REASONS[status]}",
        f"Content-Type: {content_type}",
        f"Content-Length: {len(body)}",
        "Connection: close",
    ]
    if status == 401:
        headers.append("WWW-Authenticate: Bearer")
    return ("\r\n".join(headers) + "\r\n\r\n").encode("latin-1") + (b"" if head_only else body)


def _error(status: int) -> bytes:
    code, message = _ERRORS[status]
    body = json.dumps({"error": {"code": code, "message": message, "details": []}}, ensure_ascii=False)
    return _answer(status, body.encode(), "application/json")


def respond(head: bytes) -> bytes:
    """The whole answer to a request whose head (request line and headers) is ``head``."""
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3:
        return _error(400)
    method, target, _ = parts
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    if target.split("?", 1)[0] != METRICS_PATH:
        return _error(404)
    if method not in ("GET", "HEAD"):
        return _error(405)
    if not token_accepted(headers.get("authorization")):
        return _error(401)
    body, content_type = exposition()
    return _answer(200, body, content_type, head_only=method == "HEAD")


async def _serve_one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=READ_SECONDS)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            return  # a client that sends no request (or a huge head) gets nothing
        writer.write(respond(head))
        await writer.drain()
    except (ConnectionError, OSError):
        pass
    except Exception:
        log.exception("metrics_request_failed")
    finally:
        writer.close()
