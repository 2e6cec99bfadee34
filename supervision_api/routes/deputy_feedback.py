"""The deputy's rating (满意度) of the reply to their suggestion; the citizen's rating comes through intake."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from services.supervision import deputy_feedback
from services.supervision.deputy_feedback_schemas import DeputyFeedbackIn, DeputyFeedbackOut
from shared.db.enums import Role
from shared.db.models import Case
from shared.security.apikeys import Principal
from shared.web.auth import require_roles
from supervision_api.deps import Id, Session

router = APIRouter(tags=["deputy feedback"])

Rater = Annotated[Principal, Depends(require_roles(Role.deputy, Role.supervisor))]


async def _ratable_case(case_id: Id, principal: Rater, session: Session) -> Case:
    return await deputy_feedback.get_ratable_case(session, principal, case_id)


RatableCase = Annotated[Case, Depends(_ratable_case)]


@router.post(
    "/v1/cases/{case_id}/feedback",
    status_code=201,
    summary="The deputy's rating of the reply to their suggestion (满意 / 基本满意 / 不满意)",
)
async def rate_suggestion_reply(
    case: RatableCase, principal: Rater, session: Session, body: DeputyFeedbackIn
) -> DeputyFeedbackOut:
    """For a deputy suggestion the deputy's rating decides: `satisfied` or `basically_satisfied` closes it,
    `dissatisfied` sends it back to its lead and separate departments with a new reply deadline on the
    `suggestion_rework` tier (default 1 month; set it with `PUT /v1/sla-policies`, e.g. `{"months": 2}`).

    A deputy key rates only a suggestion the deputy authored: a co-signer (联名代表) gets 403
    `cosigner_cannot_rate`, another deputy's case is 404. A supervisor may record the author's rating on the
    author's behalf (e.g. collected on paper): it counts as the deputy's, and the case log names the
    supervisor who recorded it. 422 `citizen_case_rated_by_citizen` for a citizen's case (its citizen rates
    on the tracking page); 422 `suggestion_not_replied` before the reply, `suggestion_closed` once closed
    unrated; 409 `already_rated` for a second rating of the same reply round. Emits `case.feedback` (with
    `source: deputy` and the `deputy_id`), then `case.closed` or `case.rework`."""
    return await deputy_feedback.rate_reply(session, principal, case, body)
