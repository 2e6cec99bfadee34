"""/v1/fallback-department: the department that gets every case no routing rule matches."""

from __future__ import annotations

from fastapi import APIRouter

from routing_api.deps import AdminKey
from services.routing import taxonomy
from services.routing.schemas import FallbackIn, FallbackOut
from shared.web.db import Session

router = APIRouter(prefix="/v1/fallback-department", tags=["routing rules"])


@router.get("", summary="The jurisdiction's fallback department")
async def get_fallback(key: AdminKey, session: Session) -> FallbackOut:
    return await taxonomy.get_fallback(session, key.jurisdiction_id)


@router.put("", summary="Set (or, with null, clear) the fallback department")
async def set_fallback(data: FallbackIn, key: AdminKey, session: Session) -> FallbackOut:
    return await taxonomy.set_fallback(session, key.jurisdiction_id, data)
