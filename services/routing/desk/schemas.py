"""Data shapes of the dispatcher's desk: what dispatchers and admins send and what the queue shows."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field

from services.routing.schemas import (
    CategoryCode,
    HandlingTier,
    Name,
    NoteText,
    Reason,
    RuleAssignmentIn,
    _Input,
)

QueueReasonName = Literal["no_rule", "declined", "low_confidence", "flagged", "awaiting_citizen"]
RejectReason = Literal["spam", "out_of_scope", "duplicate_elsewhere", "insufficient"]
Threshold = Annotated[float, Field(ge=0.0, le=1.0)]


def _distinct_departments(items: list[RuleAssignmentIn]) -> list[RuleAssignmentIn]:
    ids = [item.department_id for item in items]
    if len(set(ids)) != len(ids):
        raise ValueError("同一承办单位不能出现两次")
    return items


DispatchAssignments = Annotated[
    list[RuleAssignmentIn], Field(min_length=1, max_length=50), AfterValidator(_distinct_departments)
]


# --- settings ----------------------------------------------------------------------------------------------


class RoutingSettingsIn(_Input):
    classify_threshold: Threshold = Field(
        description="A classification at or above this score dispatches the case without a person"
    )
    queue_unmatched: bool = Field(
        description="true: a case no routing rule matches waits for a dispatcher instead of going to "
        "the fallback department"
    )
    require_consultation: bool | None = Field(
        None,
        description="true: the lead (or separate) department of a deputy suggestion must record a "
        "consultation with the deputy (面商/电话/书面, POST /v1/assignments/{id}/consultations) before its "
        "reply is accepted; omitted: unchanged (default false)",
    )


class RoutingSettingsOut(BaseModel):
    classify_threshold: float
    queue_unmatched: bool
    require_consultation: bool = Field(
        description="A deputy suggestion is answered only after a recorded consultation with the deputy"
    )


# --- actions -----------------------------------------------------------------------------------------------


class DispatchIn(_Input):
    category_code: CategoryCode | None = Field(
        None,
        description="The case's category; required when the case has none (a correction teaches the "
        "classifier)",
    )
    tier: HandlingTier | None = Field(None, description="null: the routing rule's or the category's tier")
    assignments: DispatchAssignments = Field(
        description="Exactly one lead (with any co-handlers) or separate units; for a flagged case being "
        "handled, the units to add"
    )
    note: NoteText | None = Field(None, description="For the record (staff only)")


class RejectIn(_Input):
    reason: RejectReason = Field(
        description="spam 无效信息; out_of_scope 不属于受理范围; duplicate_elsewhere 已通过其他渠道办理; "
        "insufficient 内容无法核实"
    )
    message: Reason = Field(description="Shown to the citizen on the tracking page")
    refer_to: Name | None = Field(
        None, description="Where the citizen should go instead (out of scope), shown on the tracking page"
    )


class ReturnIn(_Input):
    message: Reason = Field(
        description="What the citizen should add, shown on their tracking page (e.g. 请补充具体位置和发生时间)"
    )


class FlagIn(_Input):
    reason: Reason = Field(description="What the dispatcher should look at (another unit, wrong category)")


class UnflagIn(_Input):
    note: NoteText | None = None


# --- the queue ---------------------------------------------------------------------------------------------


class DeclineNote(BaseModel):
    department_id: int
    department_name: str
    reason: str | None
    suggested_department_id: int | None
    suggested_department_name: str | None
    at: datetime | None


class FlagNote(BaseModel):
    department_id: int | None
    department_name: str | None
    reason: str
    at: datetime


class ReturnNote(BaseModel):
    message: str = Field(description="What the dispatcher asked the citizen to add")
    at: datetime


class CandidateOut(BaseModel):
    category_code: str
    name: str
    score: float
    matched: list[str]


class QueueItem(BaseModel):
    case_id: int
    tracking_no: str
    status: str
    kind: str
    reason: str = Field(description="no_rule, declined, low_confidence, flagged or awaiting_citizen")
    reason_label: str
    queued_at: datetime
    created_at: datetime
    urgency: str
    request_type: str
    category_code: str | None
    category_source: str | None
    classification_score: float | None
    title: str | None
    description: str
    location_text: str | None
    grid_code: str | None
    station_id: int | None
    deputy_id: int | None
    declines: list[DeclineNote] = Field(description="Every decline so far, with reasons and suggestions")
    flags: list[FlagNote] = Field(description="Departments' requests for the dispatcher's attention")
    candidates: list[CandidateOut] = Field(description="The classifier's top three, best first")
    returned: ReturnNote | None = Field(
        None, description="awaiting_citizen: what the dispatcher asked the citizen to add, and when"
    )


class QueuePage(BaseModel):
    items: list[QueueItem]
    next_cursor: str | None
    counts: dict[str, int] = Field(description="Cases waiting, by reason (the whole queue, not this page)")


class DispatchOut(BaseModel):
    case_id: int
    tracking_no: str
    status: str
    category_code: str | None
    tier: str | None
    assignment_ids: list[int]


class ReturnOut(BaseModel):
    case_id: int
    tracking_no: str
    status: str
    queue_reason: str
    message: str
    returned_at: datetime
