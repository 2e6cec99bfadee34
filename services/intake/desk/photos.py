"""A deputy's photos for a suggestion: processed like a citizen's (re-encoded, metadata dropped), kept under the
deputy's own intake code (the photos table files every upload under a code), and attachable only to that
deputy's suggestion, once, within the hour."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime, timedelta

from anyio import to_thread
from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.desk.errors import NoCodeForPhotos
from services.intake.desk.schemas import UploadedPhotoOut
from services.intake.errors import PhotoNotUsable
from services.intake.photo_uploads import PHOTO_ID_PREFIX
from services.intake.photos import ProcessedPhoto
from shared.db.enums import IntakeCodeOwner, IntakeCodeStatus
from shared.db.models import Deputy, IntakeCode, Photo
from shared.errors import Unprocessable
from shared.photo_storage import PhotoStorage
from shared.security.keys import sha256_hex
from shared.settings import get_settings

_TOKEN = re.compile(r"^ph_[A-Za-z0-9_-]{20,64}$")


def _codes_of(deputy_id: int) -> Select[tuple[int]]:
    return select(IntakeCode.id).where(
        IntakeCode.owner_type == IntakeCodeOwner.deputy, IntakeCode.deputy_id == deputy_id
    )


async def store(
    session: AsyncSession, storage: PhotoStorage, deputy: Deputy, photo: ProcessedPhoto
) -> UploadedPhotoOut:
    """Keeps a processed photo, unattached, under the deputy's first active code."""
    code_id = await session.scalar(
        select(IntakeCode.id)
        .where(
            IntakeCode.owner_type == IntakeCodeOwner.deputy,
            IntakeCode.deputy_id == deputy.id,
            IntakeCode.status == IntakeCodeStatus.active,
        )
        .order_by(IntakeCode.id)
        .limit(1)
    )
    if code_id is None:
        raise NoCodeForPhotos()
    upload_token = PHOTO_ID_PREFIX + secrets.token_urlsafe(24)
    expires_at = datetime.now(UTC) + timedelta(seconds=get_settings().photo_upload_ttl_seconds)
    storage_key = await to_thread.run_sync(storage.put, photo.data, photo.extension)
    thumb_key = await to_thread.run_sync(storage.put, photo.thumb, "jpg")
    session.add(
        Photo(
            jurisdiction_id=deputy.jurisdiction_id,
            intake_code_id=code_id,
            upload_token_hash=sha256_hex(upload_token),
            expires_at=expires_at,
            content_type=photo.content_type,
            bytes=len(photo.data),
            width=photo.width,
            height=photo.height,
            sha256=photo.sha256,
            storage_key=storage_key,
            thumb_key=thumb_key,
        )
    )
    await session.flush()
    return UploadedPhotoOut(photo_id=upload_token, expires_at=expires_at)


async def usable(session: AsyncSession, deputy_id: int, tokens: list[str]) -> list[int]:
    """The ids of the deputy's uploads named by ``tokens``, or 422 if any is unknown, used or expired."""
    if not tokens:
        return []
    limit = get_settings().photo_max_count
    if len(tokens) > limit:
        raise Unprocessable.field("photo_ids", f"最多上传 {limit} 张照片")
    problem = PhotoNotUsable(details=[{"field": "photo_ids", "message": PhotoNotUsable.message}])
    if len(set(tokens)) != len(tokens) or not all(_TOKEN.match(t) for t in tokens):
        raise problem
    ids = list(
        (
            await session.execute(
                select(Photo.id)
                .where(
                    Photo.upload_token_hash.in_([sha256_hex(t) for t in tokens]),
                    Photo.intake_code_id.in_(_codes_of(deputy_id)),
                    Photo.case_id.is_(None),
                    Photo.expires_at > func.now(),
                )
                .with_for_update()
            )
        ).scalars()
    )
    if len(ids) != len(tokens):
        raise problem
    return ids


async def attach(session: AsyncSession, photo_ids: list[int], case_id: int) -> None:
    if photo_ids:
        await session.execute(update(Photo).where(Photo.id.in_(photo_ids)).values(case_id=case_id))
