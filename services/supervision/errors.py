"""Errors of supervision: deadlines and the calendar, API keys, jurisdictions, webhooks and the case search."""

from __future__ import annotations

from shared.errors import Conflict, NotFound, Unprocessable


class FieldInvalid(Unprocessable):
    """A 422 naming the one field that is wrong, with a Chinese explanation."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, details=[{"field": field, "message": message}])


class UnknownTier(FieldInvalid):
    def __init__(self, tier: str, field: str = "tier") -> None:
        super().__init__(field, f"未知的时限档次“{tier}”")


class CaseNotFound(NotFound):
    code = "case_not_found"
    message = "未找到该事项"


class OverrideNotFound(NotFound):
    code = "calendar_override_not_found"
    message = "未找到该日期的工作日调整"


class ApiKeyNotFound(NotFound):
    code = "api_key_not_found"
    message = "未找到该访问密钥"


class LastAdminKey(Conflict):
    code = "last_admin_key"
    message = "这是本辖区最后一个有效的管理员密钥，不能吊销"


class JurisdictionExists(Conflict):
    code = "jurisdiction_exists"
    message = "该辖区代码已存在"


class WebhookNotFound(NotFound):
    code = "webhook_not_found"
    message = "未找到该回调地址"
