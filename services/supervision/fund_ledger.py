"""A fund's ledger (经费台账) as a spreadsheet: every allocation and every spending in the order they were
recorded, as CSV (UTF-8 with a BOM, so Excel on Chinese Windows reads it right) or XLSX.

Amounts are shown in yuan, converted from fen with Decimal, so no value is ever rounded.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from sqlalchemy.ext.asyncio import AsyncSession

from services.supervision.funds import fund_detail
from shared.calendar import SHANGHAI
from shared.db.models import Fund

HEADERS = (
    "记录时间",
    "类型",
    "分配编号",
    "受理编号",
    "用途或说明",
    "审批人",
    "支出日期",
    "票据号",
    "金额（元）",
)
ALLOCATED, SPENT = "分配", "支出"
# A spreadsheet takes a cell beginning with one of these for a formula; text typed by users never is one.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_COLUMN_WIDTHS = (18, 6, 10, 20, 40, 12, 12, 16, 14)


@dataclass(frozen=True)
class LedgerRow:
    at: datetime
    kind: str
    allocation_id: int
    tracking_no: str
    text: str
    approver: str
    spent_on: date | None
    receipt_no: str | None
    amount_fen: int


@dataclass(frozen=True)
class Ledger:
    fund: Fund
    rows: list[LedgerRow]
    allocated_fen: int
    spent_fen: int


def yuan(fen: int) -> Decimal:
    return (Decimal(fen) / 100).quantize(Decimal("0.01"))


def _safe(text: str | None) -> str:
    if not text:
        return ""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _local(moment: datetime) -> str:
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


async def ledger(session: AsyncSession, fund: Fund) -> Ledger:
    """The fund's rows, oldest first (an allocation before the spendings recorded in the same instant)."""
    detail = await fund_detail(session, fund)
    rows: list[LedgerRow] = []
    for a in detail.allocations:
        rows.append(
            LedgerRow(
                a.created_at, ALLOCATED, a.id, a.tracking_no, a.purpose, a.approver, None, None, a.amount_fen
            )
        )
        rows.extend(
            LedgerRow(
                s.created_at,
                SPENT,
                a.id,
                a.tracking_no,
                s.note,
                a.approver,
                s.spent_on,
                s.receipt_no,
                s.amount_fen,
            )
            for s in a.spendings
        )
    rows.sort(key=lambda row: (row.at, row.kind != ALLOCATED))
    # Totals from the rows themselves, so the sheet adds up even if an allocation arrived while it was read.
    allocated = sum(a.amount_fen for a in detail.allocations)
    spent = sum(a.spent_fen for a in detail.allocations)
    return Ledger(fund=fund, rows=rows, allocated_fen=allocated, spent_fen=spent)


def _cells(row: LedgerRow) -> list[str]:
    return [
        _local(row.at),
        row.kind,
        str(row.allocation_id),
        row.tracking_no,
        _safe(row.text),
        _safe(row.approver),
        row.spent_on.isoformat() if row.spent_on else "",
        _safe(row.receipt_no),
        str(yuan(row.amount_fen)),
    ]


def ledger_csv(book: Ledger) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADERS)
    writer.writerows(_cells(row) for row in book.rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def ledger_xlsx(book: Ledger) -> bytes:
    """Two sheets: 台账 (the rows) and 汇总 (budget, allocated, spent, balance)."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None  # a new workbook has one sheet
    sheet.title = "台账"
    sheet.append(list(HEADERS))
    for row in book.rows:
        cells: list[object] = list(_cells(row))
        cells[2] = row.allocation_id
        cells[-1] = yuan(row.amount_fen)
        sheet.append(cells)
        sheet.cell(row=sheet.max_row, column=len(HEADERS)).number_format = "0.00"
    for index, width in enumerate(_COLUMN_WIDTHS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    fund = book.fund
    totals = workbook.create_sheet("汇总")
    totals.append(["经费名称", _safe(fund.name)])
    totals.append(["年度", fund.year])
    for label, fen in (
        ("预算（元）", fund.budget_fen),
        ("已分配（元）", book.allocated_fen),
        ("已支出（元）", book.spent_fen),
        ("可分配余额（元）", fund.budget_fen - book.allocated_fen),
    ):
        totals.append([label, yuan(fen)])
        totals.cell(row=totals.max_row, column=2).number_format = "0.00"
    totals.column_dimensions["A"].width = 18
    totals.column_dimensions["B"].width = 24
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
