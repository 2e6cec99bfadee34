"""Anyone (HTML): the mobile intake form a QR code opens, the receipt and the case's progress page with the
rating form and, while a dispatcher waits for more detail, the supplement form; a page to find a case by its
number and key. All work without JavaScript; errors re-render the page with a message per field."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from intake_api import abuse, lookups
from intake_api.deps import AccessKey, Autocommit, CodeDirectory, Numbers, Scans, TrackingNo
from intake_api.forms import messages_by_field, parse, read_fields, read_fields_and_files
from intake_api.rendering import blank_form, code_gone, not_found, render, too_many
from services.intake import form_keys, photo_uploads, supplements, tracking
from services.intake.directory import Directory
from services.intake.errors import CaseNotFound, IntakeCodeGone, IntakeCodeNotFound, IntakeCodeReplaced
from services.intake.form_page import open_form
from services.intake.qr import qr_drawing
from services.intake.schemas import FeedbackIn, SubmissionIn, SupplementIn
from services.intake.submission import track_path, track_url
from services.intake.tracking_numbers import TrackingNumbers
from shared.db.models import Case
from shared.errors import Conflict, MinyiError, TooManyRequests, Unprocessable, too_many_message
from shared.photo_storage import photo_storage
from shared.settings import get_settings
from shared.web.db import Session

router = APIRouter(tags=["pages"])

_FORM_FIELDS = (*(f for f in SubmissionIn.model_fields if f != "photo_ids"), "submission_key")
# Files cannot be put back into a page: after any problem the citizen chooses them again.
_PHOTOS_AGAIN = "本次提交未成功，已选择的照片没有保存，请重新选择照片"
_CODE_NOT_FOUND = "未找到该二维码。请确认扫描的是人大代表或联络站张贴的二维码。"
_CASE_NOT_FOUND = "未找到该事项。请使用提交成功后保存的完整链接查看办理进度。"


def _code_problem(request: Request, exc: IntakeCodeNotFound | IntakeCodeGone) -> Response:
    if isinstance(exc, IntakeCodeGone):
        return code_gone(request, replaced=isinstance(exc, IntakeCodeReplaced))
    return not_found(request, _CODE_NOT_FOUND)


@router.get("/c/{token}", summary="The intake form (HTML)", response_class=HTMLResponse)
async def intake_page(
    request: Request, token: str, connection: Autocommit, directory: CodeDirectory, scans: Scans
) -> Response:
    try:
        form = await open_form(connection, directory, token, scans=scans)
    except (IntakeCodeNotFound, IntakeCodeGone) as exc:
        return _code_problem(request, exc)
    return blank_form(request, form)


@router.post(
    "/c/{token}",
    summary="Submit the intake form (HTML)",
    description="urlencoded or multipart; 303 to the receipt page, or the form again with messages (422).",
    response_class=HTMLResponse,
)
async def submit_form(
    request: Request, token: str, connection: Autocommit, directory: CodeDirectory, numbers: Numbers
) -> Response:
    try:
        # The code is asked first (cached): a wrong or retired token costs no reading or parsing of a body.
        route = await directory.route(token)
    except (IntakeCodeNotFound, IntakeCodeGone) as exc:
        return _code_problem(request, exc)
    retry_after = await abuse.count_submission(request, connection, route.code_id)
    if retry_after is not None:
        return await abuse.too_many_page(request, connection, directory, token, retry_after)
    # A few parts more than the photos allowed, so that one photo too many is told on the form, not a 400.
    values, photos = await read_fields_and_files(
        request, _FORM_FIELDS, "photos", max_files=get_settings().photo_max_count + 4
    )
    if photos:
        retry_after = await abuse.count_uploads(request, connection, route.code_id, len(photos))
        if retry_after is not None:
            return await abuse.too_many_form(
                request, connection, directory, token, values, retry_after, photos=True
            )
    try:
        return await _submit(request, connection, directory, numbers, token, values, photos)
    except (IntakeCodeNotFound, IntakeCodeGone) as exc:
        return _code_problem(request, exc)


async def _submit(
    request: Request,
    connection: AsyncConnection,
    directory: Directory,
    numbers: TrackingNumbers,
    token: str,
    values: dict[str, str],
    photos: list[bytes],
) -> Response:
    submission_key = values.get("submission_key")
    try:
        data = parse(SubmissionIn, {k: v for k, v in values.items() if k != "submission_key"})
        if photos:
            photo_ids = await _store_photos(connection, directory, token, photos)
            data = data.model_copy(update={"photo_ids": photo_ids})
        result = await photo_uploads.submit_case(
            connection, directory, numbers, token, data, source="form", submission_key=submission_key
        )
    except Unprocessable as exc:
        form = await open_form(connection, directory, token)
        if submission_key is not None and form_keys.is_issued(submission_key):
            # Nothing was created: the corrected form keeps its key, so its double tap is still one case.
            form = replace(form, submission_key=submission_key)
        errors = messages_by_field(exc.details)
        if photos:
            problem = errors.pop("photos", None) or errors.pop("photo_ids", None)
            errors["photos"] = f"{problem}。{_PHOTOS_AGAIN}" if problem else _PHOTOS_AGAIN
        context = {"form": form, "values": values, "errors": errors}
        return render(request, "intake_form.html", context, 422)
    if result.access_key is None:
        return render(request, "submitted.html", {"tracking_no": result.tracking_no})
    return RedirectResponse(track_path(result.tracking_no, result.access_key, new=True), status_code=303)


async def _store_photos(
    connection: AsyncConnection, directory: Directory, token: str, photos: list[bytes]
) -> list[str]:
    """Uploads the form's photos as the JSON API would; a refused photo is a message on the form."""
    limit = get_settings().photo_max_count
    if len(photos) > limit:
        raise Unprocessable.field("photos", f"最多选择 {limit} 张照片")
    photo_ids = []
    for raw in photos:
        try:
            prepared = await photo_uploads.prepare(raw)
        except MinyiError as exc:  # too large, too many pixels, not a photo
            raise Unprocessable.field("photos", exc.detail_message.rstrip("。")) from exc
        uploaded = await photo_uploads.store(connection, directory, photo_storage(), token, prepared)
        photo_ids.append(uploaded.photo_id)
    return photo_ids


async def _track_page(
    request: Request,
    session: Session,
    case: Case,
    k: str,
    *,
    new: bool = False,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    view = await tracking.public_view(session, case)
    page_url = track_url(view.tracking_no, k)
    context = {
        "view": view,
        "k": k,
        "new": new,
        "page_url": page_url,
        # The receipt: a symbol of the page's own link, to screenshot and scan again later.
        "qr": qr_drawing(page_url) if new else None,
        "lookup_url": f"{get_settings().public_url}/t",
        "errors": errors or {},
        "values": values or {},
    }
    page = track_path(view.tracking_no, k, new=new)
    return render(request, "track.html", context, status_code, page=page)


def _too_many_posts(retry_after: int) -> str:
    return f"{too_many_message(retry_after)}。您填写的内容仍保留在下方，届时可直接再次提交。"


def _with_retry_after(response: Response, retry_after: int) -> Response:
    response.headers["Retry-After"] = str(retry_after)
    return response


async def _case_or_page(
    request: Request, session: AsyncSession, tracking_no: str, k: str | None
) -> Case | Response:
    """The case the number and key name, or the page that says why not (not found, or too many misses)."""
    try:
        return await lookups.find_case(request, session, tracking_no, k)
    except CaseNotFound:
        return not_found(request, _CASE_NOT_FOUND)
    except TooManyRequests as exc:
        return too_many(request, exc)


@router.get(
    "/t",
    summary="Find a case by its tracking number and access key (HTML)",
    description="Without both: a page that asks for them. With both: 303 to the case's progress page.",
    response_class=HTMLResponse,
)
async def lookup_page(request: Request, no: str | None = None, k: str | None = None) -> Response:
    # For a citizen who kept the number and key but not the link: typed on a phone, so spaces around them
    # and a lower-case number are forgiven. A wrong pair is found out (and counted) by the progress page.
    number, key = (no or "").strip().upper(), (k or "").strip()
    if number and key:
        target = f"/t/{quote(number, safe='')}?k={quote(key, safe='')}"
        return RedirectResponse(target, status_code=303)
    errors: dict[str, str] = {}
    if no is not None or k is not None:
        if not number:
            errors["no"] = "请填写受理编号"
        if not key:
            errors["k"] = "请填写查询码"
    status_code = 422 if errors else 200
    return render(
        request, "lookup.html", {"values": {"no": no or "", "k": k or ""}, "errors": errors}, status_code
    )


@router.get("/t/{tracking_no}", summary="The case's progress page (HTML)", response_class=HTMLResponse)
async def track_page(
    request: Request, tracking_no: TrackingNo, session: Session, k: AccessKey = None, new: str | None = None
) -> Response:
    case = await _case_or_page(request, session, tracking_no, k)
    if isinstance(case, Response):
        return case
    return await _track_page(request, session, case, k or "", new=new == "1")


@router.post(
    "/t/{tracking_no}/feedback",
    summary="Rate the reply (HTML form)",
    description="303 back to the progress page, or the page again with a message (422 / 409).",
    response_class=HTMLResponse,
)
async def rate_page(
    request: Request, tracking_no: TrackingNo, session: Session, connection: Autocommit, k: AccessKey = None
) -> Response:
    # The key is checked before the body is read; the form is read and validated before the case's row is
    # locked, so a slow or a wrong post never holds (or waits on) the lock a dispatcher may need.
    case = await _case_or_page(request, session, tracking_no, k)
    if isinstance(case, Response):
        return case
    key = k or ""
    values = await read_fields(request, ("rating", "comment"))
    retry_after = await abuse.count_case_post(request, connection)
    if retry_after is not None:
        errors = {"form": _too_many_posts(retry_after)}
        return _with_retry_after(
            await _track_page(request, session, case, key, errors=errors, values=values, status_code=429),
            retry_after,
        )
    try:
        data = parse(FeedbackIn, values)
        case = await tracking.find_case(session, tracking_no, k, for_update=True)
        await tracking.give_feedback(session, case, data)
    except Unprocessable as exc:
        # A refusal of the case as a whole (a deputy suggestion) names no field: shown above the form.
        errors = messages_by_field(exc.details) or {"form": exc.detail_message}
        if "rating" in errors:
            errors["rating"] = "请选择满意、基本满意或不满意"
        return await _track_page(request, session, case, key, errors=errors, values=values, status_code=422)
    except Conflict as exc:
        errors = {"form": exc.detail_message}
        return await _track_page(request, session, case, key, errors=errors, status_code=409)
    return RedirectResponse(track_path(case.tracking_no, key), status_code=303)


@router.post(
    "/t/{tracking_no}/supplement",
    summary="Add the detail a dispatcher asked for (HTML form)",
    description="303 back to the progress page, or the page again with a message (422 / 409).",
    response_class=HTMLResponse,
)
async def supplement_page(
    request: Request, tracking_no: TrackingNo, session: Session, connection: Autocommit, k: AccessKey = None
) -> Response:
    # Like the rating form: the access key in the address is the credential, so another site cannot post
    # this form for the citizen (there is no cookie to ride on); the row is locked only once the form is in.
    case = await _case_or_page(request, session, tracking_no, k)
    if isinstance(case, Response):
        return case
    key = k or ""
    values = await read_fields(request, ("text",))
    retry_after = await abuse.count_case_post(request, connection)
    if retry_after is not None:
        errors = {"text": _too_many_posts(retry_after)}
        return _with_retry_after(
            await _track_page(request, session, case, key, errors=errors, values=values, status_code=429),
            retry_after,
        )
    try:
        data = parse(SupplementIn, values)
        case = await tracking.find_case(session, tracking_no, k, for_update=True)
        await supplements.supplement(session, case, data)
    except Unprocessable as exc:
        errors = messages_by_field(exc.details)
        return await _track_page(request, session, case, key, errors=errors, values=values, status_code=422)
    except Conflict as exc:
        errors = {"supplement": exc.detail_message}
        return await _track_page(request, session, case, key, errors=errors, status_code=409)
    return RedirectResponse(track_path(case.tracking_no, key), status_code=303)
