"""One delivery attempt: every resolved address tried in turn, Retry-After read, several signatures sent."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from shared.events.transport import lane_client, parse_retry_after, post
from shared.security import urls
from shared.security.keys import new_webhook_secret
from shared.security.urls import PinnedTarget
from shared.webhooks import signed_headers, verify


@contextmanager
def answering(status: int, headers: dict[str, str] | None = None) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", 0)))
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"


async def test_an_address_that_refuses_the_connection_passes_the_request_to_the_next():
    with answering(204) as url:
        async with lane_client(connections=2, timeout=5) as client:
            outcome = await post(
                client,
                [PinnedTarget(closed_port_url()), PinnedTarget(url)],
                b"{}",
                {},
                deadline=5,
                max_body=64,
            )
            only_dead = await post(
                client, [PinnedTarget(closed_port_url())], b"{}", {}, deadline=5, max_body=64
            )
    assert (outcome.ok, outcome.status_code) == (True, 204)
    assert not only_dead.ok and only_dead.error is not None and "ConnectError" in only_dead.error


async def test_an_answer_ends_the_attempt_even_when_other_addresses_remain():
    with answering(500) as failing, answering(204) as working:
        async with lane_client(connections=2, timeout=5) as client:
            outcome = await post(
                client, [PinnedTarget(failing), PinnedTarget(working)], b"{}", {}, deadline=5, max_body=64
            )
    assert (outcome.ok, outcome.status_code) == (False, 500)


async def test_retry_after_is_read_from_429_and_503_only():
    async with lane_client(connections=2, timeout=5) as client:
        with answering(429, {"retry-after": "120"}) as url:
            limited = await post(client, PinnedTarget(url), b"{}", {}, deadline=5, max_body=64)
        with answering(503, {"retry-after": "7"}) as url:
            unavailable = await post(client, PinnedTarget(url), b"{}", {}, deadline=5, max_body=64)
        with answering(500, {"retry-after": "120"}) as url:
            failed = await post(client, PinnedTarget(url), b"{}", {}, deadline=5, max_body=64)
    assert (limited.status_code, limited.retry_after) == (429, 120.0)
    assert unavailable.retry_after == 7.0
    assert failed.retry_after is None


def test_retry_after_as_an_http_date_counts_from_now():
    now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    assert parse_retry_after(format_datetime(now + timedelta(minutes=5), usegmt=True), now) == 300.0
    assert parse_retry_after(format_datetime(now - timedelta(minutes=5), usegmt=True), now) == 0.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None


def test_a_host_with_several_addresses_gives_a_target_for_each(monkeypatch):
    monkeypatch.setattr(urls, "_resolve", lambda host: ["93.184.216.34", "2606:2800:220:1::1"])
    targets = urls.pin_webhook_targets("https://hooks.example/minyi", frozenset())
    assert [t.url for t in targets] == ["https://93.184.216.34/minyi", "https://[2606:2800:220:1::1]/minyi"]
    assert {t.host_header for t in targets} == {"hooks.example"}


def test_during_a_rotation_both_secrets_sign_and_either_verifies():
    old, new = new_webhook_secret(), new_webhook_secret()
    body = b'{"type":"case.received"}'
    headers = signed_headers([new, old], "msg_1", body)
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert verify(old, body, headers) == {"type": "case.received"}
    assert verify(new, body, headers) == {"type": "case.received"}
