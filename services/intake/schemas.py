"""What intake takes in and hands out: stations, deputies, intake codes, submissions and the public case view.

Validators answer in Chinese (a ValueError's text becomes the field's message) because the same models check
the JSON API and the citizen's HTML form.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from shared.db.enums import DeputyLevel, IntakeCodeOwner, Rating, RequestType, StationKind, Urgency
from shared.db.ids import DbId


def _has_invalid_chars(value: str) -> bool:
    # PostgreSQL text cannot hold NUL, and lone surrogates cannot be encoded as UTF-8.
    return "\x00" in value or any("\ud800" <= ch <= "\udfff" for ch in value)


def text(label: str, max_length: int, *, min_length: int = 0, required: bool = False) -> BeforeValidator:
    """Strips the text, turns blank into None (or a "please fill in" error) and checks its length."""

    def check(value: Any) -> Any:
        if value is None:
            if required:
                raise ValueError(f"请填写{label}")
            return None
        if not isinstance(value, str):
            return value  # the type check answers 应为文本
        value = value.strip()
        if not value:
            if required:
                raise ValueError(f"请填写{label}")
            return None
        if len(value) > max_length:
            raise ValueError(f"{label}不能超过 {max_length} 个字（现有 {len(value)} 个字）")
        if len(value) < min_length:
            raise ValueError(f"{label}至少需要 {min_length} 个字")
        if _has_invalid_chars(value):
            raise ValueError(f"{label}含有无法识别的字符")
        return value

    return BeforeValidator(check)


def _blank_to_none(value: Any) -> Any:
    """HTML forms send empty strings for untouched fields."""
    if isinstance(value, str) and not value.strip():
        return None
    return value


Blank = BeforeValidator(_blank_to_none)
Id = DbId
Latitude = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False, description="WGS-84 latitude")]
Longitude = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False, description="WGS-84 longitude")]
GridCode = Annotated[str, Field(max_length=32), text("网格编码", 32, required=True)]

_PHONE_SEPARATORS = re.compile(r"[\s\-()（）]")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0[1-9]\d{8,10}$")  # area code with its 0, then a 7- or 8-digit number
_LOCAL = re.compile(r"^[2-9]\d{6,7}$")


def normalize_phone(value: Any) -> Any:
    """A Chinese mobile or landline number as digits only; +86 / 0086, spaces and dashes are dropped."""
    if value is None or not isinstance(value, str):
        return value
    raw = value.strip()
    if not raw:
        return None
    if len(raw) > 32:
        raise ValueError("联系电话格式有误")
    digits = _PHONE_SEPARATORS.sub("", raw)
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    if not digits.isascii() or not digits.isdigit() or not 7 <= len(digits) <= 15:
        raise ValueError("联系电话格式有误，请填写手机号码或带区号的固定电话")
    if not (_MOBILE.match(digits) or _LANDLINE.match(digits) or _LOCAL.match(digits)):
        raise ValueError("联系电话格式有误，请填写手机号码或带区号的固定电话")
    return digits


def _not_null(label: str) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if value is None:
            raise ValueError(f"{label}不能为空")
        return value

    return check


# Stations -------------------------------------------------------------------------------------------------


_STATION_CODE = re.compile(r"^[A-Za-z0-9-]{2,40}$")


def _station_code(value: Any) -> Any:
    if isinstance(value, str) and not _STATION_CODE.match(value.strip()):
        raise ValueError("公开编码须为 2 至 40 位字母、数字或短横线（-），例如 GS-SHUANGTA")
    return value.strip() if isinstance(value, str) else value


StationCode = Annotated[
    str,
    Field(
        max_length=40,
        description="The public page's address /s/{code}: 2-40 letters, digits or dashes, unique; when left "
        "out the station gets <jurisdiction code>-S<id>",
    ),
    BeforeValidator(_station_code),
]


class StationIn(BaseModel):
    name: Annotated[str, Field(max_length=100), text("名称", 100, required=True)]
    code: StationCode | None = None
    kind: StationKind = Field(StationKind.station, description="home 代表之家, station 联络站, point 联络点")
    grid_codes: Annotated[list[GridCode], Field(max_length=200)] = Field(
        default_factory=list, description="Codes of the grids it serves, in order; the first is the default"
    )
    address: Annotated[str | None, Field(max_length=200), text("地址", 200)] = None
    lat: Annotated[Latitude | None, Blank] = None
    long: Annotated[Longitude | None, Blank] = None
    active: bool = True


class StationPatch(BaseModel):
    """Only the fields sent change; null clears address, lat and long."""

    name: Annotated[str | None, Field(max_length=100), text("名称", 100, required=True)] = None
    code: StationCode | None = None
    kind: StationKind | None = None
    grid_codes: Annotated[list[GridCode] | None, Field(max_length=200)] = None
    address: Annotated[str | None, Field(max_length=200), text("地址", 200)] = None
    lat: Annotated[Latitude | None, Blank] = None
    long: Annotated[Longitude | None, Blank] = None
    active: bool | None = None

    check_not_null = field_validator("code", "kind", "grid_codes", "active", mode="before")(_not_null("此项"))


class StationOut(BaseModel):
    id: int
    name: str
    code: str = Field(description="The public page's code: the page is /s/{code}")
    kind: str
    kind_label: str
    grid_codes: list[str]
    address: str | None
    lat: float | None
    long: float | None
    active: bool
    created_at: datetime


# Deputies -------------------------------------------------------------------------------------------------


class DeputyIn(BaseModel):
    name: Annotated[str, Field(max_length=50), text("姓名", 50, required=True)]
    level: DeputyLevel = Field(description="national, provincial, city, county or township")
    station_ids: Annotated[list[Id], Field(max_length=50)] = Field(
        default_factory=list, description="Stations the deputy sits in, in order; the first receives cases"
    )
    active: bool = True


class DeputyPatch(BaseModel):
    name: Annotated[str | None, Field(max_length=50), text("姓名", 50, required=True)] = None
    level: DeputyLevel | None = None
    station_ids: Annotated[list[Id] | None, Field(max_length=50)] = None
    active: bool | None = None

    check_not_null = field_validator("level", "station_ids", "active", mode="before")(_not_null("此项"))


class DeputyOut(BaseModel):
    id: int
    name: str
    level: str
    level_label: str
    station_ids: list[int]
    active: bool
    created_at: datetime


# Intake codes ---------------------------------------------------------------------------------------------


class IntakeCodeIn(BaseModel):
    owner_type: IntakeCodeOwner = Field(description="deputy or station")
    owner_id: Id


class IntakeCodeOut(BaseModel):
    id: int
    token: str
    url: str = Field(description="What the QR code encodes: the intake form's address")
    status: str = Field(description="active or revoked")
    owner_type: str
    owner_id: int
    owner_name: str
    scan_count: int = Field(
        description="Times the intake form was opened through this code (written in batches, about every second)"
    )
    last_scanned_at: datetime | None = Field(description="The latest scan, kept with scan_count")
    submission_count: int = Field(description="Cases submitted through this code")
    created_at: datetime
    revoked_at: datetime | None
    rotated_at: datetime | None = Field(description="When the token last changed; older tokens answer 410")


# Citizen submission ---------------------------------------------------------------------------------------


_DEFAULTED = frozenset({"request_type", "urgency", "confidential", "photo_ids"})


class SubmissionIn(BaseModel):
    """A citizen's case. Only the description is required."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "category_code": "urban.sanitation",
                    "request_type": "complaint",
                    "description": "平江路垃圾桶满溢三天无人清运，气味很大",
                    "location_text": "平江路与白塔东路路口",
                    "submitter_phone": "13812345678",
                }
            ]
        }
    )

    category_code: Annotated[
        str | None,
        Field(max_length=64, description="Leave out when unsure; the dispatcher classifies it"),
        text("问题分类", 64),
    ] = None
    request_type: RequestType = RequestType.suggestion
    urgency: Urgency = Urgency.normal
    title: Annotated[str | None, Field(max_length=100), text("标题", 100)] = None
    description: Annotated[
        str, Field(min_length=5, max_length=4000), text("问题描述", 4000, min_length=5, required=True)
    ]
    location_text: Annotated[str | None, Field(max_length=200), text("问题地点", 200)] = None
    lat: Annotated[Latitude | None, Blank] = None
    long: Annotated[Longitude | None, Blank] = None
    grid_code: Annotated[
        str | None,
        Field(max_length=32, description="One of the station's grids; defaults to the station's first grid"),
        text("网格", 32),
    ] = None
    submitter_name: Annotated[str | None, Field(max_length=50), text("姓名", 50)] = None
    submitter_phone: Annotated[
        str | None,
        Field(max_length=32, description="Chinese mobile or landline; +86, spaces and dashes are accepted"),
        BeforeValidator(normalize_phone),
    ] = None
    confidential: bool = Field(False, description="保密: no department sees the name and phone")
    photo_ids: Annotated[
        list[Annotated[str, Field(max_length=80)]],
        Field(
            max_length=20,
            description="Photos to attach: the `photo_id`s of uploads through the same code "
            "(POST …/photos), each unused and less than an hour old; at most 4",
        ),
    ] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _defaults_for_blanks(cls, data: Any) -> Any:
        """null or an empty form value for a field with a default means the default (an unticked box: False)."""
        if isinstance(data, dict):
            return {
                key: value
                for key, value in data.items()
                if not (
                    key in _DEFAULTED and (value is None or (isinstance(value, str) and not value.strip()))
                )
            }
        return data


class SubmissionOut(BaseModel):
    tracking_no: str = Field(description="受理编号, e.g. GS20261122-0042")
    access_key: str | None = Field(
        description="The key to the case's public page, shown once; null when the submission was a repeat"
    )
    status: str
    track_url: str | None = Field(description="The case's public progress page; null on a repeat")
    replayed: bool = Field(
        False, description="True when the Idempotency-Key matched an earlier submission (HTTP 200)"
    )


class UploadedPhotoOut(BaseModel):
    photo_id: str = Field(description="To list in the submission's photo_ids; valid only on the same code")
    expires_at: datetime = Field(description="Attach it before this time")


# Public tracking ------------------------------------------------------------------------------------------


class PublicDepartment(BaseModel):
    """A department handling the case and what it committed to (承诺)."""

    name: str
    role: str
    role_label: str
    due_at: datetime | None = Field(
        None,
        description="Its reply deadline in force for the current round (an approved extension moves it); "
        "null for a co-handler (协办), which answers the lead department rather than the citizen",
    )
    due_date: date | None = Field(None, description="due_at's date in Beijing time (Asia/Shanghai)")
    replied_at: datetime | None = Field(
        None, description="When it met that deadline (its first reply of the round); null while it runs"
    )


class TimelineEntry(BaseModel):
    type: str
    label: str
    at: datetime
    text: str | None = Field(
        None, description="Public progress text, reply text, rejection reason or a dispatcher's question"
    )
    reply_class: str | None = None
    department: str | None = None


class PublicReply(BaseModel):
    text: str
    reply_class: str
    reply_class_label: str
    department: str
    round: int
    at: datetime


class PublicFeedback(BaseModel):
    rating: str
    rating_label: str
    round: int
    at: datetime


# The commitment (承诺) of the "four public": unlike ``deadline`` it stays once the reply came.
_DUE_AT = (
    "The commitment: the earliest reply deadline in force of the departments answering the citizen (lead "
    "and separate) for the current round, met or not; null before dispatch"
)
_DUE_DATE = "due_at's date in Beijing time (Asia/Shanghai), as the progress page shows it"


class PublicMainCase(BaseModel):
    """The case a merged case is handled with (并案): its public progress only, nothing of its citizen."""

    tracking_no: str
    status: str
    status_label: str
    category: str | None
    tier_label: str | None
    reporters: int = Field(description="How many citizens raised the matter: N 位群众反映")
    departments: list[PublicDepartment]
    deadline: datetime | None
    due_at: datetime | None = Field(description=_DUE_AT)
    due_date: date | None = Field(description=_DUE_DATE)
    timeline: list[TimelineEntry]
    replies: list[PublicReply]


class PublicAdoption(BaseModel):
    """A deputy suggestion (代表建议) that carries the citizen's case: the deputy adopted it (kind adopted), or
    it was one of a hot spot's cases (kind hotspot); said so, and the suggestion's replies once answered."""

    kind: Literal["adopted", "hotspot"] = Field(
        "adopted",
        description="adopted: a deputy turned this case into a suggestion; hotspot: the case went into a "
        "suggestion together with neighbours' on the same matter (热点)",
    )
    note: str = Field(
        description="e.g. 王明代表已将您反映的问题转为代表建议, or 您反映的问题与另外 4 位群众反映的问题一并形成代表建议"
    )
    deputy_name: str = Field(description="The suggestion's author (deputies' names are public)")
    neighbours: int | None = Field(
        None, description="kind hotspot: how many other citizens' cases the suggestion carries"
    )
    at: datetime = Field(description="When the case was linked to the suggestion")
    suggestion_tracking_no: str
    suggestion_status: str
    suggestion_status_label: str
    replies: list[PublicReply] = Field(description="The departments' replies to the suggestion")


class PublicCaseView(BaseModel):
    """What the citizen sees: no name, phone, description or internal notes of anybody."""

    tracking_no: str
    status: str
    status_label: str
    request_type: str
    request_type_label: str
    category: str | None = Field(description="Category name, once known")
    tier_label: str | None = Field(description="The handling commitment once dispatched, e.g. 即收周办")
    created_at: datetime
    departments: list[PublicDepartment] = Field(
        description="Departments handling it (declined ones left out), each with its reply deadline"
    )
    deadline: datetime | None = Field(description="The earliest open reply deadline")
    due_at: datetime | None = Field(description=_DUE_AT)
    due_date: date | None = Field(description=_DUE_DATE)
    timeline: list[TimelineEntry]
    replies: list[PublicReply]
    can_rate: bool = Field(
        description="Replied and not yet rated by the citizen; for a merged case, the main case's reply"
    )
    feedback: list[PublicFeedback] = Field(description="The citizen's ratings so far")
    can_supplement: bool = Field(
        False,
        description="A dispatcher returned the case for more detail and awaits the citizen's answer "
        "(POST …/supplement)",
    )
    supplement_request: str | None = Field(
        None, description="While can_supplement: what the dispatcher asked the citizen to add"
    )
    reporters: int = Field(
        description="How many citizens raised the matter (N 位群众反映): 1 + the cases merged into it"
    )
    merged_note: str | None = Field(
        None,
        description="Set when merged: which case it is handled with, e.g. 您反映的问题已与编号 … 的事项合并办理",
    )
    merged_into: PublicMainCase | None = Field(
        None, description="Set when merged: the main case's public progress and replies"
    )
    adoption: PublicAdoption | None = Field(
        None, description="Set when a deputy turned the case into a suggestion: the deputy and its replies"
    )
    hotspot_suggestion: PublicAdoption | None = Field(
        None,
        description="Set when the case was one of a hot spot's that became a deputy suggestion: how many "
        "neighbours' cases it carries, and its replies",
    )


class FeedbackIn(BaseModel):
    rating: Rating = Field(description="satisfied, basically_satisfied or dissatisfied")
    comment: Annotated[str | None, Field(max_length=500), text("评价意见", 500)] = None


class SupplementIn(BaseModel):
    text: Annotated[
        str,
        Field(min_length=5, max_length=2000, description="The citizen's answer to the dispatcher's question"),
        text("补充说明", 2000, min_length=5, required=True),
    ]


class SupplementOut(BaseModel):
    tracking_no: str
    status: str = Field(description="Still received: the case is routed again with the added detail")
    status_label: str


class FeedbackOut(BaseModel):
    tracking_no: str
    status: str = Field(description="closed after a satisfied rating, rework after dissatisfied")
    status_label: str
