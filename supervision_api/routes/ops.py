"""Event delivery as operators see it: the backlog and the deliveries, stuck ones first to look at."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from services.supervision import ops
from services.supervision.schemas import BacklogOut, OpsDeliveryOut
from shared.db.enums import DeliveryStatus
from shared.web.pagination import Page
from supervision_api.deps import Admin, Pagination, Session

router = APIRouter(tags=["ops"])


@router.get("/v1/ops/backlog", summary="Events not yet delivered, per lane, and stuck internal deliveries")
async def get_backlog(principal: Admin, session: Session) -> BacklogOut:
    found = await ops.delivery_backlog(session, principal.jurisdiction_id)
    return BacklogOut.model_validate(found, from_attributes=True)


@router.get("/v1/ops/deliveries", summary="Deliveries of this jurisdiction's events, newest first")
async def list_deliveries(
    principal: Admin,
    session: Session,
    page: Pagination,
    stuck: Annotated[
        bool, Query(description="Only internal deliveries pending longer than MINYI_INTERNAL_STUCK_SECONDS")
    ] = False,
    lane: Annotated[Literal["internal", "integrator"] | None, Query()] = None,
    status: Annotated[DeliveryStatus | None, Query()] = None,
) -> Page[OpsDeliveryOut]:
    rows = await ops.list_deliveries(
        session,
        principal.jurisdiction_id,
        stuck=stuck,
        lane=lane,
        status=status,
        limit=page.limit,
        before_id=page.after_id,
    )
    return page.page_of(rows)
