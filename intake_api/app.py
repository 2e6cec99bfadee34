"""The intake service: stations, deputies and their QR codes (admin), the citizen's form and submission,
and the public tracking of a case."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from intake_api import abuse
from intake_api.open311 import routes as open311
from intake_api.routes import (
    deputies,
    deputy_desk,
    hotspot_suggestions,
    intake_codes,
    pages,
    public,
    receptions,
    station_page,
    station_schedule,
    stations,
)
from services.intake.directory import Directory
from services.intake.scans import ScanCounter
from services.intake.tracking_numbers import TrackingNumbers
from shared.db.engine import connect_args
from shared.settings import get_settings
from shared.web.app import create_service_app

DESCRIPTION = """
The citizen- and deputy-facing service of Minyi (民意码上通).

* **Admin** (`Authorization: Bearer <admin key>`): liaison stations, deputies, and their intake codes
  (一人一码) with QR images. Everything is scoped to the key's jurisdiction; another jurisdiction's ids
  answer 404.
* **Stations** (admin; reading also dispatchers, supervisors and deputies): contact days (联系日) from the
  jurisdiction's rule or a station's own, with dates added or cancelled and statutory holidays handled, the
  deputies' roster (接待计划) and reception records (接待登记, with CSV). Each station has a public page
  `/s/{code}` (HTML) with its next contact days, the deputies receiving and its QR code.
* **Citizens** (no key): a QR code opens the mobile form at `/c/{token}` (HTML, works without JavaScript);
  apps submit JSON to `/v1/public/codes/{token}/cases`. The answer carries a tracking number
  (`GS20261122-0042`) and an access key; `/t/{tracking_no}?k=...` (HTML) and
  `/v1/public/cases/{tracking_no}?k=...` (JSON) show the case's public progress, without personal data,
  take the citizen's rating once the case is replied, and the detail a dispatcher asked for (补充说明).
* **Deputies** (`Authorization: Bearer <deputy key>`): the deputy's desk under `/v1/deputy/`: the cases
  raised through their codes, their suggestions (代表建议, joint or not) and those they co-signed; submitting a
  suggestion, adopting a citizen's case as one, and the notices of replies. Another deputy's case is a 404.
* **Open311** (GeoReport v2, under `/open311/v2/`, `.json` or `.xml`): our categories as services, the public
  progress of citizens' cases (never personal data), updates, and submissions with an integrator key bound to an
  intake code or a station; errors as the spec's error arrays.
* **Hot spots** (deputy or supervisor key): `POST /v1/hotspots/{id}/suggestion` turns a hot spot (热点,
  listed by supervision_api) into a deputy suggestion carrying its citizens' cases ("N 位群众反映").

Errors: `{"error": {"code", "message", "details"}}` with Chinese messages; validation errors are 422 with one
detail per field.
"""


# Ended abuse-limit windows are deleted this often.
RATE_LIMIT_CLEAN_SECONDS = 600.0

# The routes that carry photos (an upload of one, the form with up to four) get the larger body limit.
UPLOAD_PATHS = (r"/v1/public/codes/[^/]+/photos", r"/c/[^/]+", r"/v1/deputy/photos")

# Scans are added to the database in batches this often (and at shutdown).
SCAN_FLUSH_SECONDS = 1.0


def _autocommit_engine(engine: AsyncEngine) -> AsyncEngine:
    """The citizens' hot paths run single statements, each its own transaction: no BEGIN/COMMIT round
    trips. No pre-ping either (a round trip per checkout); a connection the server dropped fails one
    request and makes the pool replace every connection older than it."""
    settings = get_settings()
    return create_async_engine(
        engine.url,
        isolation_level="AUTOCOMMIT",
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        pool_recycle=1800,
        pool_timeout=settings.db_pool_timeout_seconds,
        connect_args=connect_args("minyi-intake"),
    )


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    # Per process: tracking numbers handed out from blocks reserved in the database, the codes' cached
    # facts, and scan counts waiting to be written.
    numbers = TrackingNumbers.with_own_pool(app.state.engine, get_settings().tracking_block_size)
    autocommit = _autocommit_engine(app.state.engine)
    scans = ScanCounter(app.state.engine)
    app.state.tracking_numbers = numbers
    app.state.autocommit_engine = autocommit
    app.state.directory = Directory(autocommit)
    app.state.scans = scans
    try:
        async with (
            scans.flushing_every(SCAN_FLUSH_SECONDS),
            abuse.cleaning_every(autocommit, RATE_LIMIT_CLEAN_SECONDS),
        ):
            yield
    finally:
        await numbers.aclose()
        await autocommit.dispose()


def create_app(engine: AsyncEngine | None = None) -> FastAPI:
    return create_service_app(
        service="intake",
        title="Minyi intake API",
        description=DESCRIPTION,
        routers=[
            stations.router,
            deputies.router,
            intake_codes.router,
            deputy_desk.router,
            hotspot_suggestions.router,
            station_schedule.router,
            receptions.router,
            public.router,
            pages.router,
            station_page.router,
            open311.router,
        ],
        engine=engine,
        extra_lifespan=_lifespan,
        upload_paths=UPLOAD_PATHS,
    )
