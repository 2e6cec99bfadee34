"""The case search (GET /v1/cases) as a download for congress staff: CSV streamed, or an Excel workbook."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import AwareDatetime
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.supervision.metrics import case_exports
from services.supervision.schemas import CaseFilters
from shared.db.enums import CaseStatus
from shared.db.ids import MAX_ID
from supervision_api.deps import Session, Staff

router = APIRouter(tags=["cases"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
OptionalId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
CHUNK_BYTES = 64 * 1024


def _filters(
    tracking_no: Annotated[str | None, Query(max_length=32, pattern=PRINTABLE)] = None,
    status: CaseStatus | None = None,
    department_id: OptionalId = None,
    category_code: Annotated[
        str | None, Query(max_length=64, pattern=PRINTABLE, description="Also matches subcategories")
    ] = None,
    station_id: OptionalId = None,
    deputy_id: OptionalId = None,
    created_from: Annotated[
        AwareDatetime | None, Query(alias="from", description="Created at or after")
    ] = None,
    created_to: Annotated[AwareDatetime | None, Query(alias="to", description="Created before")] = None,
    overdue: Annotated[
        bool | None, Query(description="Has a lapsed accept, reply or opinion deadline")
    ] = None,
) -> CaseFilters:
    return CaseFilters(
        tracking_no=tracking_no,
        status=status,
        department_id=department_id,
        category_code=category_code,
        station_id=station_id,
        deputy_id=deputy_id,
        created_from=created_from,
        created_to=created_to,
        overdue=overdue,
    )


Filters = Annotated[CaseFilters, Depends(_filters)]


def _sessions(request: Request) -> async_sessionmaker[AsyncSession]:
    sessions: async_sessionmaker[AsyncSession] = request.app.state.sessions
    return sessions


@router.get(
    "/v1/cases.csv",
    summary="The case search as CSV (UTF-8 with BOM, Chinese headers), streamed",
    description="The filters of GET /v1/cases, newest first, every match. Staff fields only; the submitter's "
    "name and phone masked, left out of confidential cases.",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}},
)
async def cases_csv(
    principal: Staff, session: Session, filters: Filters, request: Request
) -> StreamingResponse:
    await case_exports.check_filters(session, principal.jurisdiction_id, filters)
    return StreamingResponse(
        case_exports.cases_csv(_sessions(request), principal.jurisdiction_id, filters),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": case_exports.cases_download_name("csv"),
            "Cache-Control": "no-store",
        },
    )


@router.get(
    "/v1/cases.xlsx",
    summary="The case search as an Excel workbook",
    description=f"As cases.csv, up to {case_exports.XLSX_MAX_ROWS} cases (more: 422 `validation_error` on "
    "`limit`; narrow the search or export CSV).",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}}},
)
async def cases_xlsx(principal: Staff, session: Session, filters: Filters) -> StreamingResponse:
    workbook = await case_exports.cases_xlsx(session, principal.jurisdiction_id, filters)

    def chunks() -> Iterator[bytes]:
        with workbook:
            while chunk := workbook.read(CHUNK_BYTES):
                yield chunk

    return StreamingResponse(
        chunks(),
        media_type=XLSX,
        headers={
            "Content-Disposition": case_exports.cases_download_name("xlsx"),
            "Cache-Control": "no-store",
        },
    )
