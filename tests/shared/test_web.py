"""The plumbing every service shares: error shapes in Chinese, 503 when the database is away, health checks."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import text

from shared.db.engine import build_engine
from shared.errors import NotFound
from shared.web.app import create_service_app
from shared.web.db import Session
from tests.asgi import client_for, running

router = APIRouter()


class Body(BaseModel):
    description: str = Field(min_length=5)
    count: int


@router.post("/things")
async def make_thing(body: Body, session: Session) -> dict[str, int]:
    return {"one": (await session.execute(text("SELECT 1"))).scalar_one()}


@router.post("/echo")
async def echo(body: Body, session: Session) -> dict[str, str]:
    return {
        "v": (await session.execute(text("SELECT CAST(:v AS text)"), {"v": body.description})).scalar_one()
    }


@router.get("/things/{thing_id}")
async def get_thing(
    thing_id: int, session: Session, limit: Annotated[int, Query(le=5)] = 1
) -> dict[str, int]:
    raise NotFound("没有这个东西")


def _app(engine):
    return create_service_app(service="t", title="t", description="t", routers=[router], engine=engine)


async def test_validation_errors_are_422_with_one_chinese_detail_per_field(engine) -> None:
    app = _app(engine)
    async with running(app), client_for(app) as client:
        response = await client.post("/things", json={"description": "abc", "count": "many"})
        assert response.status_code == 422
        error = response.json()["error"]
        assert error["code"] == "validation_error" and error["message"] == "提交的内容有误"
        assert {d["field"]: d["message"] for d in error["details"]} == {
            "description": "内容太短",
            "count": "应为整数",
        }
        bad_json = await client.post(
            "/things", content=b"{not json", headers={"content-type": "application/json"}
        )
        assert bad_json.status_code == 422
        assert (await client.get("/things/1?limit=99")).status_code == 422
        assert (await client.get("/things/abc")).status_code == 422
        # A NUL character passes pydantic but not PostgreSQL: still a 422, not a 500.
        nul = await client.post("/echo", json={"description": "abc\u0000def", "count": 1})
        assert nul.status_code == 422 and nul.json()["error"]["code"] == "validation_error"


async def test_domain_errors_and_unknown_routes_use_the_error_shape(engine) -> None:
    app = _app(engine)
    async with running(app), client_for(app) as client:
        response = await client.get("/things/7")
        assert response.status_code == 404
        assert response.json() == {"error": {"code": "not_found", "message": "没有这个东西", "details": []}}
        missing = await client.get("/nowhere")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
        assert response.headers["x-request-id"]


async def test_database_away_means_503_not_500() -> None:
    engine = build_engine("postgresql://postgres@127.0.0.1:1/none", pool_size=1)
    app = _app(engine)
    try:
        async with running(app), client_for(app) as client:
            response = await client.post("/things", json={"description": "abcdef", "count": 1})
            assert response.status_code == 503
            assert response.json()["error"]["message"] == "数据库暂时不可用，请稍后重试"
            assert (await client.get("/readyz")).status_code == 503
            assert (await client.get("/healthz")).status_code == 200
    finally:
        await engine.dispose()


async def test_ready_when_migrated(engine) -> None:
    app = _app(engine)
    async with running(app), client_for(app) as client:
        ready = await client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["database"] == "ok"
