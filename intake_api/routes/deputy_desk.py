"""The deputy's desk (代表工作台), for deputy keys: the deputy's cases, suggestions (代表建议), adopting a
citizen's case, photos for a suggestion, and the notices of replies. Another deputy's case is a 404."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, File, Header, Path, Query, Response, UploadFile

from intake_api.deps import CurrentDeputy, DeputyKey, DeskCase, DeskCaseId, Numbers
from intake_api.openapi import ErrorResponse, errors
from services.intake import photo_uploads
from services.intake.desk import adoption, notices, photos, suggestions, views
from services.intake.desk.schemas import (
    AdoptIn,
    DeskCaseDetail,
    DeskCaseFilters,
    DeskNotice,
    DeskRelation,
    SuggestionIn,
    SuggestionOut,
    UploadedPhotoOut,
)
from services.intake.desk.schemas import DeskCase as DeskCaseOut
from services.intake.errors import PhotoTooLarge
from shared.db.enums import CaseKind, CaseStatus
from shared.db.ids import MAX_ID
from shared.photo_storage import photo_storage
from shared.settings import get_settings
from shared.web.db import Session
from shared.web.pagination import Page, Pagination

router = APIRouter(prefix="/v1/deputy", tags=["deputy desk"])

NoticeId = Annotated[int, Path(ge=1, le=MAX_ID, description="The notice's id")]
DESK_ERRORS = errors(401, 403, 422)
DESK_CASE_ERRORS = errors(401, 403, 404, 422)


@router.get(
    "/cases",
    summary="The deputy's cases, newest first",
    description=(
        "The cases raised through the deputy's intake codes (`relation: through_code`), the deputy's own "
        "suggestions (`authored`) and the suggestions they co-signed (`cosigned`), each with the departments "
        "handling it, the reply deadlines in force, the replies, the co-signers and the adoption links. The "
        "citizen's name and phone are masked, and left out of confidential (保密) cases."
    ),
    responses=DESK_ERRORS,
)
async def list_cases(
    key: DeputyKey,
    session: Session,
    page: Pagination,
    status: Annotated[CaseStatus | None, Query(description="Only cases in this state")] = None,
    kind: Annotated[CaseKind | None, Query(description="citizen or deputy_suggestion")] = None,
    relation: Annotated[
        DeskRelation | None,
        Query(description="through_code (raised through my codes), authored (my suggestions) or cosigned"),
    ] = None,
    created_from: Annotated[
        date | None, Query(alias="from", description="Created on or after this day (Beijing time)")
    ] = None,
    created_to: Annotated[
        date | None, Query(alias="to", description="Created on or before this day (Beijing time)")
    ] = None,
    overdue: Annotated[
        bool | None, Query(description="true: a reply deadline in force is past due and not met")
    ] = None,
) -> Page[DeskCaseOut]:
    assert key.deputy_id is not None
    filters = DeskCaseFilters(
        status=status,
        kind=kind,
        relation=relation,
        created_from=created_from,
        created_to=created_to,
        overdue=overdue,
    )
    items = await views.list_cases(
        session, key.jurisdiction_id, key.deputy_id, filters, limit=page.limit, before_id=page.after_id
    )
    return page.page_of(items)


@router.get(
    "/cases/{case_id}",
    summary="One of the deputy's cases, with its description and public timeline",
    responses=DESK_CASE_ERRORS,
)
async def get_case(case: DeskCase, key: DeputyKey, session: Session) -> DeskCaseDetail:
    assert key.deputy_id is not None
    return await views.desk_case_detail(session, case, key.deputy_id)


@router.post(
    "/cases",
    status_code=201,
    summary="Submit a suggestion (代表建议), alone or jointly",
    description=(
        "Opens a case of kind `deputy_suggestion` for the key's deputy (in the deputy's first station), "
        "dispatched like any case on the statutory tier: a reply within 3 calendar months of dispatch (an "
        "approved extension may reach 6 months, never more; a critical one is due in 24 hours). Without "
        "`category_code` routing classifies the text. `cosigner_ids` (联名) must be active deputies of the same "
        "jurisdiction other than the author; each sees the suggestion on their desk. `photo_ids` are the "
        "deputy's own uploads (`POST /v1/deputy/photos`). Emits `case.received` and `suggestion.submitted`.\n\n"
        "**Idempotency:** an `Idempotency-Key` header (1-64 visible ASCII characters) repeated with the same "
        "body answers **200** with the earlier suggestion (`replayed: true`, `access_key` null); with another "
        "body, 422 `idempotency_key_reused`."
    ),
    responses={
        200: {"model": SuggestionOut, "description": "A repeat of an earlier suggestion"},
        **DESK_ERRORS,
    },
)
async def submit_suggestion(
    body: SuggestionIn,
    deputy: CurrentDeputy,
    session: Session,
    numbers: Numbers,
    response: Response,
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", description="Makes retries safe (1-64 characters)")
    ] = None,
) -> SuggestionOut:
    out = await suggestions.submit(session, numbers, deputy, body, submission_key=idempotency_key or None)
    if out.replayed:
        response.status_code = 200
    return out


@router.post(
    "/cases/{case_id}/adopt",
    status_code=201,
    summary="Turn a citizen's case into the deputy's suggestion (转为代表建议)",
    description=(
        "Only a citizen's case raised through one of the deputy's own codes (anything else is 404). Opens a "
        "suggestion as `POST /v1/deputy/cases` does (the description defaults to the citizen's text; category, "
        "grid and place to the case's), linked to the case; the citizen's progress page then says the deputy "
        "took it up and shows the suggestion's replies. The citizen's case keeps its own handling. 422 for a "
        "merged or rejected case; 409 `case_already_adopted` (with the suggestion's id in `details`) when it "
        "was adopted already. Emits `suggestion.submitted` (with `adopted_case_id`) and `case.adopted`."
    ),
    responses={**DESK_CASE_ERRORS, **errors(409)},
)
async def adopt_case(
    case_id: DeskCaseId,
    body: AdoptIn,
    deputy: CurrentDeputy,
    session: Session,
    numbers: Numbers,
) -> SuggestionOut:
    return await adoption.adopt(session, numbers, deputy, case_id, body)


@router.post(
    "/photos",
    status_code=201,
    summary="Upload a photo for a suggestion",
    description=(
        "`multipart/form-data` with one part `file`: a JPEG, PNG, WebP or HEIC photo, at most 5 MB, processed as a "
        "citizen's (turned upright, long edge at most 2048 px, every metadata block dropped). Answers the "
        "`photo_id` to list in a suggestion's `photo_ids` (at most 4) within an hour. The photo is filed under "
        "the deputy's own intake code: a deputy without an active code gets 422 `no_code_for_photos`."
    ),
    responses={
        **DESK_ERRORS,
        413: {"model": ErrorResponse, "description": "The file or the image is too large"},
    },
)
async def upload_photo(
    deputy: CurrentDeputy,
    session: Session,
    file: Annotated[UploadFile, File(description="The photo")],
) -> UploadedPhotoOut:
    max_bytes = get_settings().photo_max_bytes
    raw = await file.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise PhotoTooLarge(max_bytes)
    photo = await photo_uploads.prepare(raw)
    return await photos.store(session, photo_storage(), deputy, photo)


@router.get(
    "/notices",
    summary="The deputy's notices, newest first",
    description=(
        "A line for each reply to a suggestion the deputy wrote or co-signed (one per reply round), with the "
        "case's id, tracking number, title and kind, and whether it was read."
    ),
    responses=DESK_ERRORS,
)
async def list_notices(
    key: DeputyKey,
    session: Session,
    page: Pagination,
    unread: Annotated[bool | None, Query(description="true: only unread; false: only read")] = None,
) -> Page[DeskNotice]:
    assert key.deputy_id is not None
    items = await notices.list_notices(
        session, key.jurisdiction_id, key.deputy_id, unread=unread, limit=page.limit, before_id=page.after_id
    )
    return page.page_of(items)


@router.post(
    "/notices/{notice_id}/read",
    summary="Mark a notice read",
    description="Reading it again keeps the first time. Another deputy's notice is a 404.",
    responses=DESK_CASE_ERRORS,
)
async def read_notice(
    notice_id: NoticeId,
    key: DeputyKey,
    session: Session,
) -> DeskNotice:
    assert key.deputy_id is not None
    return await notices.mark_read(session, key.jurisdiction_id, key.deputy_id, notice_id)
