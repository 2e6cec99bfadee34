"""The event catalogue: every event type an endpoint may hear, what it means (in Chinese) and the JSON Schema
of its ``data``, built from the pydantic models below.

Every webhook body is the envelope ``{"type", "timestamp", "data"}``. A case event's ``data`` is the case's
common payload (services.workflow.service.case_payload: ids and codes, never personal data or text) plus the
ids its type adds; the same type raised from several places adds the union of their ids, optional where one
place leaves an id out. More fields may come in later versions: receivers should ignore what they do not
know (the schemas allow additional properties).
"""

from __future__ import annotations

import builtins
import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field, create_model

from shared.db.enums import (
    EVENT_TYPES,
    CaseStatus,
    FeedbackSource,
    Rating,
    ReplyClass,
    SupervisionLevel,
)

# --- the case payload and what each case event adds ---------------------------------------------------------


class CaseData(BaseModel):
    """The payload every case event carries."""

    case_id: int
    tracking_no: str = Field(description="受理编号")
    jurisdiction: str = Field(description="辖区代码")
    status: CaseStatus = Field(description="事项状态（事件发生后）")
    category_code: str | None = Field(description="分类代码")
    department_ids: list[int] = Field(
        description="仍在办理该事项的承办单位；发给承办单位的回调只含该单位自己（如仍在办理）"
    )


class DispatchedData(CaseData):
    assignment_ids: list[int] = Field(description="本次新增的交办")
    tier: str | None = Field(default=None, description="办理时限档次")
    rule_id: int | None = Field(default=None, description="按规则交办时的规则；人工交办为 null")
    manual: bool | None = Field(default=None, description="人工交办")
    withdrawn_assignment_ids: list[int] | None = Field(default=None, description="协调会决定撤回的交办")
    decided_by_meeting: bool | None = Field(default=None, description="疑难事项协调会决定的交办")
    difficult_case_id: int | None = None


class AssignmentData(CaseData):
    assignment_id: int
    department_id: int


class ProgressData(CaseData):
    assignment_id: int
    public: bool = Field(description="进展是否向群众公开")


class RepliedData(CaseData):
    assignment_id: int
    reply_id: int
    reply_class: ReplyClass = Field(description="答复类别 A/B/C/D")


class FeedbackData(CaseData):
    feedback_id: int
    rating: Rating
    source: FeedbackSource = Field(description="评价人：群众或代表")
    deputy_id: int | None = Field(default=None, description="代表评价时")
    recorded_by: str | None = Field(default=None, description="代表评价时：录入者的角色")


class ReworkData(CaseData):
    reason: str | None = Field(default=None, description="follow_up：回头看未解决；无：评价不满意")
    follow_up_id: int | None = None


class ClosedData(CaseData):
    reason: str = Field(description="rated：评价后办结；unrated：评价期满未评价")


class DeadlineAlarmData(CaseData):
    deadline_id: int
    kind: str = Field(description="时限种类：accept、decline、reply、co_opinion、rating 等")
    assignment_id: int | None
    round: int = Field(description="办理轮次（重新办理后加一）")
    due_at: dt.datetime


class SupervisionChangedData(CaseData):
    supervision_change_id: int
    level: SupervisionLevel
    previous_level: SupervisionLevel | None
    lead_supervisor: str | None = Field(description="牵头督办人（职务或姓名，由督办人员填写）")
    source: str = Field(description="变更来源：人工或自动升级")


class MergedData(CaseData):
    into_case_id: int


class UnmergedData(CaseData):
    main_case_id: int


class RejectedData(CaseData):
    reason_code: str = Field(description="不予受理的原因代码")


class ExtensionRequestedData(CaseData):
    extension_request_id: int
    assignment_id: int
    requested_until: dt.datetime


class ExtensionDecidedData(CaseData):
    extension_request_id: int
    assignment_id: int
    approved: bool
    until: dt.datetime | None = Field(description="批准的新时限；驳回为 null")


class DeadlineChangedData(CaseData):
    deadline_id: int
    assignment_id: int | None
    kind: str
    old_due_at: dt.datetime
    new_due_at: dt.datetime
    assumed: bool = Field(description="新时限是否仍按推定的工作日计算")


class FollowUpData(CaseData):
    follow_up_id: int
    still_solved: bool


class AdoptedData(CaseData):
    suggestion_id: int = Field(description="采纳该事项的代表建议（也是一个事项）")
    deputy_id: int


class SuggestionSubmittedData(CaseData):
    deputy_id: int
    cosigner_ids: list[int] = Field(description="联名代表")
    adopted_case_id: int | None = Field(description="所采纳的群众事项")


# --- events about no case -----------------------------------------------------------------------------------


class ReceptionData(BaseModel):
    reception_id: int
    station_id: int
    jurisdiction: str
    held_on: dt.date
    deputy_ids: list[int]
    citizens_received: int
    answered_on_spot: int
    case_ids: list[int]


class HotspotData(BaseModel):
    hotspot_id: int
    jurisdiction: str
    grid_code: str
    category_code: str
    case_count: int
    case_ids: list[int]
    first_case_at: dt.datetime


class EndpointDisabledData(BaseModel):
    endpoint_id: int
    url: str = Field(description="回调地址（不含查询参数）")
    reason: str = Field(description="停用原因")
    disabled_at: dt.datetime


@dataclass(frozen=True)
class EventType:
    type: str
    description: str
    data: builtins.type[BaseModel]


_TYPES = (
    EventType("case.received", "收到新的事项（群众提交或代表建议）", CaseData),
    EventType(
        "case.dispatched", "事项已交办给承办单位（含追加交办、重新交办、协调会决定的交办）", DispatchedData
    ),
    EventType("case.accepted", "承办单位签收了交办", AssignmentData),
    EventType("case.declined", "承办单位申请退回了交办", AssignmentData),
    EventType("case.progress", "承办单位报送了办理进展", ProgressData),
    EventType("case.replied", "事项已答复（主办、分办单位均已答复）", RepliedData),
    EventType("case.feedback", "收到满意度评价（群众或代表）", FeedbackData),
    EventType("case.rework", "事项重新办理（评价不满意，或回头看未解决）", ReworkData),
    EventType("case.closed", "事项办结", ClosedData),
    EventType("case.due_soon", "某项时限即将到期（已用去 75%）", DeadlineAlarmData),
    EventType("case.overdue", "某项时限已超期", DeadlineAlarmData),
    EventType("case.supervision_changed", "督办级别变更（催办、督办、重点督办）", SupervisionChangedData),
    EventType("case.merged", "事项作为重复件并入另一事项", MergedData),
    EventType("case.unmerged", "撤销合并，事项恢复独立办理", UnmergedData),
    EventType("case.rejected", "事项不予受理", RejectedData),
    EventType("case.returned", "事项退回群众补充说明", CaseData),
    EventType("case.supplemented", "群众补充了说明", CaseData),
    EventType("case.extension_requested", "承办单位申请延长答复期限", ExtensionRequestedData),
    EventType("case.extension_decided", "延期申请已审批（批准或驳回）", ExtensionDecidedData),
    EventType("case.deadline_changed", "工作日历调整后，时限随之变更", DeadlineChangedData),
    EventType("case.follow_up_recorded", "办结后回头看已记录结果", FollowUpData),
    EventType("case.adopted", "群众事项被人大代表采纳为建议", AdoptedData),
    EventType(
        "suggestion.submitted", "人大代表提交了建议（同时产生 case.received）", SuggestionSubmittedData
    ),
    EventType("reception.recorded", "代表联络站记录了一次接待活动", ReceptionData),
    EventType("hotspot.detected", "发现新的热点（同一网格同类事项集中出现）", HotspotData),
    EventType(
        "webhook.disabled",
        "回调地址被自动停用（接收方返回 410，或连续失败超过规定天数）",
        EndpointDisabledData,
    ),
)

# In the order of EVENT_TYPES (tests hold the two to the same set).
CATALOGUE: dict[str, EventType] = {
    event.type: event for event in sorted(_TYPES, key=lambda e: EVENT_TYPES.index(e.type))
}


def data_schema(event_type: str) -> dict[str, Any]:
    """The JSON Schema of one type's ``data``."""
    schema: dict[str, Any] = CATALOGUE[event_type].data.model_json_schema()
    return schema


class Envelope(BaseModel):
    """Every webhook body (Standard Webhooks headers: webhook-id, webhook-timestamp, webhook-signature)."""

    type: str = Field(description="事件类型")
    timestamp: dt.datetime = Field(description="事件发生的时间（UTC）")
    data: dict[str, Any] = Field(description="随事件类型而定，见各类型的 schema")


def envelope_schema() -> dict[str, Any]:
    return Envelope.model_json_schema()


def envelope_model(event_type: str) -> type[BaseModel]:
    """The envelope of one type, ``data`` typed: a webhook request body in an OpenAPI document."""
    name = "".join(part.title() for part in event_type.replace("_", ".").split(".")) + "Event"
    model: type[BaseModel] = create_model(
        name,
        __doc__=CATALOGUE[event_type].description,
        type=(Literal[event_type], Field(description="事件类型")),  # type: ignore[arg-type]
        timestamp=(dt.datetime, Field(description="事件发生的时间（UTC）")),
        data=(CATALOGUE[event_type].data, ...),
    )
    return model
