"""What the Open311 endpoint answers, field for field as GeoReport v2 names them (JSON; the XML carries the
same fields). Times are ISO 8601 in Beijing time (+08:00), to the second. None of these ever holds a name, a
phone, an e-mail or an access key."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

OpenClosed = Literal["open", "closed"]


class Service(BaseModel):
    service_code: str = Field(description="Our category code, e.g. urban.sanitation")
    service_name: str = Field(description="The category's Chinese name")
    description: str
    metadata: bool = Field(description="True: services/{service_code} lists attributes")
    type: Literal["realtime", "batch", "blackbox"] = "realtime"
    keywords: str = Field(description="Comma-separated")
    group: str = Field(description="The top-level category's name")


class AttributeValue(BaseModel):
    key: str = Field(description="The code to send, e.g. complaint")
    name: str = Field(description="Its Chinese label, e.g. 投诉")


class Attribute(BaseModel):
    variable: bool = True
    code: str = Field(description="Send as attribute[code]")
    datatype: Literal["singlevaluelist"] = "singlevaluelist"
    required: bool
    datatype_description: str | None = None
    order: int
    description: str
    values: list[AttributeValue]


class ServiceDefinition(BaseModel):
    service_code: str
    attributes: list[Attribute]


class ServiceRequest(BaseModel):
    """One case as an Open311 request: its public progress only."""

    service_request_id: str = Field(description="Our tracking number (受理编号)")
    status: OpenClosed = Field(description="closed: closed, merged or rejected; open: every other status")
    status_notes: str | None = Field(
        description="The latest public text of the case: a reply, public progress, a rejection's reason, "
        "a merge note or a dispatcher's question"
    )
    service_name: str | None = Field(description="The category's name; null while unclassified")
    service_code: str | None
    agency_responsible: str | None = Field(description="The departments handling it, joined by 、")
    service_notice: str | None = Field(description="Our status in Chinese, and the handling tier once known")
    requested_datetime: datetime
    updated_datetime: datetime = Field(description="The latest public event")
    expected_datetime: datetime | None = Field(description="The earliest open reply deadline in force")
    address: str | None = Field(description="The location text (never for a confidential case)")
    lat: float | None
    long: float | None
    media_url: str | None = Field(None, description="Always null: citizens' photos are never public")


class RequestUpdate(BaseModel):
    """One public event of a case (the updates extension)."""

    update_id: str
    service_request_id: str
    status: OpenClosed = Field(description="The case's status after the event, as open or closed")
    updated_datetime: datetime
    description: str = Field(description="What the citizen's timeline says, in Chinese")
    media_url: str | None = None


class Created(BaseModel):
    service_request_id: str = Field(description="The tracking number of the new case")
    token: str = Field(description="Also answers at tokens/{token}")
    service_notice: str | None
    account_id: str | None = Field(None, description="Always null: no accounts are kept")


class TokenAnswer(BaseModel):
    token: str
    service_request_id: str


class Endpoint(BaseModel):
    specification: str
    url: str
    changeset: datetime
    type: Literal["production", "test"]
    formats: list[str]


class Discovery(BaseModel):
    changeset: datetime
    contact: str
    key_service: str
    endpoints: list[Endpoint]


class Error(BaseModel):
    code: int = Field(description="The HTTP status")
    description: str = Field(description="中文说明")


def _text(max_length: int, description: str, alias: str | None = None) -> Any:
    return Field(None, max_length=max_length, description=description, alias=alias)


class PostForm(BaseModel):
    """The form fields of POST requests (application/x-www-form-urlencoded), all text as sent; checked and
    turned into a submission by services.intake.open311.submission."""

    model_config = ConfigDict(populate_by_name=True)

    api_key: str | None = _text(200, "An integrator key bound to an intake code or a station")
    jurisdiction_id: str | None = _text(16, "Our jurisdiction code; must be the key's")
    service_code: str | None = _text(64, "Required: a service_code of services.{format}")
    lat: str | None = _text(40, "WGS-84 latitude (with long)")
    long: str | None = _text(40, "WGS-84 longitude (with lat)")
    address_string: str | None = _text(200, "The location as text (or lat and long, or address_id)")
    address_id: str | None = _text(100, "An address id of the client's own (kept as the location text)")
    description: str | None = _text(4000, "Required: what the matter is, 5 to 4000 characters")
    media_url: str | None = _text(1000, "A photo's address: kept in the description, never fetched or shown")
    request_type: str | None = _text(
        32,
        "诉求类型: enquiry, help, complaint, report or suggestion (or its Chinese name)",
        "attribute[request_type]",
    )
    urgency: str | None = _text(
        32, "紧急程度: normal, urgent or critical (or its Chinese name)", "attribute[urgency]"
    )
    email: str | None = _text(254, "Personal data: stored encrypted, never shown")
    device_id: str | None = _text(200, "Read and not kept")
    account_id: str | None = _text(200, "Read and not kept")
    first_name: str | None = _text(50, "Personal data: the given name (stored encrypted with last_name)")
    last_name: str | None = _text(50, "Personal data: the family name (stored before first_name)")
    phone: str | None = _text(32, "Personal data: a Chinese mobile or landline, stored encrypted")
