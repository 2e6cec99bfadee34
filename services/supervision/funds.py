"""The rapid-handling fund (快速处置经费): budgets per jurisdiction and year, allocations to cases and the
spending against them.

Every change of a balance is one UPDATE whose WHERE clause is the rule (``allocated_fen + :a <=
budget_fen``, ``spent_fen + :a <= amount_fen``). PostgreSQL re-checks that clause on the row as the previous
writer committed it, so concurrent allocations queue on the fund's row and the one that would overdraw it
finds nothing to update: no read-then-write window, no explicit lock. The tables' CHECK constraints stand
behind it.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, ScalarSelect, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.supervision.coordination_errors import (
    AllocationExceeded,
    AllocationNotFound,
    BudgetBelowAllocated,
    CaseNotFundable,
    FundExists,
    FundInUse,
    FundNotFound,
    InsufficientFund,
)
from services.supervision.coordination_schemas import (
    AllocationIn,
    AllocationOut,
    FundCreate,
    FundDetail,
    FundOut,
    FundUpdate,
    SpendingIn,
    SpendingOut,
)
from services.supervision.errors import FieldInvalid
from services.workflow import Actor, record_event
from shared.calendar import SHANGHAI
from shared.db.enums import CaseStatus
from shared.db.models import Case, Fund, FundAllocation, FundSpending
from shared.security.apikeys import Principal

# A merged case's matter is handled (and paid for) on its main case; a rejected one is not handled at all.
_UNFUNDABLE = (CaseStatus.merged, CaseStatus.rejected)


def _actor(principal: Principal) -> Actor:
    return Actor(principal.role, principal.key_id)


def _spent_by_fund() -> ScalarSelect[int]:
    return (
        select(func.coalesce(func.sum(FundAllocation.spent_fen), 0))
        .where(FundAllocation.fund_id == Fund.id)
        .correlate(Fund)
        .scalar_subquery()
    )


def _fund_out(fund: Fund, spent_fen: int) -> FundOut:
    return FundOut(
        id=fund.id,
        year=fund.year,
        name=fund.name,
        budget_fen=fund.budget_fen,
        allocated_fen=fund.allocated_fen,
        spent_fen=spent_fen,
        balance_fen=fund.budget_fen - fund.allocated_fen,
        created_at=fund.created_at,
    )


# --- funds ------------------------------------------------------------------------------------------------


async def create_fund(session: AsyncSession, principal: Principal, data: FundCreate) -> FundOut:
    fund_id = await session.scalar(
        pg_insert(Fund)
        .values(
            jurisdiction_id=principal.jurisdiction_id,
            year=data.year,
            name=data.name,
            budget_fen=data.budget_fen,
            allocated_fen=0,
            created_by_key_id=principal.key_id,
        )
        .on_conflict_do_nothing(index_elements=["jurisdiction_id", "year", "name"])
        .returning(Fund.id)
    )
    if fund_id is None:
        raise FundExists()
    return await fund_summary(session, await get_fund(session, principal.jurisdiction_id, fund_id))


async def get_fund(session: AsyncSession, jurisdiction_id: int, fund_id: int) -> Fund:
    """The fund if it is this jurisdiction's; any other id is a 404. Read afresh: balances move under us."""
    fund = await session.scalar(
        select(Fund)
        .where(Fund.id == fund_id, Fund.jurisdiction_id == jurisdiction_id)
        .execution_options(populate_existing=True)
    )
    if fund is None:
        raise FundNotFound()
    return fund


async def list_funds(
    session: AsyncSession, jurisdiction_id: int, *, year: int | None, limit: int, after_id: int | None
) -> list[FundOut]:
    """Up to ``limit + 1`` of the jurisdiction's funds, in the order they were created."""
    query = select(Fund, _spent_by_fund()).where(Fund.jurisdiction_id == jurisdiction_id)
    if year is not None:
        query = query.where(Fund.year == year)
    if after_id is not None:
        query = query.where(Fund.id > after_id)
    rows = await session.execute(query.order_by(Fund.id).limit(limit + 1))
    return [_fund_out(fund, spent) for fund, spent in rows.tuples()]


async def fund_summary(session: AsyncSession, fund: Fund) -> FundOut:
    spent = await session.scalar(
        select(func.coalesce(func.sum(FundAllocation.spent_fen), 0)).where(FundAllocation.fund_id == fund.id)
    )
    return _fund_out(fund, int(spent or 0))


async def fund_detail(session: AsyncSession, fund: Fund) -> FundDetail:
    """The fund with every allocation and its spendings, oldest first."""
    allocations = await allocations_of(session, FundAllocation.fund_id == fund.id)
    summary = _fund_out(fund, sum(a.spent_fen for a in allocations))
    return FundDetail(**summary.model_dump(), allocations=allocations)


async def allocations_of(session: AsyncSession, *where: ColumnElement[bool]) -> list[AllocationOut]:
    """The allocations that match, oldest first, each with its spendings."""
    rows = (
        await session.execute(
            select(FundAllocation, Case.tracking_no)
            .join(Case, Case.id == FundAllocation.case_id)
            .where(*where)
            .order_by(FundAllocation.id)
        )
    ).tuples()
    found = list(rows)
    spendings: dict[int, list[SpendingOut]] = defaultdict(list)
    if found:
        for spending in await session.scalars(
            select(FundSpending)
            .where(FundSpending.allocation_id.in_([a.id for a, _ in found]))
            .order_by(FundSpending.id)
        ):
            spendings[spending.allocation_id].append(SpendingOut.model_validate(spending))
    return [_allocation_out(a, tracking_no, spendings[a.id]) for a, tracking_no in found]


def _allocation_out(a: FundAllocation, tracking_no: str, spendings: list[SpendingOut]) -> AllocationOut:
    return AllocationOut(
        id=a.id,
        fund_id=a.fund_id,
        case_id=a.case_id,
        tracking_no=tracking_no,
        amount_fen=a.amount_fen,
        spent_fen=a.spent_fen,
        remaining_fen=a.amount_fen - a.spent_fen,
        purpose=a.purpose,
        approver=a.approver,
        created_at=a.created_at,
        created_by_key_id=a.created_by_key_id,
        spendings=spendings,
    )


async def update_fund(session: AsyncSession, fund: Fund, data: FundUpdate) -> FundOut:
    """Renames a fund or changes its budget; a budget never goes below what is already allocated, even
    with allocations arriving meanwhile (the guard is in the UPDATE)."""
    if data.name is not None and data.name != fund.name:
        taken = await session.scalar(
            select(Fund.id).where(
                Fund.jurisdiction_id == fund.jurisdiction_id,
                Fund.year == fund.year,
                Fund.name == data.name,
                Fund.id != fund.id,
            )
        )
        if taken is not None:
            raise FundExists()
        await session.execute(
            update(Fund)
            .where(Fund.id == fund.id)
            .values(name=data.name)
            .execution_options(synchronize_session=False)
        )
    if data.budget_fen is not None:
        changed = await session.scalar(
            update(Fund)
            .where(Fund.id == fund.id, Fund.allocated_fen <= data.budget_fen)
            .values(budget_fen=data.budget_fen)
            .returning(Fund.id)
            .execution_options(synchronize_session=False)
        )
        if changed is None:
            raise BudgetBelowAllocated()
    return await fund_summary(session, await get_fund(session, fund.jurisdiction_id, fund.id))


async def delete_fund(session: AsyncSession, fund: Fund) -> None:
    """Only a fund nothing was allocated from (allocations are never undone, so allocated_fen = 0 says it)."""
    deleted = await session.scalar(
        delete(Fund)
        .where(Fund.id == fund.id, Fund.allocated_fen == 0)
        .returning(Fund.id)
        .execution_options(synchronize_session=False)
    )
    if deleted is None:
        raise FundInUse()


# --- allocations and spending ---------------------------------------------------------------------------


async def allocate(
    session: AsyncSession, principal: Principal, fund: Fund, data: AllocationIn
) -> AllocationOut:
    """Sets money of the fund aside for a case of the same jurisdiction: 409 when the balance would go below
    zero. The case's log records it (not publicly)."""
    case = await session.scalar(
        select(Case).where(Case.id == data.case_id, Case.jurisdiction_id == fund.jurisdiction_id)
    )
    if case is None:
        raise FieldInvalid("case_id", "未找到该事项")
    if case.status in _UNFUNDABLE:
        raise CaseNotFundable()
    taken = await session.scalar(
        update(Fund)
        .where(Fund.id == fund.id, Fund.allocated_fen + data.amount_fen <= Fund.budget_fen)
        .values(allocated_fen=Fund.allocated_fen + data.amount_fen)
        .returning(Fund.id)
        .execution_options(synchronize_session=False)
    )
    if taken is None:
        raise InsufficientFund()
    allocation = FundAllocation(
        jurisdiction_id=fund.jurisdiction_id,
        fund_id=fund.id,
        case_id=case.id,
        amount_fen=data.amount_fen,
        purpose=data.purpose,
        approver=data.approver,
        spent_fen=0,
        created_by_key_id=principal.key_id,
    )
    session.add(allocation)
    await session.flush()
    await session.refresh(allocation)
    await record_event(
        session,
        case,
        "fund_allocated",
        _actor(principal),
        data={
            "allocation_id": allocation.id,
            "fund_id": fund.id,
            "fund_name": fund.name,
            "amount_fen": data.amount_fen,
            "purpose": data.purpose,
            "approver": data.approver,
        },
    )
    return _allocation_out(allocation, case.tracking_no, [])


async def get_allocation(session: AsyncSession, jurisdiction_id: int, allocation_id: int) -> FundAllocation:
    allocation = await session.scalar(
        select(FundAllocation).where(
            FundAllocation.id == allocation_id, FundAllocation.jurisdiction_id == jurisdiction_id
        )
    )
    if allocation is None:
        raise AllocationNotFound()
    return allocation


async def spend(
    session: AsyncSession, principal: Principal, allocation: FundAllocation, data: SpendingIn
) -> SpendingOut:
    """Records a payment out of an allocation: 409 when it would exceed what is left of it."""
    today = datetime.now(UTC).astimezone(SHANGHAI).date()
    if data.spent_on > today:
        raise FieldInvalid("spent_on", "支出日期不能晚于今天")
    taken = await session.scalar(
        update(FundAllocation)
        .where(
            FundAllocation.id == allocation.id,
            FundAllocation.spent_fen + data.amount_fen <= FundAllocation.amount_fen,
        )
        .values(spent_fen=FundAllocation.spent_fen + data.amount_fen)
        .returning(FundAllocation.id)
        .execution_options(synchronize_session=False)
    )
    if taken is None:
        raise AllocationExceeded()
    spending = FundSpending(
        jurisdiction_id=allocation.jurisdiction_id,
        allocation_id=allocation.id,
        amount_fen=data.amount_fen,
        note=data.note,
        spent_on=data.spent_on,
        receipt_no=data.receipt_no,
        created_by_key_id=principal.key_id,
    )
    session.add(spending)
    await session.flush()
    await session.refresh(spending)
    case = (await session.execute(select(Case).where(Case.id == allocation.case_id))).scalar_one()
    await record_event(
        session,
        case,
        "fund_spent",
        _actor(principal),
        data={
            "allocation_id": allocation.id,
            "spending_id": spending.id,
            "amount_fen": data.amount_fen,
            "note": data.note,
            "spent_on": data.spent_on.isoformat(),
            "receipt_no": data.receipt_no,
        },
    )
    return SpendingOut.model_validate(spending)
