"""Anyone: submitting a case through an intake code, and following it with the tracking link (JSON): the
citizen's rating and the answer to a dispatcher's request for more detail."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Header, Response, UploadFile

from intake_api.abuse import CasePostLimit, SubmissionLimit, UploadLimit
from intake_api.deps import (
    Autocommit,
    CodeDirectory,
    Numbers,
    PublicCase,
    PublicCaseForRating,
    PublicCaseForSupplement,
)
from intake_api.openapi import ErrorResponse, errors
from services.intake import photo_uploads, supplements, tracking
from services.intake.errors import PhotoTooLarge
from services.intake.schemas import (
    FeedbackIn,
    FeedbackOut,
    PublicCaseView,
    SubmissionIn,
    SubmissionOut,
    SupplementIn,
    SupplementOut,
    UploadedPhotoOut,
)
from shared.photo_storage import photo_storage
from shared.settings import get_settings
from shared.web.db import Session

router = APIRouter(prefix="/v1/public", tags=["public"])


@router.post(
    "/codes/{token}/cases",
    status_code=201,
    dependencies=[SubmissionLimit],
    summary="Submit a case through an intake code",
    description=(
        "No authentication. Answers 201 with the tracking number and the access key to the case's public page; "
        "the access key is shown only this once.\n\n"
        "**Idempotency:** send an `Idempotency-Key` header (1-64 visible ASCII characters) to make retries "
        "safe. A request repeating a key already used on the same code creates nothing and answers **200** "
        "with the earlier case's `tracking_no` and `status`, `replayed: true`, and `access_key` and "
        "`track_url` set to null: the key was shown once and is stored only as a hash. Keep the first answer.\n\n"
        "An unknown code answers 404; a revoked code (or one whose deputy or station is no longer active) 410. "
        "Tracking numbers are unique but not gapless."
    ),
    responses={
        200: {"model": SubmissionOut, "description": "A repeat of an earlier submission"},
        **errors(404, 410, 422, 429),
    },
)
async def submit_case(
    token: str,
    body: SubmissionIn,
    connection: Autocommit,
    directory: CodeDirectory,
    numbers: Numbers,
    response: Response,
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", description="Makes retries safe (1-64 characters)")
    ] = None,
) -> SubmissionOut:
    result = await photo_uploads.submit_case(
        connection, directory, numbers, token, body, source="api", submission_key=idempotency_key or None
    )
    if not result.created:
        response.status_code = 200
    return result.out()


@router.post(
    "/codes/{token}/photos",
    status_code=201,
    dependencies=[UploadLimit],
    summary="Upload a photo for a submission through an intake code",
    description=(
        "No authentication. `multipart/form-data` with one part `file`: a JPEG, PNG, WebP or HEIC photo (recognised "
        "by its content), at most 5 MB. The photo is re-encoded: turned upright, its long edge at most 2048 "
        "px, every metadata block (EXIF with GPS, XMP, ICC, comments) dropped. Answers the `photo_id` to list "
        "in the submission's `photo_ids` (at most 4) within an hour, on the same code. 413 for a file or an "
        "image too large, 422 for a file that is no such photo, 429 past the uploads allowed per address or "
        "code (`MINYI_LIMIT_UPLOADS_PER_ADDRESS`, `MINYI_LIMIT_UPLOADS_PER_CODE`)."
    ),
    responses={
        **errors(404, 410, 422, 429),
        413: {"model": ErrorResponse, "description": "The file or the image is too large"},
    },
)
async def upload_photo(
    token: str,
    connection: Autocommit,
    directory: CodeDirectory,
    file: Annotated[UploadFile, File(description="The photo")],
) -> UploadedPhotoOut:
    max_bytes = get_settings().photo_max_bytes
    raw = await file.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise PhotoTooLarge(max_bytes)
    # Which code is asked first, so an unknown code costs no decoding.
    await directory.route(token)
    photo = await photo_uploads.prepare(raw)
    uploaded = await photo_uploads.store(connection, directory, photo_storage(), token, photo)
    return UploadedPhotoOut(photo_id=uploaded.photo_id, expires_at=uploaded.expires_at)


@router.get(
    "/cases/{tracking_no}",
    summary="A case's public progress",
    description="No authentication; `k` is the access key from the receipt. Carries no personal data.",
    responses=errors(404),
)
async def get_case(case: PublicCase, session: Session) -> PublicCaseView:
    return await tracking.public_view(session, case)


@router.post(
    "/cases/{tracking_no}/feedback",
    dependencies=[CasePostLimit],
    summary="Rate the reply",
    description=(
        "The citizen's rating of the latest reply: satisfied or basically satisfied closes the case, "
        "dissatisfied sends it back for rework. 409 when the case awaits no rating or was rated already; 429 "
        "past the ratings and supplements allowed per address (`MINYI_LIMIT_CASE_POSTS_PER_ADDRESS`)."
    ),
    responses=errors(404, 409, 422, 429),
)
async def give_feedback(case: PublicCaseForRating, body: FeedbackIn, session: Session) -> FeedbackOut:
    return await tracking.give_feedback(session, case, body)


@router.post(
    "/cases/{tracking_no}/supplement",
    dependencies=[CasePostLimit],
    summary="Add the detail a dispatcher asked for (补充说明)",
    description=(
        "While the case's `can_supplement` is true (a dispatcher returned it with the question in "
        "`supplement_request`): `text` (5-2000 characters) is added to the case's description and the case is "
        "routed again. 409 when the case is not waiting for the citizen's answer; 429 past the ratings and "
        "supplements allowed per address."
    ),
    responses=errors(404, 409, 422, 429),
)
async def supplement(case: PublicCaseForSupplement, body: SupplementIn, session: Session) -> SupplementOut:
    return await supplements.supplement(session, case, body)
