"""The working-day calendar: the due-date helper for integrators, the admin's overrides and the official
schedules loaded per year."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import AwareDatetime, ValidationError

from services.supervision import calendar_admin, calendar_schedule, calendar_years
from services.supervision.calendar_year_schemas import CalendarYearIn, CalendarYearList, CalendarYearLoaded
from services.supervision.schemas import CalendarOverrideList, CalendarOverridesIn, DuePreview
from shared.errors import Unprocessable
from supervision_api.deps import Admin, AnyKey, Session

router = APIRouter(tags=["calendar"])


@router.get("/v1/calendar/due", summary="When a case dispatched at `from` on `tier` would be due")
async def due(
    principal: AnyKey,
    session: Session,
    start: Annotated[
        AwareDatetime,
        Query(alias="from", description="ISO 8601 time with offset, e.g. 2026-09-30T10:00:00+08:00"),
    ],
    tier: Annotated[str, Query(min_length=1, max_length=32, description="e.g. immediate, week, month")],
) -> DuePreview:
    return await calendar_admin.preview_due(session, principal.jurisdiction_id, start, tier)


@router.get("/v1/calendar/overrides", summary="The jurisdiction's working-day overrides")
async def list_overrides(
    principal: Admin,
    session: Session,
    year: Annotated[int | None, Query(ge=1970, le=2200)] = None,
) -> CalendarOverrideList:
    return CalendarOverrideList(
        items=await calendar_admin.list_overrides(session, principal.jurisdiction_id, year)
    )


@router.put("/v1/calendar/overrides", summary="Set dates as working days or days off (upsert)")
async def put_overrides(
    principal: Admin, session: Session, body: CalendarOverridesIn
) -> CalendarOverrideList:
    items = await calendar_admin.upsert_overrides(session, principal.jurisdiction_id, body.items)
    return CalendarOverrideList(items=items)


@router.delete("/v1/calendar/overrides/{day}", status_code=204, summary="Drop a date's override")
async def delete_override(principal: Admin, session: Session, day: date) -> Response:
    await calendar_admin.delete_override(session, principal.jurisdiction_id, day)
    return Response(status_code=204)


def _inlined(schema: dict[str, Any]) -> dict[str, Any]:
    """A model's JSON schema with its ``$defs`` written in place: refs to them would not resolve in OpenAPI."""
    defs = schema.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return walk(defs[ref.removeprefix("#/$defs/")])
            return {key: walk(value) for key, value in node.items()}
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node

    return dict(walk(schema))


_SCHEDULE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": _inlined(CalendarYearIn.model_json_schema())},
            "text/csv": {
                "schema": {"type": "string"},
                "example": "date,kind,name\n2026-01-01,holiday,元旦\n2026-01-04,workday,元旦调休上班\n",
            },
        },
    }
}


@router.get("/v1/calendar/years", summary="Which years the calendar covers: national data, loaded or assumed")
async def list_years(principal: Admin, session: Session) -> CalendarYearList:
    return await calendar_years.list_years(session, principal.jurisdiction_id, calendar_years.today())


@router.put(
    "/v1/calendar/years/{year}",
    summary="Load a year's official schedule (JSON, or the CSV file with Content-Type: text/csv)",
    openapi_extra=_SCHEDULE_BODY,
)
async def put_year(
    principal: Admin,
    session: Session,
    request: Request,
    year: Annotated[int, Path(ge=1970, le=2200)],
    source: Annotated[
        str | None, Query(max_length=200, description="For a CSV body: where the dates come from")
    ] = None,
) -> CalendarYearLoaded:
    raw = await request.body()
    if request.headers.get("content-type", "").split(";")[0].strip().lower() == "text/csv":
        schedule = calendar_schedule.parse_csv(calendar_schedule.decode_csv(raw), year)
    else:
        body = _schedule_json(raw)
        schedule = calendar_schedule.from_items(((d.date, d.kind, d.name) for d in body.days), year)
        source = body.source
    return await calendar_years.load_year(
        session,
        principal.jurisdiction_id,
        schedule,
        source=source,
        loaded_by=f"api_key:{principal.key_id}",
        now=datetime.now(UTC),
    )


def _schedule_json(raw: bytes) -> CalendarYearIn:
    if not raw.strip():
        raise Unprocessable("请求体为空：请提交 JSON 日程，或以 text/csv 提交 CSV 文件")
    try:
        return CalendarYearIn.model_validate_json(raw)
    except ValidationError as exc:
        # Rendered like any other body error (field paths, Chinese messages).
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from exc
