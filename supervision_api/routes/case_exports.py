"""The case search (GET /v1/cases) as a download for congress staff: CSV streamed, or an Excel workbook."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.supervision.metrics import case_exports
from supervision_api.deps import CaseSearch, Session, Staff

router = APIRouter(tags=["cases"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CHUNK_BYTES = 64 * 1024


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
    principal: Staff, session: Session, filters: CaseSearch, request: Request
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
async def cases_xlsx(principal: Staff, session: Session, filters: CaseSearch) -> StreamingResponse:
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
