"""Anyone (HTML): a station's public page, /s/{code} — where it is, the grids it serves, its next contact days
with the deputies receiving, and the QR code of its intake form. Nothing personal; cacheable for a while."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from intake_api.rendering import not_found, render
from services.intake.contact.errors import StationPageNotFound
from services.intake.contact.public_page import station_page
from shared.web.db import Session

router = APIRouter(tags=["pages"])

# The page changes when an admin edits the station, its rule or roster: a few minutes' staleness is fine, and
# a poster's crowd scanning at once is served by caches.
CACHE_CONTROL = "public, max-age=300"
_NOT_FOUND = "未找到该联络站。请确认链接完整，或扫描联络站张贴的二维码。"


@router.get(
    "/s/{station_code}",
    summary="A station's public page (HTML)",
    description="Name, kind, address, grids, the next three contact days with the deputies rostered (names "
    "and levels), and the QR code of the station's active intake code with its URL. An unknown or inactive "
    "station is the polite 404 page.",
    response_class=HTMLResponse,
)
async def public_station(request: Request, station_code: str, session: Session) -> Response:
    try:
        page = await station_page(session, station_code)
    except StationPageNotFound:
        return not_found(request, _NOT_FOUND)
    response = render(request, "station.html", {"page": page})
    # The text size comes from a cookie: a shared cache keeps one copy per cookie, and a response that sets
    # the cookie is the citizen's own.
    if "set-cookie" not in response.headers:
        response.headers["Cache-Control"] = CACHE_CONTROL
        response.headers["Vary"] = "Cookie"
    return response
