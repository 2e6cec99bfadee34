"""/v1/grids: the jurisdiction's grids (网格)."""

from __future__ import annotations

from fastapi import APIRouter

from routing_api.deps import AdminKey, Pagination, PathId
from services.routing import taxonomy
from services.routing.schemas import GridIn, GridOut, GridPatch
from shared.web.db import Session
from shared.web.pagination import Page

router = APIRouter(prefix="/v1/grids", tags=["grids"])


@router.post("", status_code=201, summary="Create a grid")
async def create_grid(data: GridIn, key: AdminKey, session: Session) -> GridOut:
    return await taxonomy.create_grid(session, key.jurisdiction_id, data)


@router.get("", summary="List grids (by id)")
async def list_grids(key: AdminKey, session: Session, paging: Pagination) -> Page[GridOut]:
    rows = await taxonomy.list_grids(
        session, key.jurisdiction_id, limit=paging.limit, after_id=paging.after_id
    )
    return paging.page_of(rows)


@router.get("/{grid_id}", summary="One grid")
async def get_grid(grid_id: PathId, key: AdminKey, session: Session) -> GridOut:
    return await taxonomy.get_grid(session, key.jurisdiction_id, grid_id)


@router.patch("/{grid_id}", summary="Change a grid's code or name")
async def update_grid(grid_id: PathId, data: GridPatch, key: AdminKey, session: Session) -> GridOut:
    return await taxonomy.update_grid(session, key.jurisdiction_id, grid_id, data)
