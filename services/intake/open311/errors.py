"""Errors of the Open311 endpoint. Each carries its HTTP status and a Chinese message; intake_api.open311
renders every error (these and the shared ones) as the spec's error array."""

from __future__ import annotations

from shared.errors import Forbidden, MinyiError, NotFound


class BadRequest(MinyiError):
    """The spec answers bad input with 400 (never 422)."""

    status_code = 400
    code = "open311_bad_request"
    message = "请求参数有误"


class JurisdictionRequired(BadRequest):
    code = "jurisdiction_required"
    message = "本平台有多个辖区，请用 jurisdiction_id 指明辖区代码"


class JurisdictionNotFound(NotFound):
    code = "jurisdiction_not_found"
    message = "未找到该辖区（jurisdiction_id）"


class ServiceNotFound(NotFound):
    code = "service_not_found"
    message = "未找到该服务类型（service_code），或已停用"


class RequestNotFound(NotFound):
    """Unknown, another jurisdiction's when one was named, or not a citizen's case: all look the same."""

    code = "service_request_not_found"
    message = "未找到该诉求（service_request_id）"


class TokenNotFound(NotFound):
    code = "token_not_found"
    message = "未找到该令牌（token）"


class KeyRefused(Forbidden):
    """The spec's 403 for an api_key that may not submit: missing, unknown or revoked, another role, not
    bound to an intake code or a station, another jurisdiction's, or its code no longer accepting."""

    code = "api_key_refused"
    message = "缺少或无效的 api_key"
