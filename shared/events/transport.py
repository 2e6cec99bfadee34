"""Sending one signed request with a total deadline and a capped answer, so no receiver can hold a relay.

httpx's own timeouts count per read: a server that trickles a byte every few seconds never trips them. Here
the whole attempt (connect, send, status line, the answer) runs under one deadline, and the answer is read
only up to a cap; the connection is dropped after that.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from shared.security.urls import PinnedTarget


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status_code: int | None
    error: str | None
    body: bytes = b""
    # Seconds the receiver asked us to wait (Retry-After on a 429 or 503), if it said.
    retry_after: float | None = None


def lane_client(
    *, connections: int, timeout: float, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """A client for one lane of the relay: lanes never share a connection pool, so a lane full of hung
    integrator connections cannot make our own services' deliveries wait for a free connection."""
    return httpx.AsyncClient(
        # identity: the answer is read raw and capped, so a compressed one could not be read anyway.
        headers={"user-agent": "minyi-webhooks/0.2", "accept-encoding": "identity"},
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        timeout=httpx.Timeout(timeout),
        follow_redirects=False,
        transport=transport,
    )


async def post(
    client: httpx.AsyncClient,
    targets: PinnedTarget | Sequence[PinnedTarget],
    body: bytes,
    headers: dict[str, str],
    *,
    deadline: float,
    max_body: int,
) -> Outcome:
    """POSTs ``body``; 2xx is success. Never takes longer than ``deadline`` seconds in all.

    Given several targets (the addresses a host name resolved to), a target that cannot be connected to
    passes the request on to the next one, within the same deadline; any answer ends the attempt.
    """
    candidates = [targets] if isinstance(targets, PinnedTarget) else list(targets)
    try:
        async with asyncio.timeout(deadline):
            for n, target in enumerate(candidates, start=1):
                try:
                    return await _post_one(client, target, body, headers, max_body)
                except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                    if n == len(candidates):
                        return Outcome(False, None, f"{type(exc).__name__}: {exc}"[:500])
    except TimeoutError:
        return Outcome(False, None, f"timeout: no complete answer within {deadline:g} s")
    except httpx.HTTPError as exc:
        return Outcome(False, None, f"{type(exc).__name__}: {exc}"[:500])
    return Outcome(False, None, "no address to send to")


async def _post_one(
    client: httpx.AsyncClient, target: PinnedTarget, body: bytes, headers: dict[str, str], max_body: int
) -> Outcome:
    if target.host_header:
        headers = {**headers, "host": target.host_header}
    extensions = {"sni_hostname": target.sni_hostname} if target.sni_hostname else None
    async with client.stream(
        "POST", target.url, content=body, headers=headers, extensions=extensions
    ) as response:
        answer = await _read_capped(response, max_body)
    ok = 200 <= response.status_code < 300
    error = None if ok else answer[:500].decode("utf-8", errors="replace") or f"HTTP {response.status_code}"
    retry_after = None
    if response.status_code in (429, 503):
        retry_after = parse_retry_after(response.headers.get("retry-after"))
    return Outcome(ok, response.status_code, error, answer, retry_after)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds from now: delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


async def _read_capped(response: httpx.Response, max_body: int) -> bytes:
    if response.is_stream_consumed:  # an in-process transport hands over answers already read
        return response.content[:max_body]
    answer = bytearray()
    async for chunk in response.aiter_raw():
        answer += chunk[: max_body - len(answer)]
        if len(answer) >= max_body:
            break  # leaving the stream closes the connection; the rest is never read
    return bytes(answer)
