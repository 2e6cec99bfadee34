"""A metrics view as CSV (UTF-8 with a BOM, so Excel and WPS open it in Chinese) or as an Excel workbook: one
line per row of the view and a 合计 line, Chinese headers, rates as percentages. Also the pieces the case
exports share: neutralised cells and download names."""

from __future__ import annotations

import csv
import io
from typing import Any
from urllib.parse import quote

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from services.supervision.metrics.schemas import MetricsResult, MetricsRow

BOM = "\ufeff"
# A cell starting with one of these is a formula to Excel and WPS: prefixed with ' it is shown as typed.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

COUNT_HEADERS = {
    "received": "受理数",
    "excluded": "并案及不予受理数",
    "dispatched": "交办数",
    "replied": "答复数",
    "reply_due": "应答复数",
    "replied_on_time": "按期答复数",
    "closed": "办结数",
    "rated": "已评价数",
    "satisfied": "满意数（含基本满意）",
    "basically_satisfied": "其中基本满意",
    "unrated": "未评价",
    "reworked": "重办数",
    "resolved": "A类答复数",
    "suggestions_replied": "已答复代表建议数",
    "met": "见面数",
    "assignments": "交办件次",
    "accepted_on_time": "按期签收件次",
    "declined": "退回件次",
}
RATE_HEADERS = {
    "dispatch_rate": "交办率",
    "on_time_accept_rate": "按期签收率",
    "decline_rate": "退回率",
    "on_time_reply_rate": "按期答复率",
    "closure_rate": "办结率",
    "satisfaction_rate": "满意率",
    "unrated_share": "未评价占比",
    "rework_rate": "重办率",
    "meeting_rate": "见面率",
    "response_rate": "响应率",
    "resolution_rate": "解决率",
}
GROUP_NAMES = {
    None: "合计",
    "department": "承办单位",
    "category": "问题分类",
    "top_category": "问题大类",
    "committee": "对口委办",
    "station": "联络站",
    "deputy": "代表",
    "grid": "网格",
    "month": "月份",
    "week": "周",
}
HEADERS = (
    "分组",
    "编码",
    *COUNT_HEADERS.values(),
    *RATE_HEADERS.values(),
    "综合得分",
    "排名",
    "排名说明",
)
TOTAL_LABEL = "合计"


def safe(text: str | None) -> str:
    """Text fit for a spreadsheet cell: no control characters openpyxl refuses, no formula."""
    if not text:
        return ""
    cleaned = str(ILLEGAL_CHARACTERS_RE.sub("", text))
    return "'" + cleaned if cleaned.startswith(_FORMULA_STARTS) else cleaned


def download_name(stem: str, ascii_stem: str, extension: str) -> str:
    """A Content-Disposition value: an ASCII name for old clients and the Chinese one (RFC 5987)."""
    return (
        f'attachment; filename="{ascii_stem}.{extension}"; '
        f"filename*=UTF-8''{quote(f'{stem}.{extension}', safe='')}"
    )


def metrics_download_name(result: MetricsResult, extension: str) -> str:
    period = f"{result.from_.isoformat()}至{result.to.isoformat()}"
    stem = f"民意指标_{GROUP_NAMES.get(result.group_by, '合计')}_{period}"
    ascii_stem = f"metrics-{result.group_by or 'total'}-{result.from_.isoformat()}-{result.to.isoformat()}"
    return download_name(stem, ascii_stem, extension)


def _lines(result: MetricsResult) -> list[tuple[MetricsRow, str]]:
    lines = [(row, row.label) for row in result.rows] if result.group_by is not None else []
    return [*lines, (result.total, TOTAL_LABEL)]


def _percent(rate: float | None) -> str:
    return "" if rate is None else f"{rate * 100:.2f}%"


def metrics_csv(result: MetricsResult) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADERS)
    for row, label in _lines(result):
        writer.writerow(
            [
                safe(label),
                safe(row.code),
                *(str(row.counts[name]) for name in COUNT_HEADERS),
                *(_percent(row.rates[name]) for name in RATE_HEADERS),
                "" if row.score is None else f"{row.score:.2f}",
                "" if row.rank is None else str(row.rank),
                row.rank_note or "",
            ]
        )
    return (BOM + out.getvalue()).encode("utf-8")


def metrics_xlsx(result: MetricsResult) -> bytes:
    """One sheet 指标: counts as numbers, rates as percentages (blank when undefined), the 合计 line bold."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None  # a new workbook has one sheet
    sheet.title = "指标"
    sheet.append(list(HEADERS))
    rate_columns = range(3 + len(COUNT_HEADERS), 3 + len(COUNT_HEADERS) + len(RATE_HEADERS))
    for row, label in _lines(result):
        cells: list[Any] = [
            safe(label),
            safe(row.code),
            *(row.counts[name] for name in COUNT_HEADERS),
            *(row.rates[name] for name in RATE_HEADERS),
            row.score,
            row.rank,
            row.rank_note or "",
        ]
        sheet.append(cells)
        for column in rate_columns:
            sheet.cell(row=sheet.max_row, column=column).number_format = "0.00%"
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    sheet.column_dimensions["A"].width = 24
    for index in range(2, len(HEADERS) + 1):
        sheet.column_dimensions[get_column_letter(index)].width = 12
    sheet.freeze_panes = "B2"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
