"""What the rapid-handling fund (快速处置经费) spent on one case, for the staff view of the case. Supervision
writes these rows; the view only reads them."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db.models import Fund, FundAllocation, FundSpending


class CaseFundSpending(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    amount_fen: int
    note: str
    spent_on: date
    receipt_no: str | None


class CaseFundAllocation(BaseModel):
    id: int
    fund_id: int
    fund_name: str
    fund_year: int
    amount_fen: int
    spent_fen: int
    purpose: str
    approver: str
    created_at: datetime
    spendings: list[CaseFundSpending]


class CaseRapidFund(BaseModel):
    allocated_fen: int = Field(description="Set aside for this case, in fen (分)")
    spent_fen: int = Field(description="Paid out for this case, in fen")
    allocations: list[CaseFundAllocation]


async def case_rapid_fund(session: AsyncSession, case_id: int) -> CaseRapidFund:
    rows = list(
        (
            await session.execute(
                select(FundAllocation, Fund.name, Fund.year)
                .join(Fund, Fund.id == FundAllocation.fund_id)
                .where(FundAllocation.case_id == case_id)
                .order_by(FundAllocation.id)
            )
        ).tuples()
    )
    spendings: dict[int, list[CaseFundSpending]] = defaultdict(list)
    if rows:
        for spending in await session.scalars(
            select(FundSpending)
            .where(FundSpending.allocation_id.in_([a.id for a, _, _ in rows]))
            .order_by(FundSpending.id)
        ):
            spendings[spending.allocation_id].append(CaseFundSpending.model_validate(spending))
    allocations = [
        CaseFundAllocation(
            id=a.id,
            fund_id=a.fund_id,
            fund_name=name,
            fund_year=year,
            amount_fen=a.amount_fen,
            spent_fen=a.spent_fen,
            purpose=a.purpose,
            approver=a.approver,
            created_at=a.created_at,
            spendings=spendings[a.id],
        )
        for a, name, year in rows
    ]
    return CaseRapidFund(
        allocated_fen=sum(a.amount_fen for a in allocations),
        spent_fen=sum(a.spent_fen for a in allocations),
        allocations=allocations,
    )
