"""Cases for congress staff: search and the full view of one case."""

from __future__ import annotations

from fastapi import APIRouter

from services.supervision import cases
from services.supervision.schemas import CaseSummary
from services.workflow.views import CaseStaffView
from shared.web.pagination import Page
from supervision_api.deps import CaseSearch, Pagination, Session, Staff, StaffCase

router = APIRouter(tags=["cases"])


@router.get("/v1/cases", summary="Search the jurisdiction's cases, newest first")
async def search_cases(
    principal: Staff,
    session: Session,
    page: Pagination,
    filters: CaseSearch,
) -> Page[CaseSummary]:
    rows = await cases.search_cases(
        session, principal.jurisdiction_id, filters, limit=page.limit, before_id=page.after_id
    )
    return page.page_of(rows)


@router.get("/v1/cases/{case_id}", summary="Everything about one case")
async def get_case(case: StaffCase, session: Session) -> CaseStaffView:
    return await cases.case_view(session, case)
