"""A real webhook receiver on loopback (a thread of its own) that records each request and answers as told.

    with receiving() as hook:             # answers 204
        ... hook.url, hook.requests       # Received(path, headers, body) in arrival order
    with receiving(answer=echo_headers):  # answers 500 with the request's headers in its body

Every request is answered by ``answer(path, headers, body)`` -> (status, body).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncEngine

from shared.events.relay import Relay
from shared.settings import Settings

Answer = Callable[[str, dict[str, str], bytes], tuple[int, bytes]]


def no_content(path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
    return 204, b""


def echo_headers(path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
    """A receiver that fails and, as some frameworks' error pages do, shows the request it got."""
    return 500, ("error; request was: " + json.dumps(headers)).encode()


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Hook:
    url: str
    requests: list[Received] = field(default_factory=list)

    def at(self, path: str) -> list[Received]:
        """The requests that came to ``url`` + ``path`` (endpoints told apart by their path)."""
        return [r for r in self.requests if r.path == urlsplit(self.url).path + path]


@contextmanager
def receiving(answer: Answer = no_content) -> Iterator[Hook]:
    lock = threading.Lock()
    hook = Hook(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            headers = {name.lower(): value for name, value in self.headers.items()}
            path = urlsplit(self.path).path
            with lock:
                hook.requests.append(Received(path, headers, body))
            status, content = answer(path, headers, body)
            self.send_response(status)
            self.send_header("content-length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    hook.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()


async def relay_once(engine: AsyncEngine, settings: Settings) -> None:
    """One relay round: fan out what is new, then deliver what is due and wait for every request."""
    async with Relay(engine, settings) as relay:
        await relay.fan_out()
        await relay.deliver_due()
