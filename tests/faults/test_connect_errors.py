"""The error the database-restart drill found, in a fast test: PostgreSQL refusing a new connection with an
error of its own (while it shuts down or starts up, past max_connections, an unknown database) reaches the app
as asyncpg's exception, not wrapped by SQLAlchemy. It must answer 503 with the error shape, not 500."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text
from sqlalchemy.engine import make_url

from shared.db.engine import build_engine
from shared.web.app import create_service_app
from shared.web.db import Session
from tests.asgi import client_for, running

router = APIRouter()


@router.get("/one")
async def one(session: Session) -> dict[str, int]:
    return {"one": (await session.execute(text("SELECT 1"))).scalar_one()}


async def test_a_connection_refused_by_the_server_answers_503(postgres_server_url: str) -> None:
    # The server answers the connection with FATAL 3D000: the same path as 57P03 during a restart.
    missing = make_url(postgres_server_url).set(database="minyi_no_such_database")
    engine = build_engine(missing.render_as_string(hide_password=False), pool_size=1)
    app = create_service_app(service="t", title="t", description="t", routers=[router], engine=engine)
    try:
        async with running(app), client_for(app) as client:
            response = await client.get("/one")
            assert response.status_code == 503
            assert response.headers["retry-after"] == "5"
            assert response.json() == {
                "error": {
                    "code": "service_unavailable",
                    "message": "数据库暂时不可用，请稍后重试",
                    "details": [],
                }
            }
    finally:
        await engine.dispose()
