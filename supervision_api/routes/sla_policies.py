"""Deadline tiers: how long each tier allows in this jurisdiction."""

from __future__ import annotations

from fastapi import APIRouter

from services.supervision import calendar_admin
from services.supervision.schemas import SlaPoliciesIn, SlaPolicyList
from supervision_api.deps import Admin, Session

router = APIRouter(tags=["sla-policies"])


@router.get("/v1/sla-policies", summary="Every tier with its effective duration")
async def list_policies(principal: Admin, session: Session) -> SlaPolicyList:
    return SlaPolicyList(items=await calendar_admin.list_policies(session, principal.jurisdiction_id))


@router.put("/v1/sla-policies", summary="Set tier durations (null restores the default)")
async def put_policies(principal: Admin, session: Session, body: SlaPoliciesIn) -> SlaPolicyList:
    return SlaPolicyList(
        items=await calendar_admin.set_policies(session, principal.jurisdiction_id, body.items)
    )
