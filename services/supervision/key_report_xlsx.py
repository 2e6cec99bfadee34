"""The year's key-supervision report as an Excel workbook for the committee's office: the items on
"重点督办事项", one row per check on "三督记录", the counts on "汇总"; Chinese headers and labels."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from services.supervision.key_item_errors import STAGE_LABELS
from services.supervision.key_item_schemas import KeyReport, ReportItem
from services.workflow.errors import STATUS_LABELS
from shared.calendar import SHANGHAI

ITEMS_SHEET, CHECKS_SHEET, SUMMARY_SHEET = "重点督办事项", "三督记录", "汇总"

KIND_LABELS = {"citizen": "群众反映", "deputy_suggestion": "代表建议"}
ROLE_LABELS = {"lead": "主办", "co": "协办", "separate": "分办"}
ASSIGNMENT_STATUS_LABELS = {"pending": "待签收", "accepted": "已签收", "replied": "已答复"}
RATING_LABELS = {
    "satisfied": "满意",
    "basically_satisfied": "基本满意",
    "dissatisfied": "不满意",
    "unrated": "未评价",
}
SOURCE_LABELS = {"citizen": "群众", "deputy": "代表"}
CHECK_RATING_LABELS = {"good": "好", "fair": "较好", "average": "一般", "poor": "差"}
OUTCOME_LABELS = {"kept": "按期", "missed": "逾期", "open": "未到期"}

# (header, width in characters); wide text columns wrap.
ITEM_COLUMNS = (
    ("序号", 6),
    ("受理编号", 20),
    ("标题或摘要", 36),
    ("问题分类", 14),
    ("类别", 10),
    ("办理状态", 10),
    ("领衔督办", 12),
    ("督办目标", 36),
    ("对口委办", 14),
    ("承办单位", 32),
    ("答复期限按期", 12),
    ("答复期限逾期", 12),
    ("答复期限未到期", 14),
    ("答复期限明细", 40),
    ("答复分类", 16),
    ("满意度", 24),
    ("年初确定", 16),
    ("年中督查", 16),
    ("年终评估", 16),
)
CHECK_COLUMNS = (
    ("受理编号", 20),
    ("标题或摘要", 36),
    ("领衔督办", 12),
    ("督查阶段", 10),
    ("检查日期", 12),
    ("评价等级", 10),
    ("检查情况", 60),
    ("记录时间", 18),
)
SUMMARY_COLUMNS = (("项目", 28), ("数量", 10))
WRAPPED = {"标题或摘要", "督办目标", "承办单位", "答复期限明细", "检查情况", "满意度"}

_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_DATE = "yyyy-mm-dd"
_DATETIME = "yyyy-mm-dd hh:mm"


def _label(labels: dict[str, str], code: str | None) -> str:
    return labels.get(code, code) if code else ""


def _local(moment: datetime) -> datetime:
    # Excel has no time zones: times are written as Shanghai wall-clock time.
    return moment.astimezone(SHANGHAI).replace(tzinfo=None)


def _day(moment: datetime) -> str:
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d")


def _round(number: int) -> str:
    return "首次答复" if number == 0 else f"第{number}次重办"


def _headline(item: ReportItem) -> str:
    return item.title or item.excerpt


def _check_cell(item: ReportItem, stage: str) -> str:
    check = next((c for c in item.checks if c.stage == stage), None)
    if check is None:
        return ""
    return f"{check.checked_on.isoformat()} {_label(CHECK_RATING_LABELS, check.rating)}".strip()


def _item_row(number: int, item: ReportItem) -> list[Any]:
    departments = "；".join(
        f"{d.name}（{_label(ROLE_LABELS, d.role)}，{_label(ASSIGNMENT_STATUS_LABELS, d.status)}）"
        for d in item.departments
    )
    deadlines = "；".join(
        f"{d.department_name or '事项'} {_round(d.round)} {_day(d.due_at)} {OUTCOME_LABELS[d.outcome]}"
        for d in item.reply_deadlines
    )
    replies = "、".join(f"{r.department_name} {r.reply_class}类" for r in item.replies)
    feedback = "；".join(
        f"{_label(SOURCE_LABELS, f.source)}：{_label(RATING_LABELS, f.rating)}" for f in item.feedback
    )
    return [
        number,
        item.tracking_no,
        _headline(item),
        item.category_name or item.category_code or "",
        _label(KIND_LABELS, item.kind),
        _label(STATUS_LABELS, item.status),
        item.lead_supervisor,
        item.goal,
        item.committee_name or "",
        departments,
        item.deadlines_kept,
        item.deadlines_missed,
        item.deadlines_open,
        deadlines,
        replies,
        feedback or RATING_LABELS["unrated"],
        _check_cell(item, "start"),
        _check_cell(item, "mid"),
        _check_cell(item, "end"),
    ]


def _check_rows(report: KeyReport) -> Iterable[list[Any]]:
    for item in report.items:
        for check in item.checks:
            yield [
                item.tracking_no,
                _headline(item),
                item.lead_supervisor,
                STAGE_LABELS.get(check.stage, check.stage),
                check.checked_on,
                _label(CHECK_RATING_LABELS, check.rating),
                check.findings,
                _local(check.created_at),
            ]


def _summary_rows(report: KeyReport) -> Iterable[list[Any]]:
    summary = report.summary
    yield [f"{report.year} 年度重点督办事项", summary.items]
    for status, count in summary.by_status.items():
        yield [f"办理状态：{_label(STATUS_LABELS, status)}", count]
    for kind, count in summary.by_kind.items():
        yield [f"类别：{_label(KIND_LABELS, kind)}", count]
    yield ["答复期限：按期", summary.deadlines_kept]
    yield ["答复期限：逾期", summary.deadlines_missed]
    yield ["答复期限：未到期", summary.deadlines_open]
    for rating in RATING_LABELS:
        yield [f"满意度：{RATING_LABELS[rating]}", summary.ratings.get(rating, 0)]
    for stage, count in summary.checks_recorded.items():
        yield [f"已记录{STAGE_LABELS[stage]}", count]
        for grade, label in CHECK_RATING_LABELS.items():
            if stage != "start" or grade in summary.check_ratings[stage]:
                yield [f"{STAGE_LABELS[stage]}评价：{label}", summary.check_ratings[stage].get(grade, 0)]


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        # Control characters cannot be stored in the file format.
        return ILLEGAL_CHARACTERS_RE.sub("", value)
    return value


def _fill(sheet: Worksheet, columns: Sequence[tuple[str, int]], rows: Iterable[list[Any]]) -> None:
    sheet.append([header for header, _ in columns])
    for cell in sheet[1]:
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(vertical="center")
    wrapped = {i + 1 for i, (header, _) in enumerate(columns) if header in WRAPPED}
    for row in rows:
        sheet.append([_clean(value) for value in row])
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, str):
                # Text from people (a goal, findings) is never a formula, even when it starts with "=".
                cell.data_type = "s"
            elif isinstance(cell.value, datetime):
                cell.number_format = _DATETIME
            elif isinstance(cell.value, date):
                cell.number_format = _DATE
            if cell.column in wrapped:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    for index, (_, width) in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    if sheet.max_row > 1:
        sheet.auto_filter.ref = sheet.dimensions


def build_workbook(report: KeyReport) -> bytes:
    """The .xlsx file of the report (CPU work: run it off the event loop)."""
    book = Workbook()
    items = book.active
    assert isinstance(items, Worksheet)
    items.title = ITEMS_SHEET
    _fill(items, ITEM_COLUMNS, (_item_row(n, item) for n, item in enumerate(report.items, start=1)))
    _fill(book.create_sheet(CHECKS_SHEET), CHECK_COLUMNS, _check_rows(report))
    _fill(book.create_sheet(SUMMARY_SHEET), SUMMARY_COLUMNS, _summary_rows(report))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
