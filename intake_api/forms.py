"""Reading HTML form posts (urlencoded or multipart) into the domain's models, with per-field messages."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from shared.errors import Unprocessable
from shared.web.errors import validation_details

M = TypeVar("M", bound=BaseModel)


async def read_fields(request: Request, names: Iterable[str]) -> dict[str, str]:
    """The named text fields of the posted form; uploads are refused (400) and other fields ignored."""
    form = await request.form(max_files=0, max_fields=64, max_part_size=64 * 1024)
    values: dict[str, str] = {}
    for name in names:
        value = form.get(name)
        if isinstance(value, str):
            values[name] = value
    return values


def parse(model: type[M], values: dict[str, Any]) -> M:
    """The model, or Unprocessable with one Chinese message per field (as the JSON API would answer)."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise Unprocessable(details=validation_details(RequestValidationError(exc.errors()))) from exc


def messages_by_field(details: list[dict[str, Any]]) -> dict[str, str]:
    found: dict[str, str] = {}
    for detail in details:
        found.setdefault(str(detail.get("field", "")), str(detail.get("message", "")))
    return found
