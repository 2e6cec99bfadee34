"""POST requests: an integrator key bound to an intake code (or a station, which submits through its own
intake code) opens a case through the same path as the citizens' JSON submission
(services.intake.submission, one statement in services.workflow.intake): the same dispatch and events, the
same per-code abuse limit, the same idempotency. The contact fields are personal data: name, phone and
e-mail are stored encrypted and never answered."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.intake import submission
from services.intake.directory import Directory
from services.intake.labels import REQUEST_TYPE_LABELS, URGENCY_LABELS
from services.intake.open311 import tokens
from services.intake.open311.errors import BadRequest, KeyRefused
from services.intake.open311.params import code_like, has_bad_chars
from services.intake.open311.schemas import Created, PostForm
from services.intake.schemas import SubmissionIn
from services.intake.tracking_numbers import TrackingNumbers
from shared import ratelimit
from shared.db.enums import IntakeCodeOwner, IntakeCodeStatus, Role
from shared.db.models import ApiKey, Case, IntakeCode, Jurisdiction
from shared.errors import Unprocessable
from shared.ratelimit import Limit, Rate
from shared.security.keys import api_key_prefix, hash_matches
from shared.settings import get_settings

# Our submission's fields under their Open311 names, for error messages.
FIELD_NAMES = {
    "category_code": "service_code",
    "request_type": "attribute[request_type]",
    "urgency": "attribute[urgency]",
    "location_text": "address_string",
    "submitter_name": "first_name/last_name",
    "submitter_phone": "phone",
}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_MEDIA_URL = re.compile(r"^https?://[^\s]+$", re.IGNORECASE)
_VALIDATION_MESSAGES = {
    "float_parsing": "应为数字",
    "float_type": "应为数字",
    "finite_number": "应为数字",
    "greater_than_equal": "超出取值范围",
    "less_than_equal": "超出取值范围",
    "string_too_long": "内容太长",
    "string_too_short": "内容太短",
    "enum": "不是允许的取值",
    "missing": "此项为必填项",
}


@dataclass(frozen=True)
class BoundCode:
    """The intake code an integrator key submits through."""

    key_id: int
    code_id: int
    token: str
    jurisdiction_id: int


async def bound_code(
    connection: AsyncConnection, api_key: str | None, jurisdiction_code: str | None
) -> BoundCode:
    """The intake code behind a key: the key's own binding, or its station's first active station code.
    Anything else is the spec's 403, said in Chinese."""
    key = (api_key or "").strip()
    prefix = api_key_prefix(key) if len(key) <= 200 and key.isascii() and key.isprintable() else None
    row = None
    if prefix is not None:
        row = (
            await connection.execute(
                select(
                    ApiKey.id,
                    ApiKey.role,
                    ApiKey.key_hash,
                    ApiKey.jurisdiction_id,
                    ApiKey.intake_code_id,
                    ApiKey.station_id,
                    Jurisdiction.code.label("jurisdiction_code"),
                )
                .join(Jurisdiction, Jurisdiction.id == ApiKey.jurisdiction_id)
                .where(ApiKey.prefix == prefix, ApiKey.revoked_at.is_(None))
            )
        ).one_or_none()
    if row is None or not hash_matches(key, row.key_hash):
        raise KeyRefused()
    if row.role != Role.integrator:
        raise KeyRefused("只有集成方（integrator）密钥可以提交诉求")
    if row.intake_code_id is None and row.station_id is None:
        raise KeyRefused("该密钥未绑定二维码或联络站，不能提交诉求；请管理员创建绑定的集成方密钥")
    wanted = code_like(jurisdiction_code, "jurisdiction_id", 16)
    if wanted is not None and wanted != row.jurisdiction_code:
        raise KeyRefused("jurisdiction_id 与密钥所属辖区不符")
    query = select(IntakeCode.id, IntakeCode.token).where(
        IntakeCode.jurisdiction_id == row.jurisdiction_id, IntakeCode.status == IntakeCodeStatus.active
    )
    if row.intake_code_id is not None:
        query = query.where(IntakeCode.id == row.intake_code_id)
    else:
        query = query.where(
            IntakeCode.owner_type == IntakeCodeOwner.station, IntakeCode.station_id == row.station_id
        ).order_by(IntakeCode.id)
    code = (await connection.execute(query.limit(1))).one_or_none()
    if code is None:
        what = "二维码已停用" if row.intake_code_id is not None else "联络站没有在用的二维码"
        raise KeyRefused(f"该密钥绑定的{what}，不能提交诉求")
    return BoundCode(key_id=row.id, code_id=code.id, token=code.token, jurisdiction_id=row.jurisdiction_id)


async def count_submission(connection: AsyncConnection, code_id: int) -> int | None:
    """Counts the request against the bound code's submission limit, the very bucket the citizens' routes
    count the code in (intake_api.abuse); the Retry-After once it is exceeded. The per-address limit is
    the anonymous routes' own: an integrator's server speaks for many citizens from one address."""
    limit = Limit(f"submit:code:{code_id}", Rate.parse(get_settings().limit_submissions_per_code))
    return await ratelimit.hit(connection, [limit])


def _choice(
    value: str | None, labels: dict[str, str], field: str, errors: list[dict[str, str]]
) -> str | None:
    """An attribute's key (complaint) or its Chinese name (投诉); None when left out."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if value in labels:
        return value
    by_name = {name: key for key, name in labels.items()}
    if value in by_name:
        return by_name[value]
    allowed = "、".join(f"{key}（{name}）" for key, name in labels.items())
    errors.append({"field": field, "message": f"应为 {allowed} 之一"})
    return None


def _number(value: str | None, field: str, errors: list[dict[str, str]]) -> float | None:
    if value is None or not value.strip():
        return None
    try:
        number = float(value.strip()) if len(value) <= 40 else math.nan
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        errors.append({"field": field, "message": "应为数字"})
        return None
    return number


def _blank(value: str | None) -> str | None:
    return value.strip() if value is not None and value.strip() else None


def to_submission(form: PostForm) -> tuple[SubmissionIn, str | None]:
    """The citizens' submission an Open311 request amounts to, and the e-mail; 400 naming every field
    that is wrong. The name is the family name first (last_name + first_name), as Chinese names are."""
    errors: list[dict[str, str]] = []
    for name, value in form.model_dump().items():
        if isinstance(value, str) and has_bad_chars(value):
            errors.append({"field": name, "message": "含有无法识别的字符"})
    if errors:
        raise BadRequest(details=errors)
    if _blank(form.service_code) is None:
        errors.append(
            {"field": "service_code", "message": "请填写问题分类代码（services 列出的 service_code）"}
        )
    errors_before = len(errors)
    lat, long = _number(form.lat, "lat", errors), _number(form.long, "long", errors)
    address, address_id = _blank(form.address_string), _blank(form.address_id)
    if len(errors) == errors_before:  # lat and long were numbers (or left out)
        if (lat is None) != (long is None):
            errors.append({"field": "lat/long", "message": "lat 与 long 须同时提供"})
        elif lat is None and address is None and address_id is None:
            errors.append(
                {"field": "lat/long", "message": "请提供位置：lat 与 long，或 address_string，或 address_id"}
            )
    description = _blank(form.description)
    if description is None:
        errors.append({"field": "description", "message": "请填写问题描述"})
    elif len(description) < 5:
        errors.append({"field": "description", "message": "问题描述至少需要 5 个字"})
    media_url = _blank(form.media_url)
    if media_url is not None and (len(media_url) > 1000 or not _MEDIA_URL.match(media_url)):
        errors.append({"field": "media_url", "message": "应为 http:// 或 https:// 开头的网址"})
    email = _blank(form.email)
    if email is not None and (len(email) > 254 or not _EMAIL.match(email)):
        errors.append({"field": "email", "message": "电子邮箱格式有误"})
    request_type = _choice(form.request_type, REQUEST_TYPE_LABELS, "attribute[request_type]", errors)
    urgency = _choice(form.urgency, URGENCY_LABELS, "attribute[urgency]", errors)
    if errors:
        raise BadRequest(details=errors)
    assert description is not None
    if media_url is not None:
        # Never fetched (no request of ours goes to an address a client names); kept for the departments.
        description = f"{description}\n图片链接：{media_url}"
    full_name = f"{_blank(form.last_name) or ''}{_blank(form.first_name) or ''}"
    fields: dict[str, Any] = {
        "category_code": _blank(form.service_code),
        "description": description,
        "location_text": address or (f"地址编号：{address_id}" if address_id else None),
        "lat": lat,
        "long": long,
        "submitter_name": full_name or None,
        "submitter_phone": _blank(form.phone),
    }
    if request_type is not None:
        fields["request_type"] = request_type
    if urgency is not None:
        fields["urgency"] = urgency
    try:
        return SubmissionIn.model_validate(fields), email
    except ValidationError as exc:
        raise BadRequest(details=[_detail(error) for error in exc.errors()]) from None


def _detail(error: Any) -> dict[str, str]:
    field = str(error["loc"][0]) if error.get("loc") else "body"
    kind = str(error.get("type", ""))
    message = _VALIDATION_MESSAGES.get(kind, "取值有误")
    if kind == "value_error" and error.get("ctx", {}).get("error") is not None:
        message = str(error["ctx"]["error"])
    return {"field": FIELD_NAMES.get(field, field), "message": message}


async def submit(
    connection: AsyncConnection,
    directory: Directory,
    numbers: TrackingNumbers,
    bound: BoundCode,
    form: PostForm,
    *,
    submission_key: str | None = None,
) -> tuple[Created, bool]:
    """Opens the case through the bound code; the answer and whether it is new (False: the Idempotency-Key
    found the case an earlier request made)."""
    data, email = to_submission(form)
    try:
        submitted = await submission.submit_case(
            connection,
            directory,
            numbers,
            bound.token,
            data,
            source="open311",
            submission_key=submission_key,
            submitter_email=email,
        )
    except Unprocessable as exc:
        details = [
            {**d, "field": FIELD_NAMES.get(d.get("field", ""), d.get("field", ""))} for d in exc.details
        ]
        raise BadRequest(exc.detail_message, details=details) from None
    case_id = await connection.scalar(select(Case.id).where(Case.tracking_no == submitted.tracking_no))
    assert case_id is not None  # committed by submit_case
    notice = "已受理，将按问题分类交办承办单位；可凭受理编号查询办理进展"
    created = Created(
        service_request_id=submitted.tracking_no, token=tokens.issue(case_id), service_notice=notice
    )
    return created, submitted.created
