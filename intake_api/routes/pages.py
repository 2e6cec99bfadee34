"""Anyone (HTML): the mobile intake form a QR code opens, and the case's progress page with the rating form
and, while a dispatcher waits for more detail, the supplement form. All work without JavaScript; errors
re-render the page with a message per field."""

from __future__ import annotations

from dataclasses import replace

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncConnection

from intake_api import abuse
from intake_api.deps import AccessKey, Autocommit, CodeDirectory, Numbers, Scans, TrackingNo
from intake_api.forms import messages_by_field, parse, read_fields
from intake_api.rendering import blank_form, code_gone, not_found, render
from services.intake import form_keys, submission, supplements, tracking
from services.intake.directory import Directory
from services.intake.errors import CaseNotFound, IntakeCodeGone, IntakeCodeNotFound
from services.intake.form_page import open_form
from services.intake.schemas import FeedbackIn, SubmissionIn, SupplementIn
from services.intake.submission import track_path, track_url
from services.intake.tracking_numbers import TrackingNumbers
from shared.db.models import Case
from shared.errors import Conflict, Unprocessable
from shared.web.db import Session

router = APIRouter(tags=["pages"])

_FORM_FIELDS = (*SubmissionIn.model_fields, "submission_key")
_CODE_NOT_FOUND = "未找到该二维码。请确认扫描的是人大代表或联络站张贴的二维码。"
_CASE_NOT_FOUND = "未找到该事项。请使用提交成功后保存的完整链接查看办理进度。"


def _code_problem(request: Request, exc: IntakeCodeNotFound | IntakeCodeGone) -> Response:
    if isinstance(exc, IntakeCodeGone):
        return code_gone(request)
    return not_found(request, _CODE_NOT_FOUND)


@router.get("/c/{token}", summary="The intake form (HTML)", response_class=HTMLResponse)
async def intake_page(
    request: Request, token: str, connection: Autocommit, directory: CodeDirectory, scans: Scans
) -> Response:
    try:
        form = await open_form(connection, directory, token, scans=scans)
    except (IntakeCodeNotFound, IntakeCodeGone) as exc:
        return _code_problem(request, exc)
    return blank_form(form)


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
    values = await read_fields(request, _FORM_FIELDS)
    try:
        return await _submit(request, connection, directory, numbers, token, values)
    except (IntakeCodeNotFound, IntakeCodeGone) as exc:
        return _code_problem(request, exc)


async def _submit(
    request: Request,
    connection: AsyncConnection,
    directory: Directory,
    numbers: TrackingNumbers,
    token: str,
    values: dict[str, str],
) -> Response:
    submission_key = values.get("submission_key")
    try:
        result = await submission.submit_case(
            connection,
            directory,
            numbers,
            token,
            parse(SubmissionIn, {k: v for k, v in values.items() if k != "submission_key"}),
            source="form",
            submission_key=submission_key,
        )
    except Unprocessable as exc:
        form = await open_form(connection, directory, token)
        if submission_key is not None and form_keys.is_issued(submission_key):
            # Nothing was created: the corrected form keeps its key, so its double tap is still one case.
            form = replace(form, submission_key=submission_key)
        context = {"form": form, "values": values, "errors": messages_by_field(exc.details)}
        return render(request, "intake_form.html", context, 422)
    if result.access_key is None:
        return render(request, "submitted.html", {"tracking_no": result.tracking_no})
    return RedirectResponse(track_path(result.tracking_no, result.access_key, new=True), status_code=303)


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
    context = {
        "view": view,
        "k": k,
        "new": new,
        "page_url": track_url(view.tracking_no, k),
        "errors": errors or {},
        "values": values or {},
    }
    return render(request, "track.html", context, status_code)


@router.get("/t/{tracking_no}", summary="The case's progress page (HTML)", response_class=HTMLResponse)
async def track_page(
    request: Request, tracking_no: TrackingNo, session: Session, k: AccessKey = None, new: str | None = None
) -> Response:
    try:
        case = await tracking.find_case(session, tracking_no, k)
    except CaseNotFound:
        return not_found(request, _CASE_NOT_FOUND)
    return await _track_page(request, session, case, k or "", new=new == "1")


@router.post(
    "/t/{tracking_no}/feedback",
    summary="Rate the reply (HTML form)",
    description="303 back to the progress page, or the page again with a message (422 / 409).",
    response_class=HTMLResponse,
)
async def rate_page(
    request: Request, tracking_no: TrackingNo, session: Session, k: AccessKey = None
) -> Response:
    # The key is checked before the body is read; the form is read and validated before the case's row is
    # locked, so a slow or a wrong post never holds (or waits on) the lock a dispatcher may need.
    try:
        case = await tracking.find_case(session, tracking_no, k)
    except CaseNotFound:
        return not_found(request, _CASE_NOT_FOUND)
    key = k or ""
    values = await read_fields(request, ("rating", "comment"))
    try:
        data = parse(FeedbackIn, values)
        case = await tracking.find_case(session, tracking_no, k, for_update=True)
        await tracking.give_feedback(session, case, data)
    except Unprocessable as exc:
        errors = messages_by_field(exc.details)
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
    request: Request, tracking_no: TrackingNo, session: Session, k: AccessKey = None
) -> Response:
    # Like the rating form: the access key in the address is the credential, so another site cannot post
    # this form for the citizen (there is no cookie to ride on); the row is locked only once the form is in.
    try:
        case = await tracking.find_case(session, tracking_no, k)
    except CaseNotFound:
        return not_found(request, _CASE_NOT_FOUND)
    key = k or ""
    values = await read_fields(request, ("text",))
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
