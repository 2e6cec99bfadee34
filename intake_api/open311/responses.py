"""The Open311 answers: JSON or XML by the path's extension, and every error, wherever it arose (our domain,
validation, the body limit, the database), as the spec's error array with its HTTP status; the spec's 400
stands for our 422 and its 403 for our 401."""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Coroutine, Sequence
from typing import Annotated, Any, Literal

from fastapi import Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel

from services.intake.open311 import xml
from services.intake.open311.schemas import Error
from shared.web.errors import validation_details

Format = Literal["json", "xml"]
FormatPath = Annotated[Format, Path(description="json or xml")]
XML_MEDIA_TYPE = "application/xml"

_STATUS_MAP = {422: 400, 401: 403}
_PASSED_HEADERS = ("retry-after",)


def _data(payload: BaseModel | Sequence[BaseModel]) -> Any:
    if isinstance(payload, BaseModel):
        return payload.model_dump(mode="json")
    return [item.model_dump(mode="json") for item in payload]


def answer(fmt: str, root: str, payload: BaseModel | Sequence[BaseModel], status_code: int = 200) -> Response:
    """``payload`` as JSON, or as XML under ``root`` (its list items in the elements the spec names)."""
    data = _data(payload)
    if fmt == "xml":
        return Response(xml.render(root, data), status_code=status_code, media_type=XML_MEDIA_TYPE)
    return JSONResponse(data, status_code=status_code)


def error_answer(
    fmt: str, status_code: int, description: str, headers: dict[str, str] | None = None
) -> Response:
    response = answer(fmt, "errors", [Error(code=status_code, description=description)], status_code)
    response.headers.update(headers or {})
    return response


def format_of(request: Request) -> Format:
    return "xml" if request.url.path.endswith(".xml") else "json"


def _describe(message: str, details: list[dict[str, Any]]) -> str:
    said = "；".join(f"{d.get('field')}：{d.get('message')}" for d in details if isinstance(d, dict))
    return f"{message}（{said}）" if said else message


async def _house_answer(request: Request, exc: Exception) -> Response:
    """What the app's own handler (shared.web.errors) makes of the error: the status, message and headers
    it chose, for every kind of error it knows."""
    handlers: dict[Any, Callable[..., Any]] = request.app.exception_handlers
    for kind in type(exc).__mro__:
        handler = handlers.get(kind)
        if handler is not None:
            response = handler(request, exc)
            if inspect.isawaitable(response):
                response = await response
            assert isinstance(response, Response)
            return response
    raise exc


async def error_response(request: Request, exc: Exception) -> Response:
    fmt = format_of(request)
    if isinstance(exc, RequestValidationError):
        return error_answer(fmt, 400, _describe("请求参数有误", validation_details(exc)))
    house = await _house_answer(request, exc)
    try:
        error = json.loads(bytes(house.body)).get("error", {})
    except (ValueError, AttributeError):
        error = {}
    message = str(error.get("message") or "请求无法处理")
    details = error.get("details") if isinstance(error.get("details"), list) else []
    status = _STATUS_MAP.get(house.status_code, house.status_code)
    headers = {name: house.headers[name] for name in _PASSED_HEADERS if name in house.headers}
    return error_answer(fmt, status, _describe(message, details), headers)


class Open311Route(APIRoute):
    """Answers every error of its endpoint as the spec's error array, in the path's format."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as exc:
                return await error_response(request, exc)

        return guarded


# The XML carries the JSON's fields as elements; documented by example only (no JSON Schema describes XML).
_XML_CONTENT = {
    XML_MEDIA_TYPE: {
        "example": "<?xml version='1.0' encoding='utf-8'?>\n<services><service>…</service></services>"
    }
}


def documented(
    model: Any, description: str, *, status: int = 200, errors: Sequence[int] = ()
) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI responses of an Open311 route: ``model`` as JSON (or the same fields as XML), and the
    error array for every 4xx."""
    responses: dict[int | str, dict[str, Any]] = {
        status: {"model": model, "description": description, "content": dict(_XML_CONTENT)},
        "4XX": {
            "model": list[Error],
            "description": 'The spec\'s error array: `[{"code": 400, "description": "中文说明"}]` '
            "(XML: `<errors><error><code>…</code><description>…</description></error></errors>`)"
            + (f"; expected here: {', '.join(str(s) for s in errors)}" if errors else ""),
            "content": dict(_XML_CONTENT),
        },
    }
    return responses
