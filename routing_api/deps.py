"""Dependencies that make route signatures read like sentences: who may call, and load-or-404 of the objects a
path names."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from services.routing.views import own_assignment
from shared.db.models import Assignment
from shared.errors import Unprocessable
from shared.security.apikeys import Principal
from shared.web.auth import require_roles
from shared.web.db import Session
from shared.web.pagination import Pagination
from shared.web.params import PathId

AdminKey = Annotated[Principal, Depends(require_roles("admin"))]
DispatcherKey = Annotated[Principal, Depends(require_roles("dispatcher"))]
DepartmentKey = Annotated[Principal, Depends(require_roles("department"))]
# The dispatcher's desk: the queue, manual dispatch, classification (admins may do what dispatchers do).
DeskKey = Annotated[Principal, Depends(require_roles("dispatcher", "admin"))]
# Duplicates are found and merged by dispatchers, and by supervisors who spot them.
DuplicatesKey = Annotated[Principal, Depends(require_roles("dispatcher", "supervisor", "admin"))]


async def _own_assignment(assignment_id: PathId, key: DepartmentKey, session: Session) -> Assignment:
    if key.department_id is None:  # the api_keys check constraint rules this out
        raise Unprocessable("该访问密钥未绑定承办单位")
    return await own_assignment(session, key.jurisdiction_id, key.department_id, assignment_id)


# An assignment of the caller's own department in the caller's jurisdiction; anything else is a 404.
OwnAssignment = Annotated[Assignment, Depends(_own_assignment)]


__all__ = [
    "AdminKey",
    "DepartmentKey",
    "DeskKey",
    "DispatcherKey",
    "DuplicatesKey",
    "OwnAssignment",
    "Pagination",
    "PathId",
]
