"""/v1/committees: the congress committees (对口委办) that supervise categories."""

from __future__ import annotations

from fastapi import APIRouter

from routing_api.deps import AdminKey, Pagination, PathId
from services.routing import taxonomy
from services.routing.schemas import CommitteeIn, CommitteeOut, CommitteePatch
from shared.web.db import Session
from shared.web.pagination import Page

router = APIRouter(prefix="/v1/committees", tags=["committees"])


@router.post("", status_code=201, summary="Create a committee")
async def create_committee(data: CommitteeIn, key: AdminKey, session: Session) -> CommitteeOut:
    return await taxonomy.create_committee(session, key.jurisdiction_id, data)


@router.get("", summary="List committees (by id)")
async def list_committees(key: AdminKey, session: Session, paging: Pagination) -> Page[CommitteeOut]:
    rows = await taxonomy.list_committees(
        session, key.jurisdiction_id, limit=paging.limit, after_id=paging.after_id
    )
    return paging.page_of(rows)


@router.get("/{committee_id}", summary="One committee")
async def get_committee(committee_id: PathId, key: AdminKey, session: Session) -> CommitteeOut:
    return await taxonomy.get_committee(session, key.jurisdiction_id, committee_id)


@router.patch("/{committee_id}", summary="Change a committee's code or name")
async def update_committee(
    committee_id: PathId, data: CommitteePatch, key: AdminKey, session: Session
) -> CommitteeOut:
    return await taxonomy.update_committee(session, key.jurisdiction_id, committee_id, data)
