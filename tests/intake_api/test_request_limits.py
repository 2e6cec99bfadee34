"""Request limits: a body ceiling on every service (413 in the error shape), the rating form validated before
the case's row is locked, and a busy database (pool exhausted, lock wait cut short) answering 503."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI, Request
from sqlalchemy import text

from intake_api.app import UPLOAD_PATHS
from intake_api.app import create_app as create_intake_app
from routing_api.app import create_app as create_routing_app
from shared.db.engine import build_engine
from shared.settings import get_settings
from shared.web.errors import install_error_handlers
from shared.web.limits import BodySizeLimitMiddleware
from supervision_api.app import create_app as create_supervision_app
from tests.asgi import client_for, running
from tests.intake_api.conftest import make_replied, submit


def _assert_too_large(response: httpx.Response) -> None:
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "payload_too_large"
    assert "提交的内容太大" in error["message"] and "1 MB" in error["message"]
    assert error["details"] == []


@pytest.mark.parametrize("create", [create_intake_app, create_routing_app, create_supervision_app])
async def test_every_service_refuses_a_body_over_the_limit(engine, create):
    app = create(engine)
    big = b"x" * (get_settings().max_body_bytes + 1)
    async with running(app), client_for(app) as client:
        declared = await client.post(
            "/v1/anything", content=big, headers={"content-type": "application/json"}
        )
        _assert_too_large(declared)


async def test_a_streamed_body_is_counted_as_it_arrives(engine, world):
    app = create_intake_app(engine)
    chunk = b" " * 65536

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(get_settings().max_body_bytes // len(chunk) + 2):
            yield chunk

    async with running(app), client_for(app) as client:
        # No Content-Length (chunked): refused once the count passes the limit, while FastAPI reads it.
        response = await client.post(
            f"/v1/public/codes/{world.station_code.token}/cases",
            content=chunks(),
            headers={"content-type": "application/json"},
        )
        _assert_too_large(response)
        small = await submit(client, world.station_code.token)
        assert small.status_code == 201


def _echo_app(max_bytes: int, large_max_bytes: int) -> FastAPI:
    app = FastAPI()

    @app.post("/{path:path}")
    async def echo(request: Request) -> dict[str, int]:
        return {"received": len(await request.body())}

    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=max_bytes,
        large_max_bytes=large_max_bytes,
        large_paths=UPLOAD_PATHS,
    )
    install_error_handlers(app)
    return app


async def test_photo_routes_get_the_larger_limit():
    app = _echo_app(1000, 5000)

    async def streamed(size: int) -> AsyncIterator[bytes]:
        yield b"y" * size

    async with client_for(app) as client:
        for path in ("/v1/public/codes/abc123/photos", "/c/abc123"):
            assert (await client.post(path, content=b"y" * 4000)).json() == {"received": 4000}
            assert (await client.post(path, content=b"y" * 5001)).status_code == 413
            assert (await client.post(path, content=streamed(5001))).status_code == 413
        for path in ("/v1/public/codes/abc123/cases", "/c/abc123/more", "/t/GS1/feedback"):
            assert (await client.post(path, content=b"y" * 1000)).json() == {"received": 1000}
            too_large = await client.post(path, content=b"y" * 1001)
            assert too_large.status_code == 413 and too_large.json()["error"]["code"] == "payload_too_large"
            assert (await client.post(path, content=streamed(1001))).status_code == 413


async def _replied_case(client, world, session) -> tuple[str, str]:
    created = (await submit(client, world.station_code.token)).json()
    await make_replied(session, world, created["tracking_no"])
    return created["tracking_no"], created["access_key"]


async def test_an_invalid_rating_is_refused_without_waiting_on_the_row_lock(client, world, session, engine):
    tracking_no, key = await _replied_case(client, world, session)
    async with engine.connect() as holder:
        await holder.execute(
            text("SELECT 1 FROM cases WHERE tracking_no = :n FOR UPDATE"), {"n": tracking_no}
        )
        # A dispatcher holds the case: the invalid form is answered at once all the same.
        response = await asyncio.wait_for(
            client.post(f"/t/{tracking_no}/feedback", params={"k": key}, data={"rating": "很好"}), timeout=3
        )
        assert response.status_code == 422
        assert "请选择满意、基本满意或不满意" in response.text
        await holder.rollback()


@pytest.fixture
def short_timeouts():
    settings = get_settings()
    saved = (settings.db_lock_timeout_ms, settings.db_pool_timeout_seconds)
    settings.db_lock_timeout_ms = 300
    yield settings
    settings.db_lock_timeout_ms, settings.db_pool_timeout_seconds = saved


async def test_a_lock_wait_cut_short_answers_503(
    client, world, session, engine, database_url, short_timeouts
):
    tracking_no, key = await _replied_case(client, world, session)
    busy_engine = build_engine(database_url, pool_size=2)
    app = create_intake_app(busy_engine)
    try:
        async with running(app), client_for(app) as busy, engine.connect() as holder:
            await holder.execute(
                text("SELECT 1 FROM cases WHERE tracking_no = :n FOR UPDATE"), {"n": tracking_no}
            )
            for response in (
                await busy.post(
                    f"/t/{tracking_no}/feedback", params={"k": key}, data={"rating": "satisfied"}
                ),
                await busy.post(
                    f"/v1/public/cases/{tracking_no}/feedback",
                    params={"k": key},
                    json={"rating": "satisfied"},
                ),
            ):
                assert response.status_code == 503, response.text
                assert response.json()["error"] == {
                    "code": "service_unavailable",
                    "message": "系统繁忙，请稍后重试",
                    "details": [],
                }
                assert response.headers["retry-after"]
            await holder.rollback()
        async with busy_engine.connect() as conn:
            assert (await conn.execute(text("SHOW lock_timeout"))).scalar_one() == "300ms"
            assert (await conn.execute(text("SHOW statement_timeout"))).scalar_one() == "15s"
    finally:
        await busy_engine.dispose()


async def test_an_exhausted_pool_answers_503(client, world, database_url):
    created = (await submit(client, world.station_code.token)).json()
    small = build_engine(database_url, pool_size=1, max_overflow=0, pool_timeout=0.2)
    app = create_intake_app(small)
    try:
        async with running(app), client_for(app) as busy, small.connect() as taken:
            await taken.execute(text("SELECT 1"))
            # The one connection is taken: the case page waits pool_timeout for another, then gives up.
            response = await busy.get(
                f"/v1/public/cases/{created['tracking_no']}", params={"k": created["access_key"]}
            )
            assert response.status_code == 503, response.text
            assert response.json()["error"]["message"] == "系统繁忙，请稍后重试"
            assert response.headers["retry-after"]
        async with running(app), client_for(app) as free:
            response = await free.get(
                f"/v1/public/cases/{created['tracking_no']}", params={"k": created["access_key"]}
            )
            assert response.status_code == 200
    finally:
        await small.dispose()
