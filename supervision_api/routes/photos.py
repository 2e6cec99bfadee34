"""Citizens' photos of a case, for staff: the list of a case's photos and each photo (or its thumbnail)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from services.supervision import cases
from services.workflow import photos
from services.workflow.photos import PhotoView
from shared.db.enums import Role
from shared.db.models import Case
from shared.photo_storage import photo_storage
from shared.security.apikeys import Principal
from shared.web.auth import require_roles
from shared.web.photos import photo_response
from supervision_api.deps import Id, Session

router = APIRouter(tags=["photos"])

# Who reads a case's photos on this service: staff, and the dispatchers who route the case.
PhotoReader = Annotated[Principal, Depends(require_roles(Role.supervisor, Role.admin, Role.dispatcher))]


async def _case(case_id: Id, principal: PhotoReader, session: Session) -> Case:
    return await cases.get_case(session, principal.jurisdiction_id, case_id)


PhotoCase = Annotated[Case, Depends(_case)]


@router.get("/v1/cases/{case_id}/photos", summary="The photos the citizen attached to a case")
async def list_photos(case: PhotoCase, session: Session) -> list[PhotoView]:
    """Supervisors, admins and dispatchers; fetch each with `GET /v1/photos/{id}`."""
    return await photos.case_photos(session, case.id)


@router.get(
    "/v1/photos/{photo_id}",
    summary="One photo (JPEG or PNG), or its thumbnail (JPEG, long edge 320 px)",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}, "image/png": {}}}},
)
async def get_photo(
    photo_id: Id,
    principal: PhotoReader,
    session: Session,
    thumb: Annotated[bool, Query(description="1: the thumbnail")] = False,
) -> Response:
    photo = await photos.jurisdiction_photo(session, principal.jurisdiction_id, photo_id)
    found = await photos.photo_file(photo_storage(), photo, thumb=thumb)
    return photo_response(found.data, found.content_type)
