"""Extension requests (延期申请) of the jurisdiction's departments, for congress staff to decide."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from services.supervision import extensions
from services.supervision.extensions import ExtensionApproval, ExtensionRefusal, ExtensionRequestSummary
from shared.db.enums import ExtensionStatus
from shared.db.ids import MAX_ID
from shared.db.models import ExtensionRequest
from shared.web.pagination import Page
from supervision_api.deps import Id, Pagination, Session, Staff

router = APIRouter(tags=["extension requests"])


async def _staff_request(request_id: Id, principal: Staff, session: Session) -> ExtensionRequest:
    return await extensions.get_extension_request(session, principal.jurisdiction_id, request_id)


StaffExtensionRequest = Annotated[ExtensionRequest, Depends(_staff_request)]


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


@router.post(
    "/v1/extension-requests/{request_id}/approve",
    summary="Approve a pending extension request, with the date asked for or an earlier one",
)
async def approve_extension_request(
    request: StaffExtensionRequest, principal: Staff, session: Session, body: ExtensionApproval
) -> ExtensionRequestSummary:
    """The department's reply deadline moves to `until` (default: the date asked for): the deadline in force
    is kept as superseded and a new one takes its place, with fresh due-soon and overdue alarms.

    Caps: a deputy suggestion (`kind: deputy_suggestion`) never beyond 6 calendar months from its dispatch;
    anything else at most `extension_max_days` (policy, default 30) past the deadline in force. A date past
    the cap is 422 `extension_beyond_cap`, whose detail names `max_until`: approve again with an `until` no
    later than that. 409 `extension_decided` when the request is no longer pending; 409 `extension_moot`
    when the department already replied or left the case. Emits `case.extension_decided`."""
    return await extensions.approve(session, principal, request, body)


@router.post("/v1/extension-requests/{request_id}/refuse", summary="Refuse a pending extension request")
async def refuse_extension_request(
    request: StaffExtensionRequest, principal: Staff, session: Session, body: ExtensionRefusal
) -> ExtensionRequestSummary:
    """The deadline stays; the reason is shown to the department (`decision_note` on its
    `GET /v1/assignments/{id}/extension-requests`). 409 `extension_decided` when the request is no longer
    pending. Emits `case.extension_decided` with `approved: false`."""
    return await extensions.refuse(session, principal, request, body)
