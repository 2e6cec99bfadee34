"""/v1/assignments/{id}/consultations: how the department answering a deputy suggestion consulted the deputy
(面商/电话/书面) before its reply."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from routing_api.deps import OwnAssignment, Pagination, PathId
from services.routing import consultations
from services.routing.consultations import ConsultationIn, ConsultationView
from services.routing.errors import AssignmentNotFound
from services.routing.views import own_assignment
from shared.db.enums import Role
from shared.db.models import Assignment
from shared.security.apikeys import Principal
from shared.web.auth import require_roles
from shared.web.db import Session
from shared.web.pagination import Page

router = APIRouter(prefix="/v1/assignments/{assignment_id}/consultations", tags=["consultations"])

# The department of the assignment, and staff who follow suggestions across departments.
Reader = Annotated[
    Principal, Depends(require_roles(Role.department, Role.dispatcher, Role.supervisor, Role.admin))
]


async def _readable_assignment(assignment_id: PathId, key: Reader, session: Session) -> Assignment:
    if key.role == Role.department:
        if key.department_id is None:  # the api_keys check constraint rules this out
            raise AssignmentNotFound()
        return await own_assignment(session, key.jurisdiction_id, key.department_id, assignment_id)
    return await consultations.assignment_in_jurisdiction(session, key.jurisdiction_id, assignment_id)


ReadableAssignment = Annotated[Assignment, Depends(_readable_assignment)]


@router.post(
    "", status_code=201, summary="面商/沟通: record how the deputy was consulted about the suggestion"
)
async def record_consultation(
    assignment: OwnAssignment, data: ConsultationIn, session: Session
) -> ConsultationView:
    """By the lead or a separate department of a deputy suggestion (422 `not_suggestion_answerer` for a
    citizen's case or a co-handler), at any time until the suggestion is closed (409 `case_not_active`
    after). `held_on` may not be in the future nor before the suggestion was made (422); `deputy_id` is the
    author by default, or one of the co-signers (422 for any other deputy). Kept in the case's log as
    `consulted` (not sent as an event). Under the jurisdiction's `require_consultation` policy
    (`PUT /v1/routing-settings`), the department's reply is refused until it has recorded one."""
    return await consultations.record_consultation(session, assignment, data)


@router.get("", summary="The assignment's consultations with the deputy, newest first")
async def list_consultations(
    assignment: ReadableAssignment, session: Session, paging: Pagination
) -> Page[ConsultationView]:
    """The department of the assignment, or staff (dispatcher, supervisor, admin) of the jurisdiction."""
    rows = await consultations.list_consultations(
        session, assignment, limit=paging.limit, after_id=paging.after_id
    )
    return paging.page_of(rows)
