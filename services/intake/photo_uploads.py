"""Citizens' photos through an intake code: the anonymous upload (processed, stored, answered with a token
valid for an hour) and the submission that attaches uploads to the case it opens.

An upload is known to its citizen only by a random token, kept as a hash, so photo ids cannot be guessed or
enumerated; a token is attachable only on the code it was uploaded through, once, and before it expires. A
repeated submission (same Idempotency-Key) finds its photos already attached and replays as before.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from anyio import to_thread
from sqlalchemy import func, insert, literal, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from services.intake import submission
from services.intake.directory import Directory
from services.intake.errors import IntakeCodeGone, PhotoNotUsable
from services.intake.photos import ProcessedPhoto, process_photo
from services.intake.schemas import SubmissionIn
from services.intake.submission import Source, Submitted
from services.intake.tracking_numbers import TrackingNumbers
from shared.db.enums import IntakeCodeStatus
from shared.db.models import Case, IntakeCode, Photo
from shared.errors import Unprocessable
from shared.photo_storage import PhotoStorage
from shared.security.keys import sha256_hex
from shared.settings import get_settings

PHOTO_ID_PREFIX = "ph_"
_TOKEN = re.compile(r"^ph_[A-Za-z0-9_-]{20,64}$")


@dataclass(frozen=True)
class UploadedPhoto:
    photo_id: str  # the upload token: the only name the citizen has for the photo
    expires_at: datetime


async def prepare(raw: bytes) -> ProcessedPhoto:
    """Decodes and re-encodes off the event loop: a large photo takes a CPU for a good fraction of a second."""
    settings = get_settings()
    return await to_thread.run_sync(
        lambda: process_photo(raw, max_bytes=settings.photo_max_bytes, max_pixels=settings.photo_max_pixels)
    )


async def store(
    connection: AsyncConnection,
    directory: Directory,
    storage: PhotoStorage,
    token: str,
    photo: ProcessedPhoto,
) -> UploadedPhoto:
    """Stores a processed photo, unattached, for the code behind ``token`` (404 unknown, 410 not accepting)."""
    route = await directory.route(token)
    upload_token = PHOTO_ID_PREFIX + secrets.token_urlsafe(24)
    expires_at = datetime.now(UTC) + timedelta(seconds=get_settings().photo_upload_ttl_seconds)
    storage_key = await to_thread.run_sync(storage.put, photo.data, photo.extension)
    thumb_key = await to_thread.run_sync(storage.put, photo.thumb, "jpg")
    # The code is asked again in the same statement: a revoked code takes no more uploads at once.
    inserted = await connection.execute(
        insert(Photo)
        .from_select(
            [
                "jurisdiction_id",
                "intake_code_id",
                "upload_token_hash",
                "expires_at",
                "content_type",
                "bytes",
                "width",
                "height",
                "sha256",
                "storage_key",
                "thumb_key",
            ],
            select(
                IntakeCode.jurisdiction_id,
                IntakeCode.id,
                literal(sha256_hex(upload_token), Photo.upload_token_hash.type),
                literal(expires_at, Photo.expires_at.type),
                literal(photo.content_type, Photo.content_type.type),
                literal(len(photo.data), Photo.bytes.type),
                literal(photo.width, Photo.width.type),
                literal(photo.height, Photo.height.type),
                literal(photo.sha256, Photo.sha256.type),
                literal(storage_key, Photo.storage_key.type),
                literal(thumb_key, Photo.thumb_key.type),
            ).where(IntakeCode.id == route.code_id, IntakeCode.status == IntakeCodeStatus.active),
        )
        .returning(Photo.id)
    )
    if inserted.scalar_one_or_none() is None:
        for key in (storage_key, thumb_key):
            storage.delete(key)
        directory.forget_route(token)
        raise IntakeCodeGone()
    return UploadedPhoto(photo_id=upload_token, expires_at=expires_at)


async def _usable(connection: AsyncConnection, code_id: int, tokens: list[str]) -> list[int]:
    """The ids of the uploads named by ``tokens``, or PhotoNotUsable if any is unknown on this code,
    attached already, or expired."""
    problem = PhotoNotUsable(details=[{"field": "photo_ids", "message": PhotoNotUsable.message}])
    if len(tokens) > get_settings().photo_max_count:
        raise Unprocessable.field("photo_ids", f"最多上传 {get_settings().photo_max_count} 张照片")
    if len(set(tokens)) != len(tokens) or not all(_TOKEN.match(t) for t in tokens):
        raise problem
    rows = (
        await connection.execute(
            select(Photo.id).where(
                Photo.upload_token_hash.in_([sha256_hex(t) for t in tokens]),
                Photo.intake_code_id == code_id,
                Photo.case_id.is_(None),
                Photo.expires_at > func.now(),
            )
        )
    ).scalars()
    ids = list(rows)
    if len(ids) != len(tokens):
        raise problem
    return ids


async def _made_already(connection: AsyncConnection, code_id: int, submission_key: str | None) -> bool:
    if submission_key is None:
        return False
    found = await connection.scalar(
        select(Case.id).where(
            Case.intake_code_id == code_id, Case.submission_key == sha256_hex(submission_key)
        )
    )
    return found is not None


async def submit_case(
    connection: AsyncConnection,
    directory: Directory,
    numbers: TrackingNumbers,
    token: str,
    data: SubmissionIn,
    *,
    source: Source,
    submission_key: str | None = None,
) -> Submitted:
    """``submission.submit_case`` that also attaches the uploads ``data.photo_ids`` names to the new case.

    The uploads are checked before the case is made, so a bad id makes nothing; a repeat of a submission
    that was made (its photos attached since) replays without asking about them."""
    ids: list[int] = []
    if data.photo_ids:
        route = await directory.route(token)
        try:
            ids = await _usable(connection, route.code_id, data.photo_ids)
        except Unprocessable:
            if not await _made_already(connection, route.code_id, submission_key):
                raise
    result = await submission.submit_case(
        connection, directory, numbers, token, data, source=source, submission_key=submission_key
    )
    if result.created and ids:
        case_id = select(Case.id).where(Case.tracking_no == result.tracking_no).scalar_subquery()
        await connection.execute(
            update(Photo).where(Photo.id.in_(ids), Photo.case_id.is_(None)).values(case_id=case_id)
        )
    return result
