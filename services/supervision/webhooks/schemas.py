"""What the webhook routes take in and hand out: endpoints, secrets, replays, the event catalogue."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from services.supervision.schemas import EARLIEST_YEAR, LATEST_YEAR, Text, _Input
from shared.db.enums import EVENT_TYPES

# Rotations keep the previous secret signing for at most a week.
MAX_GRACE_HOURS = 168


def _check_event_types(values: list[str]) -> list[str]:
    unknown = [value for value in values if value not in EVENT_TYPES]
    if unknown:
        raise ValueError(f"未知的事件类型：{'、'.join(unknown)}")
    return list(dict.fromkeys(values))


class WebhookCreate(_Input):
    url: Text = Field(min_length=1, max_length=2000)
    event_types: list[Text] = Field(
        default_factory=list,
        max_length=len(EVENT_TYPES),
        description="Empty: every event type (a department's endpoint: every case.* type)",
    )
    description: Text | None = Field(default=None, max_length=1000)
    enabled: bool = True
    ordered: bool = Field(default=False, description="Deliver a case's events one at a time, in order")

    @field_validator("event_types")
    @classmethod
    def _event_types(cls, values: list[str]) -> list[str]:
        return _check_event_types(values)


class WebhookUpdate(_Input):
    url: Text | None = Field(default=None, min_length=1, max_length=2000)
    event_types: list[Text] | None = Field(default=None, max_length=len(EVENT_TYPES))
    description: Text | None = Field(default=None, max_length=1000)
    enabled: bool | None = None
    ordered: bool | None = None

    @field_validator("url", "event_types", "enabled", "ordered")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("不能为空")
        return value

    @field_validator("event_types")
    @classmethod
    def _event_types(cls, values: list[str]) -> list[str]:
        return _check_event_types(values)


class WebhookOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    url: str
    event_types: list[str]
    enabled: bool
    ordered: bool
    description: str | None
    department_id: int | None = Field(
        description="A department's endpoint: only events of cases assigned to that department"
    )
    disabled_reason: str | None
    disabled_at: dt.datetime | None = Field(
        description="When it was disabled (by its owner, the relay or a revocation)"
    )
    failing_since: dt.datetime | None
    previous_secret_expires_at: dt.datetime | None = Field(
        description="After a rotation: until when the previous secret still signs (a second signature)"
    )
    created_at: dt.datetime


class WebhookCreated(WebhookOut):
    secret: str = Field(description="whsec_..., shown only here and when rotated")


class RotateSecretIn(_Input):
    grace_hours: float | None = Field(
        default=None,
        ge=0,
        le=MAX_GRACE_HOURS,
        description="How long the previous secret keeps signing too (default MINYI_WEBHOOK_SECRET_GRACE_HOURS)",
    )


class WebhookSecret(BaseModel):
    id: int
    secret: str = Field(description="The new whsec_ secret, shown only in this answer")
    previous_secret_expires_at: dt.datetime | None = Field(
        description="Until then every delivery carries a second signature made with the previous secret"
    )


def _in_range(value: dt.datetime) -> dt.datetime:
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValueError(f"时间须在 {EARLIEST_YEAR} 至 {LATEST_YEAR} 年之间")
    return value


Moment = Annotated[AwareDatetime, AfterValidator(_in_range)]


class RecoverIn(_Input):
    since: Moment = Field(description="Events that happened at or after this time")
    until: Moment | None = Field(default=None, description="... and before this time (default: now)")


class RecoverOut(BaseModel):
    requeued: int = Field(description="Deliveries queued again (new ones, or finished ones sent once more)")
    already_pending: int = Field(description="Events of the window whose delivery was still pending")
    has_more: bool = Field(description="The window held more events than one call takes; call again")
    next_since: dt.datetime | None = Field(description="With has_more: the `since` of the next call")


class EventTypeOut(BaseModel):
    type: str
    description: str = Field(description="What happened (Chinese)")
    data_schema: dict[str, Any] = Field(
        serialization_alias="schema", description="JSON Schema of the event's `data`"
    )


class EventCatalogueOut(BaseModel):
    envelope: dict[str, Any] = Field(description="JSON Schema of every webhook body: {type, timestamp, data}")
    items: list[EventTypeOut]
