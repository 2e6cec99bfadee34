"""One place that turns every error into the API's error shape, in Chinese, never a 500 for bad input."""

from __future__ import annotations

from typing import Any

import asyncpg
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.errors import MinyiError, TooManyRequests
from shared.web.limits import BodyTooLarge

log = structlog.get_logger("minyi.web")

_VALIDATION_MESSAGES = {
    "missing": "此项为必填项",
    "string_too_short": "内容太短",
    "string_too_long": "内容太长",
    "string_type": "应为文本",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "float_parsing": "应为数字",
    "float_type": "应为数字",
    "bool_parsing": "应为布尔值（true 或 false）",
    "bool_type": "应为布尔值（true 或 false）",
    "enum": "不是允许的取值",
    "literal_error": "不是允许的取值",
    "datetime_parsing": "时间格式有误，应为 ISO 8601",
    "datetime_from_date_parsing": "时间格式有误，应为 ISO 8601",
    "datetime_type": "时间格式有误，应为 ISO 8601",
    "date_parsing": "日期格式有误，应为 YYYY-MM-DD",
    "date_from_datetime_parsing": "日期格式有误，应为 YYYY-MM-DD",
    "timezone_aware": "时间须带时区",
    "json_invalid": "请求体不是合法的 JSON",
    "model_attributes_type": "应为 JSON 对象",
    "dict_type": "应为 JSON 对象",
    "list_type": "应为数组",
    "too_short": "条目太少",
    "too_long": "条目太多",
    "greater_than": "数值太小",
    "greater_than_equal": "数值太小",
    "less_than": "数值太大",
    "less_than_equal": "数值太大",
    "url_parsing": "网址格式有误",
    "url_scheme": "网址须以 http:// 或 https:// 开头",
    "extra_forbidden": "不支持此字段",
    "value_error": "取值有误",
    "uuid_parsing": "格式有误",
}

STATUS_CODES = {
    400: ("bad_request", "请求有误"),
    401: ("unauthorized", "缺少或无效的访问密钥"),
    403: ("forbidden", "当前角色无权执行此操作"),
    404: ("not_found", "未找到该对象"),
    405: ("method_not_allowed", "不支持该请求方法"),
    406: ("not_acceptable", "不支持请求的响应格式"),
    409: ("conflict", "当前状态不允许此操作"),
    413: ("payload_too_large", "提交的内容太大"),
    415: ("unsupported_media_type", "不支持的内容类型"),
    422: ("validation_error", "提交的内容有误"),
    429: ("too_many_requests", "请求过于频繁，请稍后再试"),
}


def error_body(code: str, message: str, details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or []}}


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or str(loc[0] if loc else "body")


def validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    details = []
    for err in exc.errors():
        kind = str(err.get("type", ""))
        message = _VALIDATION_MESSAGES.get(kind)
        if kind == "value_error" and err.get("ctx", {}).get("error") is not None:
            message = str(err["ctx"]["error"])
        details.append({"field": _field_name(tuple(err.get("loc", ()))), "message": message or "取值有误"})
    return details


# A statement or lock wait cut short by the connection's statement_timeout / lock_timeout (shared.db.engine):
# the database is busy, not the request wrong, so it is a 503 the client may retry, never a 500.
_BUSY_SQLSTATES = frozenset({"55P03", "57014"})  # lock_not_available, query_canceled
_BUSY = "系统繁忙，请稍后重试"


def _unavailable(message: str = "数据库暂时不可用，请稍后重试") -> JSONResponse:
    return JSONResponse(
        error_body("service_unavailable", message),
        status_code=503,
        headers={"Retry-After": "5"},
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(MinyiError)
    async def _domain(request: Request, exc: MinyiError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        if isinstance(exc, TooManyRequests):
            headers = {"Retry-After": str(exc.retry_after)}
        return JSONResponse(
            error_body(exc.code, exc.detail_message, exc.details),
            status_code=exc.status_code,
            headers=headers,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(
            error_body("validation_error", "提交的内容有误", validation_details(exc)), status_code=422
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code, message = STATUS_CODES.get(exc.status_code, ("http_error", "请求无法处理"))
        if isinstance(exc, BodyTooLarge):
            message = exc.detail  # names the limit
        return JSONResponse(
            error_body(code, message), status_code=exc.status_code, headers=getattr(exc, "headers", None)
        )

    @app.exception_handler(DBAPIError)
    async def _db_error(request: Request, exc: DBAPIError) -> JSONResponse:
        if isinstance(exc, IntegrityError):
            # Domain code checks what it can; a race it could not see still ends as a conflict, not a 500.
            log.info("integrity_conflict", error=str(exc.orig)[:200])
            return JSONResponse(error_body("conflict", "数据冲突，请刷新后重试"), status_code=409)
        sqlstate = str(getattr(exc.orig, "sqlstate", "") or "")
        if sqlstate in _BUSY_SQLSTATES:
            log.warning("database_busy", sqlstate=sqlstate, error=str(exc.orig)[:200])
            return _unavailable(_BUSY)
        if isinstance(exc, DataError) or sqlstate.startswith("22"):
            # Input the database cannot hold (a NUL character, an out-of-range number) that validation missed.
            log.info("data_error", error=str(exc.orig)[:200])
            return JSONResponse(
                error_body("validation_error", "提交的内容包含无法保存的字符或数值"), status_code=422
            )
        if isinstance(exc, OperationalError | InterfaceError) or exc.connection_invalidated:
            log.warning("database_unavailable", error=str(exc.orig)[:200])
            return _unavailable()
        log.exception("database_error")
        return JSONResponse(error_body("internal_error", "服务器内部错误，请稍后重试"), status_code=500)

    @app.exception_handler(asyncpg.PostgresError)
    @app.exception_handler(asyncpg.InterfaceError)
    async def _connect_refused(request: Request, exc: Exception) -> JSONResponse:
        # SQLAlchemy wraps the errors of statements (DBAPIError, above) but not those of opening a new
        # connection: asyncpg's own errors reach here only when the server refused or dropped a connection
        # being opened, e.g. while it restarts ("the database system is shutting down / starting up",
        # 57P03) or past max_connections (53300). Seen in tests/faults/test_database_restart.py.
        log.warning("database_unavailable", sqlstate=getattr(exc, "sqlstate", None), error=str(exc)[:200])
        return _unavailable()

    @app.exception_handler(PoolTimeout)
    async def _pool_exhausted(request: Request, exc: PoolTimeout) -> JSONResponse:
        # Every connection of the pool stayed busy for pool_timeout: shed the request rather than queue more.
        log.warning("database_pool_exhausted", error=str(exc)[:200])
        return _unavailable(_BUSY)

    @app.exception_handler(OSError)
    async def _os_error(request: Request, exc: OSError) -> JSONResponse:
        # The database is the only thing a request reaches over the network (asyncpg raises OSError on connect).
        log.warning("database_unreachable", error=str(exc)[:200])
        return _unavailable()

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled_error")
        return JSONResponse(error_body("internal_error", "服务器内部错误，请稍后重试"), status_code=500)
