"""What hot spots hand out: the cluster, its grid and category, its cases (no personal data, no text beyond
the title) and the suggestion it became; and what one detection run did."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from pydantic import BaseModel, Field

from shared.db.enums import HotspotStatus

STATUS_LABELS: dict[str, str] = {
    HotspotStatus.open: "持续反映中",
    HotspotStatus.converted: "已形成代表建议",
    HotspotStatus.closed: "已平息",
}


class CodeName(BaseModel):
    code: str
    name: str


class HotspotCase(BaseModel):
    """A citizen's case of the cluster, as staff and deputies may see it in a list."""

    id: int
    tracking_no: str = Field(description="受理编号")
    received_at: datetime = Field(description="When the case was received")
    status: str = Field(description="The case's status code")
    status_label: str
    title: str | None = Field(description="The case's title, if the citizen gave one (never the description)")


class SuggestionLink(BaseModel):
    id: int = Field(description="The suggestion's case id")
    tracking_no: str


class HotspotOut(BaseModel):
    """Citizens' cases on one kind of matter (a top-level category) in one grid."""

    id: int
    grid: CodeName
    category: CodeName = Field(description="The top-level category the cases share")
    status: HotspotStatus = Field(
        description="open (cases keep joining), converted (made a deputy suggestion) or closed (no new case "
        "for a whole window)"
    )
    status_label: str
    case_count: int = Field(description="Cases in the cluster")
    first_case_at: datetime = Field(description="When its earliest case was received")
    last_case_at: datetime = Field(description="When its latest case was received")
    detected_at: datetime
    converted_at: datetime | None
    closed_at: datetime | None
    cases: list[HotspotCase] = Field(description="Its cases, earliest first")
    suggestion: SuggestionLink | None = Field(description="The deputy suggestion it became, once converted")


@dataclass
class Detection:
    """What one run did in one jurisdiction: hot spots opened, cases that joined open ones (by category, or
    by text), hot spots closed."""

    opened: list[int] = field(default_factory=list)
    joined: int = 0
    joined_by_text: int = 0
    closed: int = 0

    def __bool__(self) -> bool:
        return bool(self.opened or self.joined or self.joined_by_text or self.closed)
