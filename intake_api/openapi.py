"""Shapes used only to document responses in the OpenAPI schema (errors are rendered by shared.web.errors)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class ErrorDetail(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[ErrorDetail]


class ErrorResponse(BaseModel):
    error: ErrorBody


_DESCRIPTIONS = {
    401: "Missing or invalid API key",
    403: "The key's role may not do this",
    404: "Not found (or outside the key's jurisdiction)",
    409: "The case's state does not allow it",
    410: "The intake code is no longer in use",
    422: "Invalid input: one detail per field, in Chinese",
    429: "Too many requests from this address (or through this code): try again after Retry-After seconds",
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": ErrorResponse, "description": _DESCRIPTIONS[status]} for status in statuses}


ADMIN_ERRORS = errors(401, 403, 422)
ADMIN_OBJECT_ERRORS = errors(401, 403, 404, 422)
