"""Reading a case's photos, for staff (supervision) and for the departments on the case (routing).

Photos are shown only through these authenticated paths: the citizen's public pages, webhooks and the
Open311 output never name them. A department reads them while it is on the case; one that declined it or
was withdrawn from it no longer does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from anyio import to_thread
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.workflow.errors import PhotoNotFound
from shared.db.enums import GONE_ASSIGNMENT_STATUSES
from shared.db.models import Assignment, Photo
from shared.photo_storage import PhotoStorage

THUMB_CONTENT_TYPE = "image/jpeg"
# Units no longer on the case.
_GONE = GONE_ASSIGNMENT_STATUSES


class PhotoView(BaseModel):
    id: int
    content_type: str
    bytes: int
    width: int
    height: int
    created_at: datetime = Field(description="When the citizen uploaded it")


@dataclass(frozen=True)
class PhotoFile:
    data: bytes
    content_type: str


def _view(photo: Photo) -> PhotoView:
    return PhotoView(
        id=photo.id,
        content_type=photo.content_type,
        bytes=photo.bytes,
        width=photo.width,
        height=photo.height,
        created_at=photo.created_at,
    )


async def case_photos(session: AsyncSession, case_id: int) -> list[PhotoView]:
    """The photos attached to a case, in the order they were uploaded."""
    rows = await session.scalars(select(Photo).where(Photo.case_id == case_id).order_by(Photo.id))
    return [_view(photo) for photo in rows]


async def jurisdiction_photo(session: AsyncSession, jurisdiction_id: int, photo_id: int) -> Photo:
    """An attached photo of the jurisdiction (an upload no case took is nobody's to read)."""
    photo = await session.scalar(
        select(Photo).where(
            Photo.id == photo_id, Photo.jurisdiction_id == jurisdiction_id, Photo.case_id.is_not(None)
        )
    )
    if photo is None:
        raise PhotoNotFound()
    return photo


def check_on_case(assignment: Assignment) -> None:
    """A department reads the case's photos only while it is on the case."""
    if assignment.status in _GONE:
        raise PhotoNotFound()


async def assignment_photos(session: AsyncSession, assignment: Assignment) -> list[PhotoView]:
    check_on_case(assignment)
    return await case_photos(session, assignment.case_id)


async def assignment_photo(session: AsyncSession, assignment: Assignment, photo_id: int) -> Photo:
    check_on_case(assignment)
    photo = await jurisdiction_photo(session, assignment.jurisdiction_id, photo_id)
    if photo.case_id != assignment.case_id:
        raise PhotoNotFound()
    return photo


async def photo_file(storage: PhotoStorage, photo: Photo, *, thumb: bool = False) -> PhotoFile:
    """The stored photo, or its thumbnail (always JPEG)."""
    key = photo.thumb_key if thumb else photo.storage_key
    try:
        data = await to_thread.run_sync(storage.get, key)
    except FileNotFoundError as exc:
        raise PhotoNotFound() from exc
    return PhotoFile(data, THUMB_CONTENT_TYPE if thumb else photo.content_type)
