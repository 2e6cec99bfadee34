"""/v1/departments: the units that handle cases (承办单位)."""

from __future__ import annotations

from fastapi import APIRouter

from routing_api.deps import AdminKey, Pagination, PathId
from services.routing import taxonomy
from services.routing.schemas import DepartmentIn, DepartmentOut, DepartmentPatch
from shared.web.db import Session
from shared.web.pagination import Page

router = APIRouter(prefix="/v1/departments", tags=["departments"])


@router.post("", status_code=201, summary="Create a department")
async def create_department(data: DepartmentIn, key: AdminKey, session: Session) -> DepartmentOut:
    return await taxonomy.create_department(session, key.jurisdiction_id, data)


@router.get("", summary="List departments (by id)")
async def list_departments(key: AdminKey, session: Session, paging: Pagination) -> Page[DepartmentOut]:
    rows = await taxonomy.list_departments(
        session, key.jurisdiction_id, limit=paging.limit, after_id=paging.after_id
    )
    return paging.page_of(rows)


@router.get("/{department_id}", summary="One department")
async def get_department(department_id: PathId, key: AdminKey, session: Session) -> DepartmentOut:
    return await taxonomy.get_department(session, key.jurisdiction_id, department_id)


@router.patch("/{department_id}", summary="Change a department; an inactive one receives no new cases")
async def update_department(
    department_id: PathId, data: DepartmentPatch, key: AdminKey, session: Session
) -> DepartmentOut:
    return await taxonomy.update_department(session, key.jurisdiction_id, department_id, data)
