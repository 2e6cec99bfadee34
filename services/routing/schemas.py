"""Data shapes of routing: what admins and departments send (validated, with Chinese messages) and what they
get back. Plain pydantic models; the API layer uses them as request and response bodies."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from services.workflow.oversight import SupervisionView
from services.workflow.views import (
    AssignmentBrief,
    DeadlineView,
    EventView,
    FeedbackView,
    ReplyView,
    Submitter,
)
from shared.db.ids import DbId

_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def _check_code(value: str) -> str:
    if not _CODE.fullmatch(value):
        raise ValueError("编码只能包含字母、数字、点、下划线和短横线，并以字母或数字开头")
    return value


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # tabs and line breaks are fine


def _single_line(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("不能包含换行或控制字符")
    return value


def _plain_text(value: str) -> str:
    if _CONTROL_IN_TEXT.search(value):
        raise ValueError("不能包含控制字符")
    return value


def _reject_null(value: Any) -> Any:
    if value is None:
        raise ValueError("不能为空")
    return value


Id = DbId
GridCode = Annotated[str, Field(min_length=1, max_length=32), AfterValidator(_check_code)]
CommitteeCode = GridCode
CategoryCode = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_check_code)]
DepartmentCode = CategoryCode
Name = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_single_line)]
HandlingTier = Literal["immediate", "week", "month"]
RoleName = Literal["lead", "co", "separate"]
Priority = Annotated[int, Field(ge=-1_000_000, le=1_000_000)]
Reason = Annotated[str, Field(min_length=2, max_length=500), AfterValidator(_plain_text)]
NoteText = Annotated[str, Field(min_length=2, max_length=2000), AfterValidator(_plain_text)]
ReplyText = Annotated[str, Field(min_length=2, max_length=4000), AfterValidator(_plain_text)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# --- taxonomy and units ------------------------------------------------------------------------------------


class GridIn(_Input):
    code: GridCode
    name: Name


class GridPatch(_Input):
    code: GridCode | None = None
    name: Name | None = None

    _not_null = field_validator("code", "name", mode="before")(_reject_null)


class GridOut(BaseModel):
    id: int
    code: str
    name: str
    created_at: datetime


class CommitteeIn(_Input):
    code: CommitteeCode
    name: Name


class CommitteePatch(_Input):
    code: CommitteeCode | None = None
    name: Name | None = None

    _not_null = field_validator("code", "name", mode="before")(_reject_null)


class CommitteeOut(BaseModel):
    id: int
    code: str
    name: str
    created_at: datetime


class CategoryIn(_Input):
    code: CategoryCode
    name: Name
    parent_code: CategoryCode | None = Field(None, description="A top-level category; null for a top level")
    committee_code: CommitteeCode | None = None
    default_tier: HandlingTier = "week"
    active: bool = True
    follow_up: bool = Field(False, description="Its cases get a follow-up (回头看) some weeks after closing")


class CategoryPatch(_Input):
    code: CategoryCode | None = None
    name: Name | None = None
    parent_code: CategoryCode | None = Field(None, description="null makes the category top-level")
    committee_code: CommitteeCode | None = None
    default_tier: HandlingTier | None = None
    active: bool | None = None
    follow_up: bool | None = None

    _not_null = field_validator("code", "name", "default_tier", "active", "follow_up", mode="before")(
        _reject_null
    )


class CategoryOut(BaseModel):
    id: int
    code: str
    name: str
    parent_code: str | None
    committee_code: str | None
    default_tier: str
    active: bool
    follow_up: bool = Field(description="Its cases (and its subcategories') get a follow-up after closing")
    created_at: datetime


class DepartmentIn(_Input):
    code: DepartmentCode
    name: Name
    active: bool = True


class DepartmentPatch(_Input):
    code: DepartmentCode | None = None
    name: Name | None = None
    active: bool | None = None

    _not_null = field_validator("code", "name", "active", mode="before")(_reject_null)


class DepartmentOut(BaseModel):
    id: int
    code: str
    name: str
    active: bool
    created_at: datetime


class FallbackIn(_Input):
    department_id: Id | None = Field(description="null: no fallback; unmatched cases wait for a dispatcher")


class FallbackOut(BaseModel):
    department_id: int | None
    department: DepartmentOut | None


# --- routing rules -----------------------------------------------------------------------------------------


class RuleAssignmentIn(_Input):
    department_id: Id
    role: RoleName


def _check_rule_assignments(items: list[RuleAssignmentIn]) -> list[RuleAssignmentIn]:
    roles = [item.role for item in items]
    if roles.count("lead") > 1:
        raise ValueError("一条规则最多只能有一个主办单位")
    if "lead" not in roles and "separate" not in roles:
        raise ValueError("规则至少需要一个主办或分办单位")
    department_ids = [item.department_id for item in items]
    if len(set(department_ids)) != len(department_ids):
        raise ValueError("同一承办单位不能在一条规则中出现两次")
    return items


RuleAssignments = Annotated[
    list[RuleAssignmentIn], Field(min_length=1, max_length=50), AfterValidator(_check_rule_assignments)
]


class RuleIn(_Input):
    category_code: CategoryCode
    grid_code: GridCode | None = Field(None, description="null matches every grid")
    assignments: RuleAssignments
    tier: HandlingTier | None = Field(None, description="null: the category's default tier")
    priority: Priority = Field(0, description="Breaks ties between equally specific rules; higher wins")
    active: bool = True


class RulePatch(_Input):
    category_code: CategoryCode | None = None
    grid_code: GridCode | None = None
    assignments: RuleAssignments | None = None
    tier: HandlingTier | None = None
    priority: Priority | None = None
    active: bool | None = None

    _not_null = field_validator("category_code", "assignments", "priority", "active", mode="before")(
        _reject_null
    )


class RuleAssignmentOut(BaseModel):
    department_id: int
    role: str


class RuleOut(BaseModel):
    id: int
    category_code: str
    grid_code: str | None
    assignments: list[RuleAssignmentOut]
    tier: str | None
    priority: int
    active: bool
    created_at: datetime


# --- the department's work ---------------------------------------------------------------------------------


class DeclineIn(_Input):
    reason: Reason
    suggested_department_id: Id | None = Field(None, description="The unit the decliner thinks is right")


class ProgressIn(_Input):
    text: NoteText
    public: bool = Field(True, description="false keeps the update off the citizen's page")


class CoOpinionIn(_Input):
    text: NoteText


class ReplyIn(_Input):
    reply_class: Literal["A", "B", "C", "D"] = Field(
        description="A solved; B being solved or planned; C must wait; D kept for reference"
    )
    text: ReplyText


def _storable_moment(value: datetime) -> datetime:
    # Far-off years overflow the database's range once turned into UTC; no deadline is meant that far.
    if not 2000 <= value.year <= 2200:
        raise ValueError("时间须在 2000 至 2200 年之间")
    return value


class ExtensionRequestIn(_Input):
    until: Annotated[AwareDatetime, AfterValidator(_storable_moment)] = Field(
        description="The reply deadline asked for: later than the current one, with a time zone (ISO 8601)"
    )
    reason: Reason


class ExtensionRequestView(BaseModel):
    """A department's extension request (延期申请) as the department sees it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    case_id: int
    assignment_id: int
    department_id: int
    round: int = Field(description="The rework round whose reply deadline the request is about")
    current_due_at: datetime = Field(description="The reply deadline when the request was made")
    requested_until: datetime
    reason: str
    status: str = Field(description="pending until supervision approves or refuses")
    created_at: datetime
    decided_at: datetime | None
    decision_note: str | None
    approved_until: datetime | None


@dataclass(frozen=True)
class AssignmentFilters:
    """What a department may narrow its assignment list by (GET /v1/assignments)."""

    status: str | None = None
    role: str | None = None
    # Reply deadlines still open (the assignment owes a reply and has not given it).
    due_before: datetime | None = None
    overdue: bool | None = None
    # A top-level code includes its subcategories.
    category_code: str | None = None
    grid_code: str | None = None
    updated_since: datetime | None = None


class AssignmentCaseBrief(BaseModel):
    """The case as an assignment list shows it. A department that declined or was withdrawn keeps only what
    names the case: its content (title, description, location) is null."""

    tracking_no: str
    status: str
    category_code: str | None
    category_source: str | None = Field(
        description="Who chose the category: citizen, system (the classifier) or dispatcher"
    )
    classification_score: float | None = Field(
        description="The classifier's confidence (0..1) when the system chose the category"
    )
    request_type: str
    urgency: str
    title: str | None
    description: str | None
    location_text: str | None
    grid_code: str | None
    created_at: datetime


class _AssignmentFields(BaseModel):
    id: int
    case_id: int
    department_id: int
    role: str
    status: str
    accept_due_at: datetime | None = Field(description="Null until supervision has recorded the deadline")
    reply_due_at: datetime | None = Field(description="Null until supervision has recorded the deadline")
    co_opinion_due_at: datetime | None = Field(description="A co-handler's opinion deadline, when recorded")
    dispatched_at: datetime
    accepted_at: datetime | None
    replied_at: datetime | None
    declined_at: datetime | None
    decline_reason: str | None
    suggested_department_id: int | None
    withdrawn_at: datetime | None = Field(description="When a dispatcher took the assignment away")
    updated_at: datetime
    supervision: SupervisionView | None = Field(
        default=None,
        description="Congress supervision of the case (催办/督办/重点督办, the lead supervisor, since when); "
        "null when the case is not watched or the department no longer handles it",
    )


class AssignmentView(_AssignmentFields):
    """An assignment as its department sees it in lists and in the answer to each action."""

    case: AssignmentCaseBrief


class SyncPage(BaseModel):
    items: list[AssignmentView]
    next_cursor: str = Field(description="Always present: store it and send it as `cursor` next time")
    has_more: bool = Field(description="true: call again at once with `next_cursor`")


class CoOpinionView(BaseModel):
    department_id: int | None
    department_name: str | None
    text: str
    at: datetime


class DepartmentCaseView(BaseModel):
    """The case as one of its departments may read it (services.routing.views decides what each one gets).
    Its own list of fields, not the staff view's: what staff may read does not reach departments unasked."""

    id: int
    tracking_no: str
    status: str
    kind: str
    category_code: str | None
    category_source: str | None
    classification_score: float | None
    request_type: str
    urgency: str
    title: str | None
    description: str | None = Field(description="Null for a department that declined or was withdrawn")
    location_text: str | None
    lat: float | None
    long: float | None
    station_id: int | None
    deputy_id: int | None
    grid_code: str | None
    tier: str | None
    confidential: bool
    submitter: Submitter | None = Field(
        description="Masked; null for confidential cases, when nothing was given, or once the department left"
    )
    rework_round: int
    close_reason: str | None
    duplicate_of_id: int | None = Field(description="The main case this one was merged into (并案)")
    merged_at: datetime | None
    reporters: int = Field(description="N 位群众反映: 1 + the cases merged into this one")
    created_at: datetime
    dispatched_at: datetime | None
    replied_at: datetime | None
    closed_at: datetime | None
    assignments: list[AssignmentBrief] = Field(
        description="The units still on the case, and the caller's own assignment"
    )
    deadlines: list[DeadlineView]
    replies: list[ReplyView]
    feedback: list[FeedbackView]
    events: list[EventView] = Field(
        description="Public events, and the caller's own internal ones (co-opinions reach the lead too)"
    )


class AssignmentDetail(_AssignmentFields):
    case: DepartmentCaseView
    co_opinions: list[CoOpinionView] = Field(
        description="Co-handlers' opinions: all of them for the lead, a co-handler's own for a co-handler"
    )


# --- why a rule applies ------------------------------------------------------------------------------------

Verdict = Literal[
    "won",
    "less_specific",
    "lower_priority",
    "newer",
    "inactive_departments",
    "no_answering_unit",
    "other_grid",
    "inactive_rule",
]


class ExplainedDepartment(BaseModel):
    department_id: int
    department_name: str | None
    role: str
    active: bool = Field(description="Inactive departments are skipped when the rule is used")


class ExplainedRule(BaseModel):
    id: int
    category_code: str
    grid_code: str | None
    tier: str | None
    priority: int
    active: bool
    assignments: list[ExplainedDepartment]


class ConsideredRule(BaseModel):
    rule: ExplainedRule
    verdict: Verdict = Field(
        description="won; lost as less_specific, lower_priority or newer (same rank, the older rule wins); "
        "unusable as inactive_departments, no_answering_unit, other_grid or inactive_rule"
    )
    reason: str = Field(description="The verdict in words (Chinese)")


class FallbackDepartment(BaseModel):
    department_id: int
    department_name: str
    active: bool


class RoutingExplanation(BaseModel):
    category_code: str
    grid_code: str | None
    outcome: Literal["rule", "fallback", "dispatcher"] = Field(
        description="rule: the winning rule's departments; fallback: the jurisdiction's fallback "
        "department; dispatcher: the case waits in the dispatch queue"
    )
    summary: str = Field(description="The outcome in words (Chinese)")
    rule: ExplainedRule | None = Field(description="The winning rule")
    assignments: list[ExplainedDepartment] = Field(description="Who would get the case, with roles")
    tier: str | None = Field(
        description="The rule's tier, else the category's default (urgency or a deputy suggestion may "
        "still change it per case); null when the case waits for a dispatcher"
    )
    fallback_department: FallbackDepartment | None
    considered: list[ConsideredRule] = Field(
        description="Every rule of the category and its parent, in rank order"
    )
