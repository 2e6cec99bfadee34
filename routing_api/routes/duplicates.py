"""/v1/cases/{case_id}/similar, /merge and /unmerge: duplicates (重复件) at the dispatcher's desk, for
dispatchers, supervisors and admins. Nothing is merged unless a person asks."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from routing_api.deps import DuplicatesKey, PathId
from services.routing.duplicates import merge as merging
from services.routing.duplicates import search
from services.routing.duplicates.schemas import MergeIn, MergeState, SimilarCases
from shared.db.models import Case
from shared.web.db import Session

router = APIRouter(prefix="/v1/cases", tags=["duplicates"])


async def _case(case_id: PathId, key: DuplicatesKey, session: Session) -> Case:
    return await merging.jurisdiction_case(session, key.jurisdiction_id, case_id)


# A case of the caller's jurisdiction; any other id is a 404.
DeskCase = Annotated[Case, Depends(_case)]


@router.get("/{case_id}/similar", summary="Possible duplicates of the case, best first")
async def similar(
    case: DeskCase,
    session: Session,
    limit: Annotated[int, Query(ge=1, le=search.MAX_LIMIT, description="How many to return")] = (
        search.DEFAULT_LIMIT
    ),
) -> SimilarCases:
    """Cases of the same jurisdiction created within 90 days before or after this one that share a pair of
    its distinctive words, each with a score (0..1) and why: the shared words, same grid, same station, same
    category and the distance when both have coordinates. Rejected cases are left out; a case already merged
    into another stands for that main case (`via` names it). Only suggestions: nothing is merged."""
    return await search.similar(session, case, limit=limit)


@router.post("/{case_id}/merge", summary="并案: merge the case into the main case of the same matter")
async def merge(case: DeskCase, body: MergeIn, key: DuplicatesKey, session: Session) -> MergeState:
    """The case becomes `merged`, its departments' assignments are withdrawn, and its citizen's tracking page
    follows the main case. 422: into itself. 404: a main case of another jurisdiction. 409: the case was
    answered, closed, rejected or merged already; other cases were merged into it; the main case is merged
    (the message names its main case) or rejected."""
    return await merging.merge(session, key, case, body.into_case_id)


@router.post("/{case_id}/unmerge", summary="Undo a merge, within 24 hours of it")
async def unmerge(case: DeskCase, key: DuplicatesKey, session: Session) -> MergeState:
    """The case returns to the state it was merged from, and its withdrawn assignments to theirs. 409: not
    merged; merged more than 24 hours ago; or its citizen already rated the main case's reply."""
    return await merging.unmerge(session, key, case)
