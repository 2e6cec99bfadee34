"""Extension requests (延期申请) as congress staff see them: the jurisdiction's requests, by status and
department, so the pending ones can be decided. Departments make them through routing_api."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db.models import Assignment, Case, Department, ExtensionRequest


class ExtensionRequestSummary(BaseModel):
    id: int
    case_id: int
    tracking_no: str
    assignment_id: int
    role: str = Field(description="The department's role on the case: lead or separate")
    department_id: int
    department_name: str
    round: int = Field(description="The rework round whose reply deadline the request is about")
    current_due_at: datetime = Field(description="The reply deadline when the request was made")
    requested_until: datetime
    reason: str
    status: str = Field(description="pending, approved or refused")
    created_at: datetime
    decided_at: datetime | None
    decision_note: str | None
    approved_until: datetime | None


async def list_extension_requests(
    session: AsyncSession,
    jurisdiction_id: int,
    *,
    status: str | None,
    department_id: int | None,
    limit: int,
    after_id: int | None,
) -> list[ExtensionRequestSummary]:
    """Oldest first, so the request that has waited longest heads the queue; ``after_id`` continues after it.
    Returns up to ``limit + 1`` so the caller can tell whether another page follows."""
    query = (
        select(ExtensionRequest, Case.tracking_no, Assignment.role, Department.name)
        .join(Case, Case.id == ExtensionRequest.case_id)
        .join(Assignment, Assignment.id == ExtensionRequest.assignment_id)
        .join(Department, Department.id == ExtensionRequest.department_id)
        .where(ExtensionRequest.jurisdiction_id == jurisdiction_id)
    )
    if status is not None:
        query = query.where(ExtensionRequest.status == status)
    if department_id is not None:
        query = query.where(ExtensionRequest.department_id == department_id)
    if after_id is not None:
        query = query.where(ExtensionRequest.id > after_id)
    rows = await session.execute(query.order_by(ExtensionRequest.id).limit(limit + 1))
    return [
        ExtensionRequestSummary(
            id=request.id,
            case_id=request.case_id,
            tracking_no=tracking_no,
            assignment_id=request.assignment_id,
            role=role,
            department_id=request.department_id,
            department_name=department_name,
            round=request.round,
            current_due_at=request.current_due_at,
            requested_until=request.requested_until,
            reason=request.reason,
            status=request.status,
            created_at=request.created_at,
            decided_at=request.decided_at,
            decision_note=request.decision_note,
            approved_until=request.approved_until,
        )
        for request, tracking_no, role, department_name in rows.tuples()
    ]
