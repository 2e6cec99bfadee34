"""Reading HTML form posts (urlencoded or multipart, with photos) into the domain's models, with per-field
messages."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.datastructures import UploadFile

from shared.errors import Unprocessable
from shared.settings import get_settings
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


async def read_fields_and_files(
    request: Request, names: Iterable[str], file_field: str, max_files: int
) -> tuple[dict[str, str], list[bytes]]:
    """The named text fields and the files posted under ``file_field`` (a file input left empty, which
    browsers send as a nameless empty part, is no file). Each file is read up to ``max_bytes`` + 1 bytes:
    enough to tell that it is too large. More than ``max_files`` parts in all is refused (400)."""
    form = await request.form(max_files=max_files, max_fields=64, max_part_size=64 * 1024)
    values = {name: value for name in names if isinstance(value := form.get(name), str)}
    max_bytes = get_settings().photo_max_bytes
    files: list[bytes] = []
    for item in form.getlist(file_field):
        if isinstance(item, UploadFile) and (item.filename or item.size):
            files.append(await item.read(max_bytes + 1))
    return values, files


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
