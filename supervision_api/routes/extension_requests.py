"""Extension requests (延期申请) of the jurisdiction's departments, for congress staff to decide."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services.supervision import extensions
from services.supervision.extensions import ExtensionRequestSummary
from shared.db.enums import ExtensionStatus
from shared.db.ids import MAX_ID
from shared.web.pagination import Page
from supervision_api.deps import Pagination, Session, Staff

router = APIRouter(tags=["extension requests"])


@router.get("/v1/extension-requests", summary="The jurisdiction's extension requests, oldest first")
async def list_extension_requests(
    principal: Staff,
    session: Session,
    page: Pagination,
    status: Annotated[
        ExtensionStatus | None, Query(description="pending (waiting for a decision), approved or refused")
    ] = None,
    department_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="One department's")] = None,
) -> Page[ExtensionRequestSummary]:
    """`?status=pending` is the queue waiting for a decision; a department asks through routing_api
    (`POST /v1/assignments/{id}/extension-requests`), and this service hears of it as
    `case.extension_requested`."""
    rows = await extensions.list_extension_requests(
        session,
        principal.jurisdiction_id,
        status=status.value if status else None,
        department_id=department_id,
        limit=page.limit,
        after_id=page.after_id,
    )
    return page.page_of(rows)
