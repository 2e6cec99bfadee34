"""/v1/routing-settings: how a jurisdiction dispatches what its rules and the classifier cannot place."""

from __future__ import annotations

from fastapi import APIRouter

from routing_api.deps import AdminKey
from services.routing.desk import settings
from services.routing.desk.schemas import RoutingSettingsIn, RoutingSettingsOut
from shared.web.db import Session

router = APIRouter(prefix="/v1/routing-settings", tags=["routing rules"])


@router.get("", summary="The jurisdiction's dispatch settings")
async def get_settings(key: AdminKey, session: Session) -> RoutingSettingsOut:
    return await settings.get_settings(session, key.jurisdiction_id)


@router.put("", summary="Set the classification threshold and what happens to unmatched cases")
async def put_settings(data: RoutingSettingsIn, key: AdminKey, session: Session) -> RoutingSettingsOut:
    return await settings.put_settings(session, key.jurisdiction_id, data)
