"""In-process HTTP between services: an httpx transport that hands each request to the ASGI app named by
the URL's host, so the relay can deliver events to the services without sockets."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager

import httpx
from fastapi import FastAPI


class HostRouter(httpx.AsyncBaseTransport):
    def __init__(self, apps: Mapping[str, FastAPI], fallback: httpx.AsyncBaseTransport | None = None) -> None:
        self._transports = {host: httpx.ASGITransport(app=app) for host, app in apps.items()}
        self._fallback = fallback

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        transport = self._transports.get(request.url.host)
        if transport is None:
            if self._fallback is None:
                raise httpx.ConnectError(f"no app for host {request.url.host}", request=request)
            transport = self._fallback
        return await transport.handle_async_request(request)


@asynccontextmanager
async def running(*apps: FastAPI) -> AsyncIterator[None]:
    """Runs the apps' lifespans (httpx's ASGI transport does not)."""
    async with AsyncExitStack() as stack:
        for app in apps:
            await stack.enter_async_context(app.router.lifespan_context(app))
        yield


def client_for(app: FastAPI, base_url: str = "http://test") -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url)
