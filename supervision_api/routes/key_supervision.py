"""Key supervision (重点督办) and the three checks a year (一年三督): the items a committee picks each year, the
checks recorded on them, and the year's report as JSON and as an Excel workbook."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Response
from starlette.concurrency import run_in_threadpool

from services.supervision import key_items, key_report, key_report_xlsx
from services.supervision.key_item_schemas import (
    KeyCheckIn,
    KeyItemIn,
    KeyItemOut,
    KeyItemUpdate,
    KeyReport,
)
from shared.db.enums import Role
from shared.db.models import KeyItem
from shared.db.models.key_items import KEY_ITEM_YEARS
from shared.security.apikeys import Principal
from shared.web.auth import require_roles
from shared.web.pagination import Page
from supervision_api.deps import Id, Pagination, Session, Staff

router = APIRouter(prefix="/v1/key-supervision", tags=["key supervision"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# Choosing items and recording checks is the committee's work; admins may read.
Supervisor = Annotated[Principal, Depends(require_roles(Role.supervisor))]
FIRST_YEAR, LAST_YEAR = KEY_ITEM_YEARS
YearFilter = Annotated[int | None, Query(ge=FIRST_YEAR, le=LAST_YEAR, description="One year's items")]
ReportYear = Annotated[int, Query(ge=FIRST_YEAR, le=LAST_YEAR, description="The supervision year")]


async def _staff_item(item_id: Id, principal: Staff, session: Session) -> KeyItem:
    return await key_items.get_item(session, principal.jurisdiction_id, item_id)


async def _supervised_item(item_id: Id, principal: Supervisor, session: Session) -> KeyItem:
    return await key_items.get_item(session, principal.jurisdiction_id, item_id)


StaffItem = Annotated[KeyItem, Depends(_staff_item)]
SupervisedItem = Annotated[KeyItem, Depends(_supervised_item)]


@router.post("/items", status_code=201, summary="Choose a case or deputy suggestion as a key item of a year")
async def choose_item(principal: Supervisor, session: Session, body: KeyItemIn) -> KeyItemOut:
    """The case (of the caller's jurisdiction, neither merged nor rejected) goes to supervision level `key`
    with the lead supervisor, the goal as the note. A case is a key item at most once a year (409
    `key_item_exists`). `start_check` records the start check (年初确定) at once."""
    item = await key_items.choose_item(session, principal, body)
    return await key_items.item_view(session, item)


@router.get("/items", summary="The jurisdiction's key items, in the order they were chosen")
async def list_items(
    principal: Staff,
    session: Session,
    page: Pagination,
    year: YearFilter = None,
) -> Page[KeyItemOut]:
    rows = await key_items.list_items(
        session, principal.jurisdiction_id, year=year, limit=page.limit, after_id=page.after_id
    )
    return page.page_of(rows)


@router.get("/items/{item_id}", summary="One key item with its checks")
async def get_item(item: StaffItem, session: Session) -> KeyItemOut:
    return await key_items.item_view(session, item)


@router.patch("/items/{item_id}", summary="Change a key item's lead supervisor or goal")
async def update_item(
    item: SupervisedItem, principal: Supervisor, session: Session, body: KeyItemUpdate
) -> KeyItemOut:
    """A new lead supervisor also becomes the case's, when this is the case's newest key item."""
    await key_items.update_item(session, item, principal, body)
    return await key_items.item_view(session, item)


@router.post("/items/{item_id}/checks", status_code=201, summary="Record one of the three checks")
async def record_check(
    item: SupervisedItem, principal: Supervisor, session: Session, body: KeyCheckIn
) -> KeyItemOut:
    """Stages in order: `start` (年初确定), `mid` (年中督查), `end` (年终评估), each once; a stage recorded
    again is a 409 (`key_check_recorded`), a stage before its predecessor a 409 (`key_check_out_of_order`).
    `rating` (good 好, fair 较好, average 一般, poor 差) is required for mid and end; `checked_on` lies within a
    year of the item's year, not in the future, not before the previous check. Answers the item with its
    checks; the check is also logged on the case's timeline as `key_check_recorded`."""
    await key_items.record_check(session, item, principal, body)
    return await key_items.item_view(session, item)


@router.get("/report", summary="The year's key-supervision report")
async def report(principal: Staff, session: Session, year: ReportYear) -> KeyReport:
    """Per item: the case, its departments, reply deadlines kept or missed, reply classes, ratings and the
    three checks; and a summary. Reply deadlines count as they stand now: an approved extension's date
    counts, and a deadline an extension, a decline or a merge superseded counts neither way."""
    return await key_report.build_report(session, principal.jurisdiction_id, year)


@router.get(
    "/report.xlsx",
    summary="The year's key-supervision report as an Excel workbook",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}}},
)
async def report_xlsx(principal: Staff, session: Session, year: ReportYear) -> Response:
    """Sheets 重点督办事项 (one row per item), 三督记录 (one row per check) and 汇总 (the summary)."""
    data = await key_report.build_report(session, principal.jurisdiction_id, year)
    content = await run_in_threadpool(key_report_xlsx.build_workbook, data)
    filename = f"重点督办报告-{year}.xlsx"
    return Response(
        content,
        media_type=XLSX,
        headers={
            "Content-Disposition": (
                f"attachment; filename=\"key-supervision-{year}.xlsx\"; filename*=UTF-8''{quote(filename)}"
            )
        },
    )
