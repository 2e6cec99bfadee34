"""/v1/categories: the two-level taxonomy (问题分类), each with a committee and a default deadline tier."""

from __future__ import annotations

from fastapi import APIRouter

from routing_api.deps import AdminKey, Pagination, PathId
from services.routing import taxonomy
from services.routing.schemas import CategoryIn, CategoryOut, CategoryPatch
from shared.web.db import Session
from shared.web.pagination import Page

router = APIRouter(prefix="/v1/categories", tags=["categories"])


@router.post("", status_code=201, summary="Create a category (top level, or under a top-level parent)")
async def create_category(data: CategoryIn, key: AdminKey, session: Session) -> CategoryOut:
    return await taxonomy.create_category(session, key.jurisdiction_id, data)


@router.get("", summary="List categories (by id)")
async def list_categories(key: AdminKey, session: Session, paging: Pagination) -> Page[CategoryOut]:
    rows = await taxonomy.list_categories(
        session, key.jurisdiction_id, limit=paging.limit, after_id=paging.after_id
    )
    return paging.page_of(rows)


@router.get("/{category_id}", summary="One category")
async def get_category(category_id: PathId, key: AdminKey, session: Session) -> CategoryOut:
    return await taxonomy.get_category(session, key.jurisdiction_id, category_id)


@router.patch("/{category_id}", summary="Change a category; only the fields sent change")
async def update_category(
    category_id: PathId, data: CategoryPatch, key: AdminKey, session: Session
) -> CategoryOut:
    return await taxonomy.update_category(session, key.jurisdiction_id, category_id, data)
