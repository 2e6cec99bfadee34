"""Sending one signed request with a total deadline and a capped answer, so no receiver can hold a relay.

httpx's own timeouts count per read: a server that trickles a byte every few seconds never trips them. Here
the whole attempt (connect, send, status line, the answer) runs under one deadline, and the answer is read
only up to a cap; the connection is dropped after that.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx

from shared.security.urls import PinnedTarget


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status_code: int | None
    error: str | None
    body: bytes = b""


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
    target: PinnedTarget,
    body: bytes,
    headers: dict[str, str],
    *,
    deadline: float,
    max_body: int,
) -> Outcome:
    """POSTs ``body``; 2xx is success. Never takes longer than ``deadline`` seconds in all."""
    if target.host_header:
        headers = {**headers, "host": target.host_header}
    extensions = {"sni_hostname": target.sni_hostname} if target.sni_hostname else None
    try:
        async with asyncio.timeout(deadline):
            async with client.stream(
                "POST", target.url, content=body, headers=headers, extensions=extensions
            ) as response:
                answer = await _read_capped(response, max_body)
    except TimeoutError:
        return Outcome(False, None, f"timeout: no complete answer within {deadline:g} s")
    except httpx.HTTPError as exc:
        return Outcome(False, None, f"{type(exc).__name__}: {exc}"[:500])
    ok = 200 <= response.status_code < 300
    error = None if ok else answer[:500].decode("utf-8", errors="replace") or f"HTTP {response.status_code}"
    return Outcome(ok, response.status_code, error, answer)


async def _read_capped(response: httpx.Response, max_body: int) -> bytes:
    if response.is_stream_consumed:  # an in-process transport hands over answers already read
        return response.content[:max_body]
    answer = bytearray()
    async for chunk in response.aiter_raw():
        answer += chunk[: max_body - len(answer)]
        if len(answer) >= max_body:
            break  # leaving the stream closes the connection; the rest is never read
    return bytes(answer)
