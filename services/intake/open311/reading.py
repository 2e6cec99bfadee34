"""The read side of the endpoint, one function per route: the parameters as sent are checked (400 for bad
ones), the jurisdiction found, and the answer read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.open311 import catalogue, queries
from services.intake.open311.errors import BadRequest, RequestNotFound, TokenNotFound
from services.intake.open311.params import (
    MAX_RESULTS,
    WINDOW,
    code_like,
    comma_list,
    jurisdiction,
    parse_time,
    window,
)
from services.intake.open311.schemas import (
    Discovery,
    Endpoint,
    RequestUpdate,
    Service,
    ServiceDefinition,
    ServiceRequest,
    TokenAnswer,
)
from shared.calendar import SHANGHAI

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
# When this endpoint's behaviour last changed (the discovery's changeset).
CHANGESET = datetime(2026, 11, 30, tzinfo=SHANGHAI)


def discovery(base_url: str) -> Discovery:
    return Discovery(
        changeset=CHANGESET,
        contact="请联系所在辖区人大常委会的系统管理员",
        key_service="提交诉求须使用集成方（integrator）密钥，并由管理员绑定到一个二维码或联络站（见 docs/open311.md）",
        endpoints=[
            Endpoint(
                specification=SPECIFICATION,
                url=f"{base_url}/open311/v2",
                changeset=CHANGESET,
                type="production",
                formats=["application/json", "application/xml"],
            )
        ],
    )


async def services(session: AsyncSession, jurisdiction_code: str | None) -> list[Service]:
    place = await jurisdiction(session, jurisdiction_code)
    assert place is not None
    return await catalogue.services(session, place.id)


async def service_definition(
    session: AsyncSession, jurisdiction_code: str | None, service_code: str
) -> ServiceDefinition:
    place = await jurisdiction(session, jurisdiction_code)
    assert place is not None
    code = code_like(service_code, "service_code", 64)
    if code is None:
        raise BadRequest("请提供 service_code")
    return await catalogue.definition(session, place.id, code)


@dataclass(frozen=True)
class RequestParams:
    """GET requests' query parameters, as sent."""

    jurisdiction_id: str | None = None
    service_request_id: str | None = None
    service_code: str | None = None
    status: str | None = None
    start_date: str | None = None
    end_date: str | None = None


async def service_requests(session: AsyncSession, sent: RequestParams) -> list[ServiceRequest]:
    place = await jurisdiction(session, sent.jurisdiction_id)
    assert place is not None
    ids = comma_list(sent.service_request_id, "service_request_id", max_items=MAX_RESULTS, max_length=32)
    codes = comma_list(sent.service_code, "service_code", max_items=200, max_length=64)
    statuses = comma_list(sent.status, "status", max_items=2, max_length=8)
    if statuses is not None and not set(statuses) <= {"open", "closed"}:
        raise BadRequest("status 应为 open 或 closed（可用逗号分隔）")
    start, end = window(
        parse_time(sent.start_date, "start_date"), parse_time(sent.end_date, "end_date"), datetime.now(UTC)
    )
    query = queries.RequestQuery(ids=ids, service_codes=codes, statuses=statuses, start=start, end=end)
    return await queries.service_requests(session, place.id, query)


async def service_request(
    session: AsyncSession, jurisdiction_code: str | None, service_request_id: str
) -> ServiceRequest:
    """One request; without jurisdiction_id found among every jurisdiction (tracking numbers are unique)."""
    place = await jurisdiction(session, jurisdiction_code, required=False)
    try:
        tracking_no = code_like(service_request_id, "service_request_id", 32)
    except BadRequest:
        tracking_no = None
    if tracking_no is None:
        raise RequestNotFound()
    return await queries.service_request(session, place.id if place else None, tracking_no)


async def token(session: AsyncSession, jurisdiction_code: str | None, sent: str) -> TokenAnswer:
    place = await jurisdiction(session, jurisdiction_code, required=False)
    if len(sent) > 64:
        raise TokenNotFound()
    return await queries.token_answer(session, place.id if place else None, sent)


async def updates(
    session: AsyncSession,
    jurisdiction_code: str | None,
    since: str | None,
    until: str | None,
    service_request_id: str | None,
) -> list[RequestUpdate]:
    """The public events from ``since`` to ``until`` (now, by default; ``since`` 90 days before it)."""
    place = await jurisdiction(session, jurisdiction_code)
    assert place is not None
    until_at = parse_time(until, "until") or datetime.now(UTC)
    since_at = parse_time(since, "since") or until_at - WINDOW
    if since_at > until_at:
        raise BadRequest("since 不能晚于 until")
    tracking_no = code_like(service_request_id, "service_request_id", 32)
    return await queries.updates(session, place.id, since_at, until_at, tracking_no)
