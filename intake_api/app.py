"""The intake service: stations, deputies and their QR codes (admin), the citizen's form and submission,
and the public tracking of a case."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from intake_api.routes import deputies, intake_codes, pages, public, stations
from services.intake.tracking_numbers import TrackingNumbers
from shared.settings import get_settings
from shared.web.app import create_service_app

DESCRIPTION = """
The citizen- and deputy-facing service of Minyi (民意码上通).

* **Admin** (`Authorization: Bearer <admin key>`): liaison stations, deputies, and their intake codes
  (一人一码) with QR images. Everything is scoped to the key's jurisdiction; another jurisdiction's ids
  answer 404.
* **Citizens** (no key): a QR code opens the mobile form at `/c/{token}` (HTML, works without JavaScript);
  apps submit JSON to `/v1/public/codes/{token}/cases`. The answer carries a tracking number
  (`GS20261122-0042`) and an access key; `/t/{tracking_no}?k=...` (HTML) and
  `/v1/public/cases/{tracking_no}?k=...` (JSON) show the case's public progress, without personal data,
  and take the citizen's rating once the case is replied.

Errors: `{"error": {"code", "message", "details"}}` with Chinese messages; validation errors are 422 with one
detail per field.
"""


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    # One allocator per process: it hands out tracking numbers from blocks reserved in the database.
    numbers = TrackingNumbers.with_own_pool(app.state.engine, get_settings().tracking_block_size)
    app.state.tracking_numbers = numbers
    try:
        yield
    finally:
        await numbers.aclose()


def create_app(engine: AsyncEngine | None = None) -> FastAPI:
    return create_service_app(
        service="intake",
        title="Minyi intake API",
        description=DESCRIPTION,
        routers=[
            stations.router,
            deputies.router,
            intake_codes.router,
            public.router,
            pages.router,
        ],
        engine=engine,
        extra_lifespan=_lifespan,
    )
