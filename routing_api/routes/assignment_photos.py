"""/v1/assignments/{id}/photos: the citizen's photos of an assigned case, for a department still on it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from routing_api.deps import OwnAssignment, PathId
from services.workflow import photos
from services.workflow.photos import PhotoView
from shared.photo_storage import photo_storage
from shared.web.db import Session
from shared.web.photos import photo_response

router = APIRouter(prefix="/v1/assignments", tags=["assignments"])


@router.get("/{assignment_id}/photos", summary="The photos the citizen attached to the case")
async def list_photos(assignment: OwnAssignment, session: Session) -> list[PhotoView]:
    """While the department is on the case: after declining it or being withdrawn, 404."""
    return await photos.assignment_photos(session, assignment)


@router.get(
    "/{assignment_id}/photos/{photo_id}",
    summary="One photo of the case (JPEG or PNG), or its thumbnail (JPEG)",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}, "image/png": {}}}},
)
async def get_photo(
    assignment: OwnAssignment,
    photo_id: PathId,
    session: Session,
    thumb: Annotated[bool, Query(description="1: the thumbnail")] = False,
) -> Response:
    photo = await photos.assignment_photo(session, assignment, photo_id)
    found = await photos.photo_file(photo_storage(), photo, thumb=thumb)
    return photo_response(found.data, found.content_type)
