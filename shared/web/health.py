"""/healthz: the process answers. /readyz: the database answers and its schema is at the migrations' head."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db.migrate import current_revisions, head_revisions

router = APIRouter(tags=["health"])
_HEADS = head_revisions()


@router.get("/healthz", summary="Process is alive")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Database reachable and migrated to head", response_model=None)
async def readyz(request: Request) -> JSONResponse:
    engine: AsyncEngine = request.app.state.engine
    try:
        async with asyncio.timeout(3):
            async with engine.connect() as conn:
                current = await current_revisions(conn)
    except (OSError, TimeoutError, Exception) as exc:
        return JSONResponse(
            {"status": "unavailable", "database": "unreachable", "error": type(exc).__name__}, status_code=503
        )
    if current != _HEADS:
        return JSONResponse(
            {
                "status": "unavailable",
                "database": "not_migrated",
                "current": sorted(current),
                "head": sorted(_HEADS),
            },
            status_code=503,
        )
    return JSONResponse({"status": "ok", "database": "ok", "revision": sorted(current)})
