"""The rapid-handling fund (快速处置经费): budgets, allocations to cases, spending, and the ledger."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from services.supervision import fund_ledger, funds
from services.supervision.coordination_schemas import (
    EARLIEST_YEAR,
    LATEST_YEAR,
    AllocationIn,
    AllocationOut,
    FundCreate,
    FundDetail,
    FundOut,
    FundUpdate,
    SpendingIn,
    SpendingOut,
)
from shared.db.models import Fund, FundAllocation
from shared.web.pagination import Page
from supervision_api.deps import Admin, Id, Pagination, Session, Staff

router = APIRouter(tags=["rapid fund"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def _staff_fund(fund_id: Id, principal: Staff, session: Session) -> Fund:
    return await funds.get_fund(session, principal.jurisdiction_id, fund_id)


async def _admin_fund(fund_id: Id, principal: Admin, session: Session) -> Fund:
    return await funds.get_fund(session, principal.jurisdiction_id, fund_id)


async def _staff_allocation(allocation_id: Id, principal: Staff, session: Session) -> FundAllocation:
    return await funds.get_allocation(session, principal.jurisdiction_id, allocation_id)


StaffFund = Annotated[Fund, Depends(_staff_fund)]
AdminFund = Annotated[Fund, Depends(_admin_fund)]
StaffAllocation = Annotated[FundAllocation, Depends(_staff_allocation)]


@router.post("/v1/funds", status_code=201, summary="Create a fund for a year with its budget (admin)")
async def create_fund(principal: Admin, session: Session, body: FundCreate) -> FundOut:
    return await funds.create_fund(session, principal, body)


@router.get("/v1/funds", summary="The jurisdiction's funds with their balances")
async def list_funds(
    principal: Staff,
    session: Session,
    page: Pagination,
    year: Annotated[int | None, Query(ge=EARLIEST_YEAR, le=LATEST_YEAR)] = None,
) -> Page[FundOut]:
    rows = await funds.list_funds(
        session, principal.jurisdiction_id, year=year, limit=page.limit, after_id=page.after_id
    )
    return page.page_of(rows)


@router.get("/v1/funds/{fund_id}", summary="A fund: budget, allocated, spent, balance and every allocation")
async def get_fund(fund: StaffFund, session: Session) -> FundDetail:
    return await funds.fund_detail(session, fund)


@router.patch("/v1/funds/{fund_id}", summary="Rename a fund or change its budget (admin)")
async def update_fund(fund: AdminFund, session: Session, body: FundUpdate) -> FundOut:
    """409 `budget_below_allocated` for a budget below what is already allocated."""
    return await funds.update_fund(session, fund, body)


@router.delete(
    "/v1/funds/{fund_id}", status_code=204, summary="Delete a fund nothing was allocated from (admin)"
)
async def delete_fund(fund: AdminFund, session: Session) -> Response:
    await funds.delete_fund(session, fund)
    return Response(status_code=204)


@router.post(
    "/v1/funds/{fund_id}/allocations",
    status_code=201,
    summary="Allocate money of the fund to a case (the balance never goes below zero)",
)
async def allocate(principal: Staff, fund: StaffFund, session: Session, body: AllocationIn) -> AllocationOut:
    """409 `insufficient_fund` (经费余额不足) when the amount exceeds the balance, also when many arrive at
    once."""
    return await funds.allocate(session, principal, fund, body)


@router.post(
    "/v1/allocations/{allocation_id}/spendings",
    status_code=201,
    summary="Record money spent out of an allocation (never beyond it)",
)
async def spend(
    principal: Staff, allocation: StaffAllocation, session: Session, body: SpendingIn
) -> SpendingOut:
    """409 `allocation_exceeded` when the amount exceeds what is left of the allocation."""
    return await funds.spend(session, principal, allocation, body)


@router.get(
    "/v1/funds/{fund_id}/ledger.csv",
    summary="The fund's ledger as CSV (UTF-8 with BOM, Chinese headers)",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
async def ledger_csv(fund: StaffFund, session: Session) -> Response:
    book = await fund_ledger.ledger(session, fund)
    return Response(
        content=fund_ledger.ledger_csv(book),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="fund-{fund.id}-ledger.csv"'},
    )


@router.get(
    "/v1/funds/{fund_id}/ledger.xlsx",
    summary="The fund's ledger as an Excel workbook",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}}},
)
async def ledger_xlsx(fund: StaffFund, session: Session) -> Response:
    book = await fund_ledger.ledger(session, fund)
    return Response(
        content=fund_ledger.ledger_xlsx(book),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="fund-{fund.id}-ledger.xlsx"'},
    )
