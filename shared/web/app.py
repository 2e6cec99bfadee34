"""The common skeleton of the three services: engine lifespan, logging, request ids, errors, health."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import APIRouter, FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db.engine import build_engine, session_factory
from shared.logs import configure_logging
from shared.observability.http import MetricsMiddleware, metrics_router
from shared.settings import get_settings
from shared.web import health
from shared.web.errors import install_error_handlers
from shared.web.event_webhooks import add_event_webhooks
from shared.web.health import ReadinessCheck
from shared.web.limits import BodySizeLimitMiddleware
from shared.web.middleware import RequestIdMiddleware

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def create_service_app(
    *,
    service: str,
    title: str,
    description: str,
    routers: Sequence[APIRouter],
    engine: AsyncEngine | None = None,
    extra_lifespan: Lifespan | None = None,
    readiness_checks: Mapping[str, ReadinessCheck] | None = None,
    upload_paths: Sequence[str] = (),
) -> FastAPI:
    """Builds a service app. Tests pass their own engine; processes build one from DATABASE_URL.
    ``readiness_checks``: named notes /readyz adds once the database is ready (the shared layer cannot import
    a service's domain, so the service hands them in). ``upload_paths``: regular expressions of the paths
    that take photos, allowed MINYI_UPLOAD_MAX_BODY_BYTES instead of MINYI_MAX_BODY_BYTES."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(service)
        own_engine = engine is None
        app.state.engine = engine or build_engine()
        app.state.sessions = session_factory(app.state.engine)
        try:
            if extra_lifespan is not None:
                async with extra_lifespan(app):
                    yield
            else:
                yield
        finally:
            if own_engine:
                await app.state.engine.dispose()

    app = FastAPI(title=title, description=description, version="0.1.0", lifespan=lifespan)
    app.state.readiness_checks = dict(readiness_checks or {})
    settings = get_settings()
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        large_max_bytes=settings.upload_max_body_bytes,
        large_paths=upload_paths,
    )
    app.add_middleware(MetricsMiddleware, service=service)  # a refused body is counted too
    app.add_middleware(RequestIdMiddleware)  # outermost: a refused body is logged with its request id
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(metrics_router())  # GET /metrics, outside the OpenAPI schema
    for router in routers:
        app.include_router(router)
    add_event_webhooks(app)  # the events integrators subscribe to, in the OpenAPI document
    return app
