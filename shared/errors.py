"""The one exception tree. Each error carries its HTTP status, a stable code and a Chinese message;
each app renders them all with one handler (shared.web)."""

from __future__ import annotations

from typing import Any, ClassVar


class MinyiError(Exception):
    status_code: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    message: ClassVar[str] = "请求有误"

    def __init__(self, message: str | None = None, *, details: list[dict[str, Any]] | None = None) -> None:
        self.detail_message = message or self.message
        self.details = details or []
        super().__init__(self.detail_message)


class NotFound(MinyiError):
    status_code = 404
    code = "not_found"
    message = "未找到该对象"


class Conflict(MinyiError):
    status_code = 409
    code = "conflict"
    message = "当前状态不允许此操作"


class Unprocessable(MinyiError):
    status_code = 422
    code = "validation_error"
    message = "提交的内容有误"

    @classmethod
    def field(cls, field: str, message: str) -> Unprocessable:
        return cls(message, details=[{"field": field, "message": message}])


class Unauthorized(MinyiError):
    status_code = 401
    code = "unauthorized"
    message = "缺少或无效的访问密钥"


class Forbidden(MinyiError):
    status_code = 403
    code = "forbidden"
    message = "当前角色无权执行此操作"


class ServiceUnavailable(MinyiError):
    status_code = 503
    code = "service_unavailable"
    message = "服务暂时不可用，请稍后重试"


class TooManyRequests(MinyiError):
    """An abuse limit: answered 429 with Retry-After (seconds until the window that was exceeded ends)."""

    status_code = 429
    code = "too_many_requests"
    message = "提交过于频繁，请稍后再试"

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        super().__init__(message or too_many_message(retry_after))
        self.retry_after = retry_after


def too_many_message(retry_after: int) -> str:
    minutes = max(1, -(-retry_after // 60))
    return f"提交过于频繁，请 {minutes} 分钟后再试"
