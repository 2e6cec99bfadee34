"""Turning a hot spot (热点) into a deputy suggestion (代表建议): intake_api opens cases, so the conversion lives
here; supervision_api finds and lists hot spots."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from intake_api.deps import Numbers
from intake_api.openapi import errors
from services.intake.desk import hotspot_suggestion
from services.intake.desk.schemas import HotspotSuggestionIn, HotspotSuggestionOut
from shared.db.enums import Role
from shared.db.ids import MAX_ID
from shared.security.apikeys import Principal
from shared.web.auth import require_roles
from shared.web.db import Session

router = APIRouter(tags=["hot spots"])

Converter = Annotated[Principal, Depends(require_roles(Role.deputy, Role.supervisor))]
HotspotId = Annotated[int, Path(ge=1, le=MAX_ID, description="The hot spot's id (GET /v1/hotspots)")]


@router.post(
    "/v1/hotspots/{hotspot_id}/suggestion",
    status_code=201,
    summary="Turn a hot spot into a deputy suggestion carrying its cases (N 位群众反映)",
    description=(
        "A deputy key of a station serving the hot spot's grid (any other hot spot is 404), or a supervisor "
        "key naming the author in `deputy_id` (an active deputy of the jurisdiction; 422 otherwise). Opens a "
        "suggestion as `POST /v1/deputy/cases` does (case.received and suggestion.submitted; the statutory "
        "3-month clock), in the hot spot's grid; the description defaults to a summary of the cluster "
        "(counts only, nothing personal) and the category to the cases' common one, else the hot spot's. "
        "Every case of the cluster (rejected ones aside) is linked to it as evidence (`suggestion_sources`, "
        "kind `hotspot`), and each citizen's progress page then says the matter was raised as a deputy "
        "suggestion together with N neighbours' and, once answered, shows its replies. The hot spot becomes "
        "`converted`. Only an open hot spot: 409 `hotspot_not_open` otherwise (with the suggestion's id in "
        "`details` when it was converted already)."
    ),
    responses=errors(401, 403, 404, 409, 422),
)
async def convert_hotspot(
    hotspot_id: HotspotId,
    body: HotspotSuggestionIn,
    principal: Converter,
    session: Session,
    numbers: Numbers,
) -> HotspotSuggestionOut:
    return await hotspot_suggestion.convert(session, numbers, principal, hotspot_id, body)
