"""/v1/assignments/{id}/extension-requests: a department asks for more time to reply (延期申请); supervision
approves or refuses."""

from __future__ import annotations

from fastapi import APIRouter

from routing_api.deps import OwnAssignment, Pagination
from services.routing import extensions
from services.routing.schemas import ExtensionRequestIn, ExtensionRequestView
from shared.web.db import Session
from shared.web.pagination import Page

router = APIRouter(prefix="/v1/assignments/{assignment_id}/extension-requests", tags=["extension requests"])


@router.post("", status_code=201, summary="延期申请: ask for a later reply deadline")
async def request_extension(
    assignment: OwnAssignment, data: ExtensionRequestIn, session: Session
) -> ExtensionRequestView:
    """By the lead or a separate department that has accepted, while its reply deadline is still ahead;
    `until` must be later than that deadline. One request may wait for a decision at a time (409 otherwise).
    Supervision hears of it as `case.extension_requested`; until it decides, the request is `pending`."""
    return await extensions.request_extension(session, assignment, data)


@router.get("", summary="The assignment's extension requests, newest first")
async def list_extension_requests(
    assignment: OwnAssignment, session: Session, paging: Pagination
) -> Page[ExtensionRequestView]:
    rows = await extensions.list_requests(session, assignment, limit=paging.limit, after_id=paging.after_id)
    return paging.page_of(rows)
