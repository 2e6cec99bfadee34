"""Anyone: submitting a case through an intake code, and following it with the tracking link (JSON): the
citizen's rating and the answer to a dispatcher's request for more detail."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response

from intake_api.abuse import SubmissionLimit
from intake_api.deps import (
    Autocommit,
    CodeDirectory,
    Numbers,
    PublicCase,
    PublicCaseForRating,
    PublicCaseForSupplement,
)
from intake_api.openapi import errors
from services.intake import submission, supplements, tracking
from services.intake.schemas import (
    FeedbackIn,
    FeedbackOut,
    PublicCaseView,
    SubmissionIn,
    SubmissionOut,
    SupplementIn,
    SupplementOut,
)
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
        **errors(404, 410, 422),
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
    result = await submission.submit_case(
        connection, directory, numbers, token, body, source="api", submission_key=idempotency_key or None
    )
    if not result.created:
        response.status_code = 200
    return result.out()


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
    summary="Rate the reply",
    description=(
        "The citizen's rating of the latest reply: satisfied or basically satisfied closes the case, "
        "dissatisfied sends it back for rework. 409 when the case awaits no rating or was rated already."
    ),
    responses=errors(404, 409, 422),
)
async def give_feedback(case: PublicCaseForRating, body: FeedbackIn, session: Session) -> FeedbackOut:
    return await tracking.give_feedback(session, case, body)


@router.post(
    "/cases/{tracking_no}/supplement",
    summary="Add the detail a dispatcher asked for (补充说明)",
    description=(
        "While the case's `can_supplement` is true (a dispatcher returned it with the question in "
        "`supplement_request`): `text` (5-2000 characters) is added to the case's description and the case is "
        "routed again. 409 when the case is not waiting for the citizen's answer."
    ),
    responses=errors(404, 409, 422),
)
async def supplement(case: PublicCaseForSupplement, body: SupplementIn, session: Session) -> SupplementOut:
    return await supplements.supplement(session, case, body)
