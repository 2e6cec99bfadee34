"""What the deputy's rating of a reply to their suggestion takes in and gives back."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from services.supervision.schemas import Text
from shared.db.enums import Rating

RATING_LABELS = {
    Rating.satisfied: "满意",
    Rating.basically_satisfied: "基本满意",
    Rating.dissatisfied: "不满意",
}


class DeputyFeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rating: Rating = Field(
        description="satisfied 满意 or basically_satisfied 基本满意 close the suggestion; dissatisfied 不满意 "
        "sends it back to its departments for rework"
    )
    comment: Text | None = Field(
        default=None,
        max_length=2000,
        description="The deputy's opinion of the reply; the departments rework from it when dissatisfied",
    )


class DeputyFeedbackOut(BaseModel):
    feedback_id: int
    case_id: int
    tracking_no: str
    deputy_id: int = Field(description="The suggestion's author, whose rating this is")
    rating: str
    rating_label: str
    comment: str | None
    round: int = Field(description="The reply round rated (0: the first reply, 1: the first rework, ...)")
    recorded_by: dict[str, Any] = Field(
        description='{"type", "id"}: the deputy (id: the deputy), or a supervisor who recorded the '
        "deputy's rating on the deputy's behalf (id: the supervisor's API key)"
    )
    status: str = Field(description="The suggestion's state after the rating: closed or rework")
    rework_due_at: datetime | None = Field(
        description="When dissatisfied: the departments' new reply deadline (tier suggestion_rework)"
    )
    created_at: datetime
