"""The case search (GET /v1/cases, its filters and order) as CSV or an Excel workbook for congress staff:
staff fields only, the submitter's name and phone masked and left out of confidential cases, never unmasked.
CSV streams in keyset batches read in one read-only snapshot; a workbook is written row by row (openpyxl's
write-only mode) to a temporary file, up to XLSX_MAX_ROWS rows."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import tempfile
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import datetime
from typing import IO, Any

from openpyxl import Workbook
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from services.supervision.cases import search_cases
from services.supervision.errors import FieldInvalid
from services.supervision.metrics.exports import BOM, download_name, safe
from services.supervision.schemas import CaseFilters
from services.workflow.errors import STATUS_LABELS
from shared.calendar import SHANGHAI
from shared.db.enums import GONE_ASSIGNMENT_STATUSES
from shared.db.models import Assignment, Case, Category, Department, Deputy, Grid, Station
from shared.security.pii import decrypt, mask_name, mask_phone

BATCH = 500
# A workbook is built whole before it is sent: beyond this many cases, export CSV (streamed) or narrow the search.
XLSX_MAX_ROWS = 50_000

KIND_LABELS = {"citizen": "群众反映", "deputy_suggestion": "代表建议"}
REQUEST_TYPE_LABELS = {
    "enquiry": "咨询",
    "help": "求助",
    "complaint": "投诉",
    "report": "举报",
    "suggestion": "建议",
}
URGENCY_LABELS = {"normal": "一般", "urgent": "紧急", "critical": "特急"}
ROLE_LABELS = {"lead": "主办", "co": "协办", "separate": "分办"}
HEADERS = (
    "受理编号",
    "办理状态",
    "类别",
    "问题分类",
    "诉求类型",
    "紧急程度",
    "标题",
    "诉求内容",
    "地点",
    "网格",
    "联络站",
    "代表",
    "承办单位",
    "受理时间",
    "交办时间",
    "答复时间",
    "办结时间",
    "反映人",
    "联系电话",
)


class ExportTooLarge(FieldInvalid):
    def __init__(self) -> None:
        super().__init__(
            "limit", f"结果超过 {XLSX_MAX_ROWS} 条，无法导出为 Excel；请缩小查询范围，或导出 CSV"
        )


def cases_download_name(extension: str) -> str:
    return download_name("事项查询结果", "cases", extension)


def _local(moment: datetime | None) -> str:
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if moment else ""


def _label(labels: dict[str, str], code: str | None) -> str:
    return labels.get(code, code) if code else ""


async def check_filters(session: AsyncSession, jurisdiction_id: int, filters: CaseFilters) -> None:
    """Refuses bad filters (422) before a streamed answer has begun."""
    await search_cases(session, jurisdiction_id, filters, limit=0)


async def _batches(
    session: AsyncSession, jurisdiction_id: int, filters: CaseFilters
) -> AsyncIterator[list[list[str]]]:
    """The matching cases, newest first, as rows of cells, a batch at a time."""
    before: int | None = None
    while True:
        found = await search_cases(session, jurisdiction_id, filters, limit=BATCH, before_id=before)
        page = found[:BATCH]
        if page:
            yield await _rows(session, [summary.id for summary in page])
        if len(found) <= BATCH:
            return
        before = page[-1].id


async def _rows(session: AsyncSession, ids: list[int]) -> list[list[str]]:
    parent = aliased(Category)
    cases = {
        row.Case.id: row
        for row in await session.execute(
            select(
                Case,
                Category.name.label("category"),
                parent.name.label("parent"),
                Grid.name.label("grid"),
                Station.name.label("station"),
                Deputy.name.label("deputy"),
            )
            .outerjoin(Category, Category.id == Case.category_id)
            .outerjoin(parent, parent.id == Category.parent_id)
            .outerjoin(Grid, Grid.id == Case.grid_id)
            .outerjoin(Station, Station.id == Case.station_id)
            .outerjoin(Deputy, Deputy.id == Case.deputy_id)
            .where(Case.id.in_(ids))
        )
    }
    departments: dict[int, list[str]] = defaultdict(list)
    for case_id, name, role in await session.execute(
        select(Assignment.case_id, Department.name, Assignment.role)
        .join(Department, Department.id == Assignment.department_id)
        .where(Assignment.case_id.in_(ids), Assignment.status.not_in(GONE_ASSIGNMENT_STATUSES))
        .order_by(Assignment.id)
    ):
        departments[case_id].append(f"{name}（{_label(ROLE_LABELS, role)}）")
    return [_cells(cases[case_id], departments.get(case_id, [])) for case_id in ids if case_id in cases]


def _cells(row: Any, departments: list[str]) -> list[str]:
    case: Case = row.Case
    name = phone = None
    if not case.confidential:
        name = mask_name(decrypt(case.submitter_name_enc))
        phone = mask_phone(decrypt(case.submitter_phone_enc))
    category = f"{row.parent}/{row.category}" if row.parent else row.category
    return [
        case.tracking_no,
        _label(STATUS_LABELS, case.status),
        _label(KIND_LABELS, case.kind),
        safe(category),
        _label(REQUEST_TYPE_LABELS, case.request_type),
        _label(URGENCY_LABELS, case.urgency),
        safe(case.title),
        safe(case.description),
        safe(case.location_text),
        safe(row.grid),
        safe(row.station),
        safe(row.deputy),
        safe("、".join(departments)),
        _local(case.created_at),
        _local(case.dispatched_at),
        _local(case.replied_at),
        _local(case.closed_at),
        safe(name),
        safe(phone),
    ]


def _lines(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode("utf-8")


async def cases_csv(
    sessions: async_sessionmaker[AsyncSession], jurisdiction_id: int, filters: CaseFilters
) -> AsyncIterator[bytes]:
    """The BOM and header, then the cases a batch at a time, all read in one snapshot."""
    yield (BOM + ",".join(HEADERS) + "\r\n").encode("utf-8")
    async with sessions() as session, session.begin():
        await session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))
        async for rows in _batches(session, jurisdiction_id, filters):
            yield _lines(rows)


def _discard(sheet: Any) -> None:
    """Ends an abandoned write-only sheet and removes the temporary file openpyxl streams its rows to (it is
    otherwise removed only when the workbook is saved, or at exit)."""
    with contextlib.suppress(Exception):
        sheet.close()
        sheet._writer.cleanup()


async def cases_xlsx(session: AsyncSession, jurisdiction_id: int, filters: CaseFilters) -> IO[bytes]:
    """The workbook in a temporary file (rewound), or ExportTooLarge past XLSX_MAX_ROWS cases."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("事项")
    sheet.append(list(HEADERS))
    count = 0
    async for rows in _batches(session, jurisdiction_id, filters):
        count += len(rows)
        if count > XLSX_MAX_ROWS:
            _discard(sheet)
            raise ExportTooLarge()
        for cells in rows:
            sheet.append(cells)
    out = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 (handed to the response)
    await asyncio.to_thread(workbook.save, out)
    out.seek(0)
    return out
