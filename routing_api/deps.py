"""Dependencies that make route signatures read like sentences: who may call, and load-or-404 of the objects a
path names."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Protocol, TypeVar

from fastapi import Depends, Path

from services.routing.schemas import MAX_ID
from services.routing.views import own_assignment
from shared.db.models import Assignment
from shared.errors import Unprocessable
from shared.security.apikeys import Principal
from shared.web.auth import require_roles
from shared.web.db import Session
from shared.web.pagination import Page, PageParams, Pagination

AdminKey = Annotated[Principal, Depends(require_roles("admin"))]
DispatcherKey = Annotated[Principal, Depends(require_roles("dispatcher"))]
DepartmentKey = Annotated[Principal, Depends(require_roles("department"))]

# A path id: larger than a bigint can name nothing, and would otherwise reach the database.
PathId = Annotated[int, Path(ge=1, le=MAX_ID, description="Object id")]


async def _own_assignment(assignment_id: PathId, key: DepartmentKey, session: Session) -> Assignment:
    if key.department_id is None:  # the api_keys check constraint rules this out
        raise Unprocessable("该访问密钥未绑定承办单位")
    return await own_assignment(session, key.jurisdiction_id, key.department_id, assignment_id)


# An assignment of the caller's own department in the caller's jurisdiction; anything else is a 404.
OwnAssignment = Annotated[Assignment, Depends(_own_assignment)]


async def _paging(params: Pagination) -> PageParams:
    if params.after_id is not None and not 0 <= params.after_id <= MAX_ID:
        raise Unprocessable.field("cursor", "分页游标无效")
    return params


Paging = Annotated[PageParams, Depends(_paging)]


class _HasId(Protocol):
    @property
    def id(self) -> int: ...


T = TypeVar("T", bound=_HasId)


def page(rows: Sequence[T], params: PageParams) -> Page[T]:
    """A page from up to ``limit + 1`` rows fetched in page order; the extra row only says another follows."""
    return Page(items=list(rows[: params.limit]), next_cursor=params.next_cursor([r.id for r in rows]))
