"""Keyset pagination: ``?limit=`` (default 50, max 500) and an opaque ``?cursor=``; ``{"items", "next_cursor"}``."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel

from shared.db.ids import MAX_ID
from shared.errors import Unprocessable

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, value = raw.split(":", 1)
        if prefix != "id":
            raise ValueError(prefix)
        last_id = int(value)
        if not 0 <= last_id <= MAX_ID:
            raise ValueError(value)
        return last_id
    except (ValueError, UnicodeDecodeError, binascii.Error) as exc:
        raise Unprocessable.field("cursor", "分页游标无效") from exc


@dataclass(frozen=True)
class PageParams:
    limit: int
    after_id: int | None

    def next_cursor(self, ids: list[int]) -> str | None:
        """Given the ids of up to limit + 1 fetched rows, the cursor of the next page (or None)."""
        return encode_cursor(ids[self.limit - 1]) if len(ids) > self.limit else None

    def page_of(self, rows: Sequence[T]) -> Page[T]:
        """The page from up to limit + 1 rows (each with an ``id``) fetched in page order; the extra row only
        tells that another page follows."""
        ids = [int(getattr(row, "id")) for row in rows]  # noqa: B009 (rows of any model with an id)
        return Page[T](items=list(rows[: self.limit]), next_cursor=self.next_cursor(ids))


def _page_params(
    limit: Annotated[int, Query(ge=1, le=500, description="Page size (1-500)")] = 50,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page")] = None,
) -> PageParams:
    return PageParams(limit=limit, after_id=decode_cursor(cursor) if cursor else None)


Pagination = Annotated[PageParams, Depends(_page_params)]
