"""Errors of the dashboard: refused sign-ins, a missing or wrong CSRF token, filters it does not know. The
page routes render each as a page with its status and message."""

from __future__ import annotations

from shared.errors import Forbidden, Unauthorized, Unprocessable


class KeyRejected(Unauthorized):
    code = "dashboard_key_rejected"
    message = "访问密钥无效或已吊销，请检查后重新输入"


class RoleNotAllowed(Forbidden):
    code = "dashboard_role_not_allowed"
    message = "该访问密钥的角色不能登录督办看板（限督办人员、管理员和承办单位）"


class CsrfRejected(Forbidden):
    code = "csrf_rejected"
    message = "表单已失效或来源不明，请刷新页面后重试"


class FilterInvalid(Unprocessable):
    code = "dashboard_filter_invalid"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, details=[{"field": field, "message": message}])
