"""The staff view of a case, shared by the department API (routing) and the congress API (supervision).

Personal data appears masked, and never for confidential (保密) cases; unmasking is a separate, logged action.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.workflow.merging import reporters
from services.workflow.oversight import SupervisionView, supervision_of
from services.workflow.rapid_fund import CaseRapidFund, case_rapid_fund
from shared.db.models import Assignment, Case, CaseEvent, Category, Deadline, Feedback, Grid, Reply
from shared.security.pii import decrypt, mask_name, mask_phone


class AssignmentBrief(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    department_id: int
    role: str
    status: str


class DeadlineView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    kind: str
    assignment_id: int | None
    round: int
    tier: str | None
    due_at: datetime
    met_at: datetime | None
    assumed: bool = Field(
        description="Counted over days the official calendar did not cover yet (Mon-Fri taken as working "
        "days); recomputed when the year's schedule is loaded"
    )


class EventView(BaseModel):
    type: str
    at: datetime
    actor: dict[str, Any]
    public: bool
    from_status: str | None
    to_status: str | None
    data: dict[str, Any]


class ReplyView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    assignment_id: int
    department_id: int
    reply_class: str
    text: str
    round: int
    created_at: datetime


class FeedbackView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    source: str
    rating: str
    comment: str | None
    round: int
    created_at: datetime


class Submitter(BaseModel):
    name: str | None = Field(description="Masked, e.g. 张**")
    phone: str | None = Field(description="Masked, e.g. 138****5678")


class CaseStaffView(BaseModel):
    id: int
    tracking_no: str
    status: str
    kind: str
    category_code: str | None
    category_source: str | None = Field(
        description="Who chose the category: citizen, system (the classifier) or dispatcher"
    )
    classification_score: float | None = Field(description="The classifier's confidence when it chose")
    queue_reason: str | None = Field(description="Why the case waits in the dispatch queue, while it does")
    request_type: str
    urgency: str
    title: str | None
    description: str
    location_text: str | None
    lat: float | None
    long: float | None
    station_id: int | None
    deputy_id: int | None
    grid_code: str | None
    tier: str | None
    confidential: bool
    submitter: Submitter | None = Field(description="Null for confidential cases or when nothing was given")
    rework_round: int
    close_reason: str | None
    duplicate_of_id: int | None = Field(description="The main case this one was merged into (并案)")
    merged_at: datetime | None
    reporters: int = Field(description="N 位群众反映: 1 + the cases merged into this one")
    created_at: datetime
    dispatched_at: datetime | None
    replied_at: datetime | None
    closed_at: datetime | None
    assignments: list[AssignmentBrief]
    deadlines: list[DeadlineView]
    replies: list[ReplyView]
    feedback: list[FeedbackView]
    events: list[EventView]
    rapid_fund: CaseRapidFund = Field(description="快速处置经费: what was allocated to and spent on the case")
    supervision: SupervisionView | None = Field(
        description="The escalation level (催办/督办/重点督办) with its lead supervisor; null when not watched"
    )


def submitter_of(case: Case) -> Submitter | None:
    if case.confidential:
        return None
    name, phone = decrypt(case.submitter_name_enc), decrypt(case.submitter_phone_enc)
    if name is None and phone is None:
        return None
    return Submitter(name=mask_name(name), phone=mask_phone(phone))


_CaseRow = TypeVar("_CaseRow", Assignment, Deadline, Reply, Feedback, CaseEvent)


async def _rows_of(session: AsyncSession, model: type[_CaseRow], case: Case, *where: Any) -> list[_CaseRow]:
    query = select(model).where(model.case_id == case.id, *where).order_by(model.id)
    return list((await session.execute(query)).scalars().all())


async def staff_view(session: AsyncSession, case: Case) -> CaseStaffView:
    category_code = (
        await session.scalar(select(Category.code).where(Category.id == case.category_id))
        if case.category_id
        else None
    )
    grid_code = (
        await session.scalar(select(Grid.code).where(Grid.id == case.grid_id)) if case.grid_id else None
    )
    return CaseStaffView(
        id=case.id,
        tracking_no=case.tracking_no,
        status=case.status,
        kind=case.kind,
        category_code=category_code,
        category_source=case.category_source,
        classification_score=case.classification_score,
        queue_reason=case.queue_reason,
        request_type=case.request_type,
        urgency=case.urgency,
        title=case.title,
        description=case.description,
        location_text=case.location_text,
        lat=case.lat,
        long=case.long,
        station_id=case.station_id,
        deputy_id=case.deputy_id,
        grid_code=grid_code,
        tier=case.tier,
        confidential=case.confidential,
        submitter=submitter_of(case),
        rework_round=case.rework_round,
        close_reason=case.close_reason,
        duplicate_of_id=case.duplicate_of_id,
        merged_at=case.merged_at,
        reporters=await reporters(session, case.id),
        created_at=case.created_at,
        dispatched_at=case.dispatched_at,
        replied_at=case.replied_at,
        closed_at=case.closed_at,
        assignments=[AssignmentBrief.model_validate(a) for a in await _rows_of(session, Assignment, case)],
        deadlines=[
            DeadlineView.model_validate(d)
            for d in await _rows_of(session, Deadline, case, Deadline.superseded_at.is_(None))
        ],
        replies=[ReplyView.model_validate(r) for r in await _rows_of(session, Reply, case)],
        feedback=[FeedbackView.model_validate(f) for f in await _rows_of(session, Feedback, case)],
        supervision=await supervision_of(session, case.id, case.supervision_level, case.lead_supervisor),
        rapid_fund=await case_rapid_fund(session, case.id),
        events=[
            EventView(
                type=e.type,
                at=e.at,
                actor={"type": e.actor_type, "id": e.actor_id},
                public=e.public,
                from_status=e.from_status,
                to_status=e.to_status,
                data=e.data,
            )
            for e in await _rows_of(session, CaseEvent, case)
        ],
    )
