"""Cases for congress staff: search and the full view of one case."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from services.supervision import cases
from services.supervision.schemas import CaseFilters, CaseSummary
from services.workflow.views import CaseStaffView
from shared.db.enums import CaseStatus
from shared.db.ids import MAX_ID
from shared.web.pagination import Page
from supervision_api.deps import Pagination, Session, Staff, StaffCase

router = APIRouter(tags=["cases"])

OptionalId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"


@router.get("/v1/cases", summary="Search the jurisdiction's cases, newest first")
async def search_cases(
    principal: Staff,
    session: Session,
    page: Pagination,
    tracking_no: Annotated[str | None, Query(max_length=32, pattern=PRINTABLE)] = None,
    status: CaseStatus | None = None,
    department_id: OptionalId = None,
    category_code: Annotated[
        str | None, Query(max_length=64, pattern=PRINTABLE, description="Also matches subcategories")
    ] = None,
    station_id: OptionalId = None,
    deputy_id: OptionalId = None,
    created_from: Annotated[
        AwareDatetime | None, Query(alias="from", description="Created at or after")
    ] = None,
    created_to: Annotated[AwareDatetime | None, Query(alias="to", description="Created before")] = None,
    overdue: Annotated[
        bool | None, Query(description="Has a lapsed accept, reply or opinion deadline")
    ] = None,
) -> Page[CaseSummary]:
    filters = CaseFilters(
        tracking_no=tracking_no,
        status=status,
        department_id=department_id,
        category_code=category_code,
        station_id=station_id,
        deputy_id=deputy_id,
        created_from=created_from,
        created_to=created_to,
        overdue=overdue,
    )
    rows = await cases.search_cases(
        session, principal.jurisdiction_id, filters, limit=page.limit, before_id=page.after_id
    )
    return page.page_of(rows)


@router.get("/v1/cases/{case_id}", summary="Everything about one case")
async def get_case(case: StaffCase, session: Session) -> CaseStaffView:
    return await cases.case_view(session, case)
