"""What the coordination meeting's difficult cases and the rapid-handling fund take in and hand out.

Money travels as integers in fen (分): 1 yuan is 100; no floating point anywhere between the request and the
ledger.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from shared.db.ids import DbId

# Ten billion yuan: far beyond any budget, and sums of such amounts stay well inside BIGINT.
MAX_FEN = 10**12
EARLIEST_YEAR, LATEST_YEAR = 2000, 2200

Fen = Annotated[int, Field(ge=1, le=MAX_FEN, description="Amount in fen (分), 100 = 1 yuan")]


def _storable(value: str) -> str:
    # PostgreSQL text cannot hold NUL, and lone surrogates cannot be encoded as UTF-8.
    if "\x00" in value or any("\ud800" <= ch <= "\udfff" for ch in value):
        raise ValueError("含有无法保存的字符")
    if not value.strip():
        raise ValueError("不能为空白")
    return value.strip()


def _in_years(value: dt.date) -> dt.date:
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValueError(f"日期须在 {EARLIEST_YEAR} 至 {LATEST_YEAR} 年之间")
    return value


Text = Annotated[str, AfterValidator(_storable)]
Day = Annotated[dt.date, AfterValidator(_in_years)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- difficult cases (疑难问题协调处办会) ------------------------------------------------------------------


class DifficultMarkIn(_Input):
    reason: Text = Field(min_length=2, max_length=2000, description="Why the case needs the meeting")
    meeting_date: Day | None = Field(default=None, description="The meeting it goes to; null: not yet set")


class DifficultUpdateIn(_Input):
    reason: Text | None = Field(default=None, min_length=2, max_length=2000)
    meeting_date: Day | None = Field(default=None, description="null takes it off a meeting's agenda")

    @field_validator("reason")
    @classmethod
    def _reason_not_null(cls, value: str | None) -> str:
        if value is None:
            raise ValueError("不能为空")
        return value


class DecisionIn(_Input):
    lead_department_id: DbId = Field(description="The department that leads (主办) from now on")
    co_department_ids: list[DbId] = Field(
        default_factory=list, max_length=20, description="Co-handlers (协办); may be empty"
    )
    due_at: AwareDatetime = Field(description="The reply deadline the meeting set for the lead")
    note: Text | None = Field(
        default=None, max_length=2000, description="The meeting's words, shown publicly"
    )

    @field_validator("co_department_ids")
    @classmethod
    def _distinct(cls, values: list[int]) -> list[int]:
        if len(set(values)) != len(values):
            raise ValueError("协办单位重复")
        return values


class HandlingDepartment(BaseModel):
    assignment_id: int
    department_id: int
    name: str
    role: str
    status: str


class OpenDeadline(BaseModel):
    kind: str
    assignment_id: int | None
    tier: str | None
    due_at: dt.datetime


class MeetingDecision(BaseModel):
    lead_department_id: int
    co_department_ids: list[int]
    due_at: dt.datetime
    note: str | None
    decided_at: dt.datetime
    decided_by_key_id: int | None


class DifficultCaseOut(BaseModel):
    id: int
    case_id: int
    tracking_no: str
    case_status: str
    category_code: str | None
    category_name: str | None
    reason: str
    meeting_date: dt.date | None
    status: str = Field(description="pending (waiting for the meeting), decided or withdrawn")
    marked_by_key_id: int | None
    marked_at: dt.datetime
    withdrawn_at: dt.datetime | None
    departments: list[HandlingDepartment] = Field(description="The units on the case now")
    open_deadlines: list[OpenDeadline] = Field(
        description="Accept, reply and opinion deadlines still running"
    )
    decision: MeetingDecision | None


# --- rapid-handling fund (快速处置经费) --------------------------------------------------------------------


class FundCreate(_Input):
    year: int = Field(ge=EARLIEST_YEAR, le=LATEST_YEAR)
    name: Text = Field(min_length=1, max_length=100)
    budget_fen: Fen


class FundUpdate(_Input):
    name: Text | None = Field(default=None, min_length=1, max_length=100)
    budget_fen: Fen | None = Field(default=None, description="Never below what is already allocated")

    @field_validator("name", "budget_fen")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("不能为空")
        return value


class FundOut(BaseModel):
    id: int
    year: int
    name: str
    budget_fen: int
    allocated_fen: int = Field(description="Set aside for cases")
    spent_fen: int = Field(description="Paid out of the allocations")
    balance_fen: int = Field(description="budget_fen - allocated_fen: what can still be allocated")
    created_at: dt.datetime


class AllocationIn(_Input):
    case_id: DbId
    amount_fen: Fen
    purpose: Text = Field(min_length=2, max_length=500)
    approver: Text = Field(min_length=1, max_length=50, description="Who approved the allocation")


class SpendingIn(_Input):
    amount_fen: Fen
    note: Text = Field(min_length=1, max_length=500)
    spent_on: Day
    receipt_no: Text | None = Field(default=None, max_length=64)


class SpendingOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    allocation_id: int
    amount_fen: int
    note: str
    spent_on: dt.date
    receipt_no: str | None
    created_at: dt.datetime


class AllocationOut(BaseModel):
    id: int
    fund_id: int
    case_id: int
    tracking_no: str
    amount_fen: int
    spent_fen: int
    remaining_fen: int = Field(description="amount_fen - spent_fen: what can still be spent")
    purpose: str
    approver: str
    created_at: dt.datetime
    created_by_key_id: int | None
    spendings: list[SpendingOut]


class FundDetail(FundOut):
    allocations: list[AllocationOut]
