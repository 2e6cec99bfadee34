"""/v1/routing-settings: how a jurisdiction dispatches what its rules and the classifier cannot place, and
whether its departments must consult a deputy before answering a suggestion."""

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


@router.put(
    "",
    summary="Set the classification threshold, what happens to unmatched cases, and the consultation policy",
)
async def put_settings(data: RoutingSettingsIn, key: AdminKey, session: Session) -> RoutingSettingsOut:
    """`require_consultation: true`: a reply to a deputy suggestion by its lead or separate department is
    refused (422 `consultation_required`) until that department has recorded a consultation with the
    deputy (`POST /v1/assignments/{id}/consultations`). Left out, it keeps its current value."""
    return await settings.put_settings(session, key.jurisdiction_id, data)
