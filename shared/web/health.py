"""/healthz: the process answers. /readyz: the database answers and its schema is at the migrations' head,
plus what the service's own readiness checks report (informational: they never make it unready)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from shared.db.migrate import current_revisions, head_revisions

router = APIRouter(tags=["health"])
_HEADS = head_revisions()
log = structlog.get_logger("minyi.web")

# A service's own readiness note, e.g. supervision's working-day calendar: a short text for /readyz.
ReadinessCheck = Callable[[AsyncSession], Awaitable[str]]


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
    body: dict[str, object] = {"status": "ok", "database": "ok", "revision": sorted(current)}
    body.update(await _service_checks(request))
    return JSONResponse(body)


async def _service_checks(request: Request) -> dict[str, str]:
    checks: Mapping[str, ReadinessCheck] = getattr(request.app.state, "readiness_checks", {})
    results = {}
    for name, check in checks.items():
        try:
            async with asyncio.timeout(3), request.app.state.sessions() as session:
                results[name] = await check(session)
        except Exception:
            log.warning("readiness_check_failed", check=name, exc_info=True)
            results[name] = "error"
    return results
