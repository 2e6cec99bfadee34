"""Hot spots (热点): cases clustering by grid and category, for staff and for the deputies of the grid's
stations. Detection runs in the worker; turning a hot spot into a suggestion is on intake_api."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from services.supervision.hotspots import queries
from services.supervision.hotspots.queries import HotspotFilters
from services.supervision.hotspots.schemas import HotspotOut
from shared.db.enums import HotspotStatus, Role
from shared.security.apikeys import Principal
from shared.web.auth import require_roles
from shared.web.pagination import Page
from supervision_api.deps import Id, Pagination, Session

router = APIRouter(tags=["hot spots"])

# Staff read the jurisdiction's hot spots; a deputy those of the grids their stations serve.
Reader = Annotated[Principal, Depends(require_roles(Role.supervisor, Role.admin, Role.deputy))]


@router.get(
    "/v1/hotspots",
    summary="Hot spots, newest first",
    description=(
        "Citizens' cases on one kind of matter (a top-level category) in one grid, at least "
        "`hotspot_min_cases` (default 5) within `hotspot_window_days` (default 7; metric settings). Each with "
        "its grid, category, status (`open`: cases keep joining; `converted`: made a deputy suggestion; "
        "`closed`: no new case for a whole window), count, first and last case time, its cases (number, "
        "time received, status and title only: never a name, phone or description) and the suggestion it "
        "became. Supervisors and admins see the jurisdiction's; a deputy key those of the grids the "
        "deputy's stations serve."
    ),
)
async def list_hotspots(
    principal: Reader,
    session: Session,
    page: Pagination,
    status: Annotated[HotspotStatus | None, Query(description="open, converted or closed")] = None,
    grid_code: Annotated[str | None, Query(max_length=32, description="Only this grid's")] = None,
    category_code: Annotated[
        str | None,
        Query(
            max_length=64,
            description="A top-level category's code, or a sub-category's (its top-level category's hot spots)",
        ),
    ] = None,
) -> Page[HotspotOut]:
    filters = HotspotFilters(status=status, grid_code=grid_code, category_code=category_code)
    items = await queries.list_hotspots(
        session, principal, filters, limit=page.limit, before_id=page.after_id
    )
    return page.page_of(items)


@router.get("/v1/hotspots/{hotspot_id}", summary="One hot spot with its cases")
async def get_hotspot(hotspot_id: Id, principal: Reader, session: Session) -> HotspotOut:
    """Another jurisdiction's, or for a deputy one of a grid none of the deputy's stations serves: 404."""
    return await queries.get_hotspot(session, principal, hotspot_id)
