"""Open311 GeoReport v2 (https://wiki.open311.org/GeoReport_v2) under /open311/v2/, every route in .json and
.xml: the service list and definitions (our categories), requests (reading: public, no key; submitting: an
integrator key bound to an intake code or a station), tokens and the updates extension. docs/open311.md
tells integrators how to use it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Header, Path, Query, Request
from fastapi.responses import Response
from starlette.routing import Match

from intake_api.deps import Autocommit, CodeDirectory, Numbers
from intake_api.open311.responses import FormatPath, Open311Route, answer, documented, error_answer, format_of
from services.intake.open311 import reading, submission
from services.intake.open311.errors import BadRequest
from services.intake.open311.schemas import (
    Created,
    Discovery,
    PostForm,
    RequestUpdate,
    Service,
    ServiceDefinition,
    ServiceRequest,
    TokenAnswer,
)
from shared.errors import TooManyRequests
from shared.settings import get_settings
from shared.web.db import Session

router = APIRouter(prefix="/open311/v2", tags=["open311"], route_class=Open311Route)

# What a POST may be sent as: the spec's form encoding (multipart is a form too).
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")

JurisdictionId = Annotated[
    str | None,
    Query(
        max_length=16,
        description="Our jurisdiction code (e.g. GS); required when the platform serves several jurisdictions",
    ),
]
ServiceRequestIds = Annotated[
    str | None,
    Query(max_length=40000, description="Tracking numbers, comma-separated; overrides every other filter"),
]
ServiceCodes = Annotated[str | None, Query(max_length=20000, description="Category codes, comma-separated")]
Status = Annotated[str | None, Query(max_length=20, description="open, closed or open,closed")]
StartDate = Annotated[
    str | None,
    Query(max_length=40, description="ISO 8601; requested on or after (default: 90 days before end_date)"),
]
EndDate = Annotated[
    str | None,
    Query(
        max_length=40, description="ISO 8601; requested on or before (default: now, or start_date + 90 days)"
    ),
]


@router.get(
    "/discovery.{fmt}",
    summary="Open311 discovery",
    description="Where the endpoint is, its formats and how to get a key.",
    responses=documented(Discovery, "The discovery document"),
)
async def discovery(fmt: FormatPath) -> Response:
    return answer(fmt, "discovery", reading.discovery(get_settings().public_url))


@router.get(
    "/services.{fmt}",
    summary="Open311 service list: the jurisdiction's categories",
    description=(
        "Every active category is a service: `service_code` is the category code, `group` the top-level "
        "category's name; each has a definition (`metadata` true) offering the request type and urgency."
    ),
    responses=documented(list[Service], "The services", errors=(400, 404)),
)
async def services(fmt: FormatPath, session: Session, jurisdiction_id: JurisdictionId = None) -> Response:
    return answer(fmt, "services", await reading.services(session, jurisdiction_id))


@router.get(
    "/services/{service_code}.{fmt}",
    summary="Open311 service definition",
    description=(
        "The attributes a request of this service may carry, as `attribute[code]`: `request_type` (诉求类型) and "
        "`urgency` (紧急程度), single-value lists of our codes and their Chinese names. 404 for an unknown or "
        "inactive category."
    ),
    responses=documented(ServiceDefinition, "The service definition", errors=(400, 404)),
)
async def service_definition(
    service_code: Annotated[str, Path(max_length=64, description="A category code")],
    fmt: FormatPath,
    session: Session,
    jurisdiction_id: JurisdictionId = None,
) -> Response:
    definition = await reading.service_definition(session, jurisdiction_id, service_code)
    return answer(fmt, "service_definition", definition)


@router.get(
    "/requests.{fmt}",
    summary="Open311 requests: citizens' cases, their public progress only",
    description=(
        "No key. Citizens' cases of the jurisdiction, newest first, at most 1,000, requested within "
        "`start_date`..`end_date` (ISO 8601; by default the last 90 days; at most 90 days apart). "
        "`status`: **closed** is our closed, merged and rejected; **open** every other status. Never a name, "
        "phone, e-mail, description or photo; no location for a confidential (保密) case."
    ),
    responses=documented(list[ServiceRequest], "The requests", errors=(400, 404)),
)
async def service_requests(
    fmt: FormatPath,
    session: Session,
    jurisdiction_id: JurisdictionId = None,
    service_request_id: ServiceRequestIds = None,
    service_code: ServiceCodes = None,
    status: Status = None,
    start_date: StartDate = None,
    end_date: EndDate = None,
) -> Response:
    sent = reading.RequestParams(
        jurisdiction_id, service_request_id, service_code, status, start_date, end_date
    )
    return answer(fmt, "service_requests", await reading.service_requests(session, sent))


@router.post(
    "/requests.{fmt}",
    status_code=201,
    summary="Open311: submit a request with a bound integrator key",
    description=(
        "`application/x-www-form-urlencoded`. `api_key` must be an integrator key bound to an intake code or "
        "a station (created on supervision_api with `intake_code_id` or `station_id`); the case is opened "
        "through that code exactly as a citizen's JSON submission would be (dispatch, events, the code's "
        "submission limit). Any other key: 403. Required: `service_code`, `description`, and `lat` with "
        "`long`, or `address_string`, or `address_id`. Name, phone and e-mail are stored encrypted and "
        "never shown. Answers **201** with the tracking number as `service_request_id` and a `token`; with "
        "an `Idempotency-Key` header already used on the same code, **200** and the earlier case. 429 past "
        "the code's submissions allowed (`MINYI_LIMIT_SUBMISSIONS_PER_CODE`), with Retry-After."
    ),
    responses={
        **documented(list[Created], "The new case", status=201, errors=(400, 403, 404, 410, 429)),
        200: documented(list[Created], "A repeat of an earlier request (same Idempotency-Key)")[200],
    },
)
async def submit_request(
    request: Request,
    fmt: FormatPath,
    form: Annotated[PostForm, Form()],
    connection: Autocommit,
    directory: CodeDirectory,
    numbers: Numbers,
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", description="Makes retries safe (1-64 characters)")
    ] = None,
) -> Response:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in _FORM_TYPES:
        raise BadRequest("请以 application/x-www-form-urlencoded 表单提交")
    bound = await submission.bound_code(connection, form.api_key, form.jurisdiction_id)
    retry_after = await submission.count_submission(connection, bound.code_id)
    if retry_after is not None:
        raise TooManyRequests(retry_after)
    created, new = await submission.submit(
        connection, directory, numbers, bound, form, submission_key=idempotency_key or None
    )
    return answer(fmt, "service_requests", [created], 201 if new else 200)


@router.get(
    "/requests/{service_request_id}.{fmt}",
    summary="Open311: one request",
    description=(
        "An array of one request, as in the list. 404 for an unknown tracking number, or one of another "
        "jurisdiction when `jurisdiction_id` is given."
    ),
    responses=documented(list[ServiceRequest], "The request", errors=(400, 404)),
)
async def service_request(
    service_request_id: Annotated[str, Path(max_length=64, description="The tracking number (受理编号)")],
    fmt: FormatPath,
    session: Session,
    jurisdiction_id: JurisdictionId = None,
) -> Response:
    found = await reading.service_request(session, jurisdiction_id, service_request_id)
    return answer(fmt, "service_requests", [found])


@router.get(
    "/tokens/{token}.{fmt}",
    summary="Open311: the request behind a token",
    description='`[{"token", "service_request_id"}]` for a token a POST answered; 404 for any other.',
    responses=documented(list[TokenAnswer], "The request id", errors=(400, 404)),
)
async def token(
    token: Annotated[str, Path(max_length=64, description="The token from a POST's answer")],
    fmt: FormatPath,
    session: Session,
    jurisdiction_id: JurisdictionId = None,
) -> Response:
    return answer(fmt, "service_requests", [await reading.token(session, jurisdiction_id, token)])


@router.get(
    "/servicerequestupdates.{fmt}",
    summary="Open311 updates extension: public events of requests",
    description=(
        "The events a citizen's tracking page shows, oldest first, at most 1,000, from `since` to `until` "
        "(ISO 8601, both included; by default the last 90 days), optionally of one `service_request_id`. "
        "Read on from the last `updated_datetime` seen and skip `update_id`s already read."
    ),
    responses=documented(list[RequestUpdate], "The updates", errors=(400, 404)),
)
async def updates(
    fmt: FormatPath,
    session: Session,
    jurisdiction_id: JurisdictionId = None,
    since: Annotated[str | None, Query(max_length=40, description="ISO 8601")] = None,
    until: Annotated[str | None, Query(max_length=40, description="ISO 8601")] = None,
    service_request_id: Annotated[str | None, Query(max_length=64, description="A tracking number")] = None,
) -> Response:
    found = await reading.updates(session, jurisdiction_id, since, until, service_request_id)
    return answer(fmt, "service_request_updates", found)


@router.api_route(
    "/{rest:path}",
    methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
    include_in_schema=False,
)
async def elsewhere(request: Request, rest: str) -> Response:
    """Any other path or method under /open311/v2/: the spec's error array rather than ours."""
    for route in router.routes:
        if (
            getattr(route, "endpoint", None) is not elsewhere
            and route.matches(request.scope)[0] == Match.PARTIAL
        ):
            return error_answer(format_of(request), 405, "不支持该请求方法")
    return error_answer(format_of(request), 404, "未找到该接口")
