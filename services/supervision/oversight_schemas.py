"""What the escalation ladder and the alarm policy take in and hand out: a supervision change, its history,
the watched cases, and the jurisdiction's supervision settings."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from services.supervision.schemas import Text
from shared.db.enums import SupervisionLevel


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- the ladder --------------------------------------------------------------------------------------------


class SupervisionIn(_Input):
    level: SupervisionLevel = Field(description="reminder 催办, formal 督办 or key 重点督办")
    lead_supervisor: Text | None = Field(
        default=None,
        max_length=50,
        description="The congress leader who owns it (领衔督办); required for key",
    )
    note: Text | None = Field(default=None, max_length=2000, description="Why, for the case's history")


class SupervisionChangeOut(BaseModel):
    id: int
    case_id: int
    level: str
    previous_level: str | None
    lead_supervisor: str | None
    note: str | None
    source: str = Field(description="auto: an overdue deadline escalated it; manual: a supervisor")
    actor: dict[str, Any] = Field(
        description='{"type", "id"}: system for auto, else the API key\'s role and id'
    )
    created_at: dt.datetime


class SupervisionHistory(BaseModel):
    items: list[SupervisionChangeOut] = Field(description="Oldest first")


class SupervisedDepartment(BaseModel):
    assignment_id: int
    department_id: int
    name: str
    role: str
    status: str


class OpenDeadline(BaseModel):
    id: int
    kind: str = Field(description="accept, decline, reply, co_opinion or rating")
    assignment_id: int | None
    round: int
    due_at: dt.datetime
    overdue: bool = Field(description="The due time has passed")


class SupervisedCase(BaseModel):
    id: int
    tracking_no: str
    status: str
    category_code: str | None
    level: str
    lead_supervisor: str | None
    since: dt.datetime | None = Field(description="When the case reached this level")
    departments: list[SupervisedDepartment] = Field(description="The units still handling the case")
    deadlines: list[OpenDeadline] = Field(description="The case's open deadlines, soonest first")


# --- the alarm policy --------------------------------------------------------------------------------------


class SupervisionSettingsIn(_Input):
    """Each field left out keeps its current value."""

    due_soon_fraction: float | None = Field(
        default=None,
        gt=0,
        lt=2,
        description="case.due_soon when this share of the allowed time has passed (0.75)",
    )
    overdue_fraction: float | None = Field(
        default=None,
        gt=0,
        le=2,
        description="case.overdue when this share of the allowed time has passed (1.0)",
    )
    extension_max_days: int | None = Field(
        default=None, ge=1, le=366, description="How far an approved extension may move a reply deadline (30)"
    )
    follow_up_days: int | None = Field(
        default=None, ge=1, le=366, description="Days after closing that a follow-up (回头看) is due (30)"
    )


class SupervisionSettingsOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    due_soon_fraction: float
    overdue_fraction: float
    extension_max_days: int
    follow_up_days: int
