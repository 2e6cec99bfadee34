"""routing_api: the taxonomy, departments and routing rules, automatic dispatch, and the department-facing API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from routing_api.routes import (
    assignment_photos,
    assignments,
    categories,
    classify,
    committees,
    consultations,
    departments,
    dispatch_queue,
    duplicates,
    extension_requests,
    fallback,
    grids,
    internal,
    routing_rules,
    routing_settings,
)
from services.routing import words
from shared.web.app import create_service_app


@asynccontextmanager
async def _load_dictionary(app: FastAPI) -> AsyncIterator[None]:
    """jieba's dictionary (about half a second) loads at start-up, not on the first case or request."""
    await asyncio.to_thread(words.warm_up)
    yield


def create_app(engine: AsyncEngine | None = None) -> FastAPI:
    return create_service_app(
        service="routing",
        title="民意码上通 · 交办服务 (routing_api)",
        description=(
            "Taxonomy, departments and routing rules (admin); automatic dispatch of received cases; "
            "the departments' API to accept, decline, report progress, send co-opinions and reply."
        ),
        routers=[
            grids.router,
            committees.router,
            categories.router,
            classify.router,
            departments.router,
            routing_rules.router,
            fallback.router,
            routing_settings.router,
            dispatch_queue.router,
            duplicates.router,
            assignments.router,
            assignment_photos.router,
            extension_requests.router,
            consultations.router,
            internal.router,
        ],
        engine=engine,
        extra_lifespan=_load_dictionary,
    )
