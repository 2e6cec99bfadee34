"""What the deputy's desk takes in and hands out: suggestions, adoptions, the deputy's cases and notices."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, Field, model_validator

from services.intake.schemas import Blank, Latitude, Longitude, TimelineEntry, text
from services.workflow.views import Submitter
from shared.db.enums import CaseKind, CaseStatus, Urgency
from shared.db.ids import DbId

MAX_COSIGNERS = 50


class DeskRelation(StrEnum):
    """How a case is the deputy's: raised through their code, a suggestion they wrote, or one they co-signed."""

    through_code = "through_code"
    authored = "authored"
    cosigned = "cosigned"


RELATION_LABELS = {
    "through_code": "通过本人二维码反映",
    "authored": "本人提出的建议",
    "cosigned": "联名的建议",
}
KIND_LABELS = {"citizen": "群众反映", "deputy_suggestion": "代表建议"}
NOTICE_KIND_LABELS = {"replied": "建议已答复"}


@dataclass(frozen=True)
class DeskCaseFilters:
    status: CaseStatus | None = None
    kind: CaseKind | None = None
    relation: DeskRelation | None = None
    created_from: date | None = None  # a date in Beijing time, inclusive
    created_to: date | None = None  # inclusive
    overdue: bool | None = None


_Title = Annotated[str, Field(max_length=100), text("建议标题", 100, required=True)]
_Description = Annotated[
    str, Field(min_length=5, max_length=4000), text("建议内容", 4000, min_length=5, required=True)
]
_CategoryCode = Annotated[
    str | None,
    Field(max_length=64, description="Leave out to have routing classify the text like any case"),
    text("问题分类", 64),
]
_CosignerIds = Annotated[
    list[DbId],
    Field(
        max_length=MAX_COSIGNERS,
        description="Co-signing deputies (联名): active deputies of the same jurisdiction, not the author; "
        "each sees the suggestion on their desk and is told of its replies",
    ),
]
_DEFAULTED = frozenset({"urgency", "cosigner_ids", "photo_ids"})


def _defaults_for_nulls(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: v for k, v in data.items() if not (k in _DEFAULTED and v is None)}
    return data


class SuggestionIn(BaseModel):
    """A deputy suggestion (代表建议): dispatched like any case, with the statutory 3-month reply term."""

    title: _Title
    description: _Description
    category_code: _CategoryCode = None
    urgency: Urgency = Urgency.normal
    grid_code: Annotated[
        str | None,
        Field(
            max_length=32,
            description="A grid of the jurisdiction; defaults to the first grid of the "
            "author's first station",
        ),
        text("网格", 32),
    ] = None
    location_text: Annotated[str | None, Field(max_length=200), text("问题地点", 200)] = None
    lat: Annotated[Latitude | None, Blank] = None
    long: Annotated[Longitude | None, Blank] = None
    cosigner_ids: _CosignerIds = Field(default_factory=list)
    photo_ids: Annotated[
        list[Annotated[str, Field(max_length=80)]],
        Field(
            max_length=20,
            description="Photos to attach: the `photo_id`s of the deputy's own uploads (POST "
            "/v1/deputy/photos), each unused and less than an hour old; at most 4",
        ),
    ] = Field(default_factory=list)

    _nulls = model_validator(mode="before")(_defaults_for_nulls)


class AdoptIn(BaseModel):
    """Turning a citizen's case into the deputy's suggestion; the citizen's case keeps its own life."""

    title: _Title
    description: Annotated[
        str | None,
        Field(max_length=4000, description="Defaults to the citizen's text"),
        text("建议内容", 4000, min_length=5),
    ] = None
    category_code: _CategoryCode = None
    urgency: Urgency | None = Field(None, description="Defaults to the citizen case's urgency")
    cosigner_ids: _CosignerIds = Field(default_factory=list)

    _nulls = model_validator(mode="before")(_defaults_for_nulls)


class SuggestionOut(BaseModel):
    id: int = Field(description="The suggestion's case id: GET /v1/deputy/cases/{id}")
    tracking_no: str = Field(description="受理编号 of the suggestion")
    status: str
    status_label: str
    access_key: str | None = Field(
        description="The key to the suggestion's public progress page, shown once; null on a repeat"
    )
    track_url: str | None = Field(description="The suggestion's public progress page; null on a repeat")
    adopted_case_id: int | None = Field(None, description="The citizen's case it adopted, if it did")
    replayed: bool = Field(
        False, description="True when the Idempotency-Key matched an earlier suggestion (HTTP 200)"
    )


class HotspotSuggestionIn(BaseModel):
    """Turning a hot spot (热点) into a deputy suggestion that carries its cases ("N 位群众反映")."""

    title: _Title
    description: Annotated[
        str | None,
        Field(
            max_length=4000,
            description="Defaults to a summary of the cluster: how many citizens raised what kind of matter "
            "in which grid and when, counted by category (no names, phones or citizens' texts)",
        ),
        text("建议内容", 4000, min_length=5),
    ] = None
    category_code: Annotated[
        str | None,
        Field(
            max_length=64,
            description="Defaults to the cases' common category, else the hot spot's top-level category",
        ),
        text("问题分类", 64),
    ] = None
    urgency: Urgency = Urgency.normal
    cosigner_ids: _CosignerIds = Field(default_factory=list)
    deputy_id: DbId | None = Field(
        None,
        description="The author, for a supervisor's key (required then): a deputy of the jurisdiction. A "
        "deputy's key writes in its own deputy's name (another id is refused)",
    )

    _nulls = model_validator(mode="before")(_defaults_for_nulls)


class HotspotSuggestionOut(SuggestionOut):
    hotspot_id: int
    deputy_id: int = Field(description="The suggestion's author")
    source_case_ids: list[int] = Field(
        description="The citizens' cases it carries (suggestion_sources, kind hotspot), earliest first"
    )


class UploadedPhotoOut(BaseModel):
    photo_id: str = Field(description="To list in a suggestion's photo_ids within the hour")
    expires_at: datetime = Field(description="Attach it before this time")


# The deputy's cases -----------------------------------------------------------------------------------------


class DeputyRef(BaseModel):
    deputy_id: int
    name: str


class CaseLink(BaseModel):
    id: int
    tracking_no: str


class DeskDepartment(BaseModel):
    """A department handling the case (those that declined or were withdrawn are left out)."""

    department_id: int
    name: str
    role: str = Field(description="lead 主办, co 协办 or separate 分办")
    role_label: str
    status: str = Field(description="pending, accepted or replied")


class DeskDeadline(BaseModel):
    """A reply deadline in force (an approved extension replaced the one it moved)."""

    department: str | None = Field(description="The department it binds; null for a case-wide deadline")
    round: int = Field(description="0 for the first answer, n for the n-th rework")
    tier: str | None
    tier_label: str | None
    due_at: datetime
    met_at: datetime | None
    overdue: bool = Field(description="Not met and past due")


class DeskReply(BaseModel):
    reply_class: str
    reply_class_label: str
    text: str
    department: str
    round: int
    at: datetime


class DeskCase(BaseModel):
    id: int
    tracking_no: str
    kind: str = Field(description="citizen (群众反映) or deputy_suggestion (代表建议)")
    kind_label: str
    relation: str = Field(description="through_code, authored or cosigned: how the case is this deputy's")
    relation_label: str
    status: str
    status_label: str
    title: str | None
    summary: str = Field(description="The title, else the beginning of the text")
    category_code: str | None
    category: str | None = Field(description="The category's name, once known")
    urgency: str
    created_at: datetime
    author: DeputyRef | None = Field(description="A suggestion's author; null for a citizen's case")
    confidential: bool = Field(description="保密: the citizen asked that nobody sees their name and phone")
    submitter: Submitter | None = Field(
        description="The citizen, masked (张**, 138****5678); null for suggestions, confidential cases or when "
        "nothing was given"
    )
    departments: list[DeskDepartment]
    deadlines: list[DeskDeadline]
    replies: list[DeskReply]
    cosigners: list[DeputyRef] = Field(description="联名代表, in the order the author listed them")
    adopted_from: list[CaseLink] = Field(description="For a suggestion: the citizens' cases it adopted")
    adopted_by: CaseLink | None = Field(description="For a citizen's case: the suggestion that adopted it")


class DeskCaseDetail(DeskCase):
    description: str
    request_type: str
    location_text: str | None
    timeline: list[TimelineEntry] = Field(description="The public timeline, as the citizen's page shows it")


class DeskNotice(BaseModel):
    id: int
    kind: str = Field(description="replied: a suggestion the deputy wrote or co-signed was answered")
    kind_label: str
    round: int = Field(description="The reply round: 0 the first answer, n the answer after the n-th rework")
    case_id: int
    tracking_no: str
    title: str | None
    case_kind: str
    created_at: datetime
    read: bool
    read_at: datetime | None
