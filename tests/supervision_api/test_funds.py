"""The rapid-handling fund (快速处置经费): budgets, allocations that never overdraw it (also when many race),
spending within each allocation, the ledger as CSV and XLSX, and what the case page shows."""

from __future__ import annotations

import asyncio
import csv
import io
from collections import Counter
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from shared.db.engine import async_url
from shared.db.models import Case, Fund, FundAllocation
from supervision_api.app import create_app
from tests.asgi import client_for, running
from tests.factories import World, build_world
from tests.supervision_api.arrange import dispatched_case, new_case

YUAN = 100


async def _fund(client: httpx.AsyncClient, world: World, budget_fen: int, name: str = "快速处置经费") -> int:
    response = await client.post(
        "/v1/funds",
        json={"year": 2026, "name": name, "budget_fen": budget_fen},
        headers=world.auth("admin"),
    )
    assert response.status_code == 201, response.text
    fund_id: int = response.json()["id"]
    return fund_id


async def _allocate(
    client: httpx.AsyncClient,
    world: World,
    fund_id: int,
    case: Case,
    amount_fen: int,
    who: str = "supervisor",
) -> httpx.Response:
    return await client.post(
        f"/v1/funds/{fund_id}/allocations",
        json={
            "case_id": case.id,
            "amount_fen": amount_fen,
            "purpose": "更换破损垃圾桶",
            "approver": "李主任",
        },
        headers=world.auth(who),
    )


async def _spend(
    client: httpx.AsyncClient, world: World, allocation_id: int, amount_fen: int, **fields: Any
) -> httpx.Response:
    body = {"amount_fen": amount_fen, "note": "购买垃圾桶两个", "spent_on": "2026-10-09", **fields}
    return await client.post(
        f"/v1/allocations/{allocation_id}/spendings", json=body, headers=world.auth("supervisor")
    )


@pytest.fixture
async def racing_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """Fifty connections, so fifty allocations run as fifty concurrent transactions."""
    engine = create_async_engine(
        async_url(database_url),
        pool_size=50,
        max_overflow=0,
        connect_args={"server_settings": {"timezone": "UTC"}},
    )
    yield engine
    await engine.dispose()


async def test_fifty_racing_allocations_never_overdraw_the_fund(
    engine: AsyncEngine, racing_engine: AsyncEngine, session: AsyncSession, world: World
) -> None:
    cases = [await dispatched_case(session, world) for _ in range(5)]
    await session.commit()
    app = create_app(racing_engine)
    async with running(app), client_for(app) as client:
        fund_id = await _fund(client, world, 1000 * YUAN)

        responses = await asyncio.gather(
            *(_allocate(client, world, fund_id, cases[i % 5], 30 * YUAN) for i in range(50))
        )

        outcomes = Counter(
            (r.status_code, r.json()["error"]["code"] if r.status_code != 201 else None) for r in responses
        )
        # Every refusal is the guard's 409, never the CHECK constraint's generic conflict.
        assert outcomes == {(201, None): 33, (409, "insufficient_fund"): 17}
        assert {r.json()["error"]["message"] for r in responses if r.status_code == 409} == {"经费余额不足"}
        detail = (await client.get(f"/v1/funds/{fund_id}", headers=world.auth("supervisor"))).json()
    assert (detail["budget_fen"], detail["allocated_fen"], detail["balance_fen"]) == (
        1000 * YUAN,
        990 * YUAN,
        10 * YUAN,
    )
    assert len(detail["allocations"]) == 33
    stored = await session.scalar(
        select(func.sum(FundAllocation.amount_fen)).where(FundAllocation.fund_id == fund_id)
    )
    fund = await session.get(Fund, fund_id, populate_existing=True)
    assert fund is not None and stored == fund.allocated_fen == 990 * YUAN


async def test_allocation_and_spending_stay_within_their_limits(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    case = await dispatched_case(session, world)
    await session.commit()
    fund_id = await _fund(client, world, 100 * YUAN)

    too_much = await _allocate(client, world, fund_id, case, 100 * YUAN + 1)
    assert too_much.status_code == 409
    assert too_much.json()["error"] == {"code": "insufficient_fund", "message": "经费余额不足", "details": []}
    allocated = await _allocate(client, world, fund_id, case, 80 * YUAN, who="admin")
    assert allocated.status_code == 201, allocated.text
    allocation = allocated.json()
    assert (allocation["amount_fen"], allocation["spent_fen"], allocation["remaining_fen"]) == (8000, 0, 8000)
    assert (allocation["tracking_no"], allocation["approver"]) == (case.tracking_no, "李主任")
    assert (await _allocate(client, world, fund_id, case, 20 * YUAN + 1)).status_code == 409

    assert (await _spend(client, world, allocation["id"], 50 * YUAN, receipt_no="FP-001")).status_code == 201
    beyond = await _spend(client, world, allocation["id"], 30 * YUAN + 1)
    assert beyond.status_code == 409
    assert beyond.json()["error"]["code"] == "allocation_exceeded"
    rest = await _spend(client, world, allocation["id"], 30 * YUAN)
    assert rest.status_code == 201
    assert (await _spend(client, world, allocation["id"], 1)).status_code == 409
    tomorrow = await _spend(client, world, allocation["id"], 1, spent_on="2999-01-01")
    assert tomorrow.status_code == 422

    detail = (await client.get(f"/v1/funds/{fund_id}", headers=world.auth("supervisor"))).json()
    assert {k: detail[k] for k in ("budget_fen", "allocated_fen", "spent_fen", "balance_fen")} == {
        "budget_fen": 10000,
        "allocated_fen": 8000,
        "spent_fen": 8000,
        "balance_fen": 2000,
    }
    [shown] = detail["allocations"]
    assert [s["amount_fen"] for s in shown["spendings"]] == [5000, 3000]
    assert shown["spendings"][0]["receipt_no"] == "FP-001"

    # The case page shows what was spent on the case.
    page = (await client.get(f"/v1/cases/{case.id}", headers=world.auth("supervisor"))).json()
    assert page["rapid_fund"]["allocated_fen"] == 8000
    assert page["rapid_fund"]["spent_fen"] == 8000
    [on_case] = page["rapid_fund"]["allocations"]
    assert (on_case["fund_name"], on_case["purpose"]) == ("快速处置经费", "更换破损垃圾桶")
    assert [s["spent_on"] for s in on_case["spendings"]] == ["2026-10-09", "2026-10-09"]
    assert [e["type"] for e in page["events"]][-3:] == ["fund_allocated", "fund_spent", "fund_spent"]
    assert not any(e["public"] for e in page["events"] if e["type"].startswith("fund_"))


async def test_budget_changes_never_go_below_what_is_allocated(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    case = await dispatched_case(session, world)
    await session.commit()
    fund_id = await _fund(client, world, 100 * YUAN)
    assert (await _allocate(client, world, fund_id, case, 60 * YUAN)).status_code == 201
    admin = world.auth("admin")

    below = await client.patch(f"/v1/funds/{fund_id}", json={"budget_fen": 60 * YUAN - 1}, headers=admin)
    assert below.status_code == 409
    assert below.json()["error"]["code"] == "budget_below_allocated"
    lowered = await client.patch(
        f"/v1/funds/{fund_id}", json={"budget_fen": 60 * YUAN, "name": "应急经费"}, headers=admin
    )
    assert lowered.status_code == 200, lowered.text
    assert (lowered.json()["balance_fen"], lowered.json()["name"]) == (0, "应急经费")
    assert (await _allocate(client, world, fund_id, case, 1)).status_code == 409
    assert (await client.delete(f"/v1/funds/{fund_id}", headers=admin)).status_code == 409

    unused = await _fund(client, world, 5 * YUAN, name="备用")
    assert (await client.delete(f"/v1/funds/{unused}", headers=admin)).status_code == 204
    listed = (await client.get("/v1/funds", params={"year": 2026}, headers=world.auth("supervisor"))).json()
    assert [f["id"] for f in listed["items"]] == [fund_id]


async def test_fund_input_is_checked(client: httpx.AsyncClient, session: AsyncSession, world: World) -> None:
    admin = world.auth("admin")
    for body in (
        {"year": 2026, "name": "经费", "budget_fen": 0},
        {"year": 2026, "name": "经费", "budget_fen": 10.5},
        {"year": 1999, "name": "经费", "budget_fen": 100},
        {"year": 2026, "name": "   ", "budget_fen": 100},
    ):
        response = await client.post("/v1/funds", json=body, headers=admin)
        assert response.status_code == 422, body
    await _fund(client, world, 100)
    again = await client.post(
        "/v1/funds", json={"year": 2026, "name": "快速处置经费", "budget_fen": 5}, headers=admin
    )
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "fund_exists"
    fund_id = await _fund(client, world, 100, name="另一项")
    assert (
        await client.patch(f"/v1/funds/{fund_id}", json={"name": "快速处置经费"}, headers=admin)
    ).status_code == 409
    assert (
        await client.patch(f"/v1/funds/{fund_id}", json={"budget_fen": None}, headers=admin)
    ).status_code == 422

    merged = await new_case(session, world)
    merged.status = "merged"
    await session.commit()
    refused = await _allocate(client, world, fund_id, merged, 1)
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "case_not_fundable")
    negative = await client.post(
        f"/v1/funds/{fund_id}/allocations",
        json={"case_id": merged.id, "amount_fen": -5, "purpose": "维修", "approver": "李主任"},
        headers=world.auth("supervisor"),
    )
    assert negative.status_code == 422


async def test_roles(client: httpx.AsyncClient, session: AsyncSession, world: World) -> None:
    case = await dispatched_case(session, world)
    await session.commit()
    body = {"year": 2026, "name": "经费", "budget_fen": 100}
    assert (await client.post("/v1/funds", json=body, headers=world.auth("supervisor"))).status_code == 403
    fund_id = await _fund(client, world, 100 * YUAN)
    assert (
        await client.patch(f"/v1/funds/{fund_id}", json={"budget_fen": 1}, headers=world.auth("supervisor"))
    ).status_code == 403
    for who in ("dispatcher", "dept:urban_mgmt", "deputy", "integrator"):
        assert (await client.get("/v1/funds", headers=world.auth(who))).status_code == 403, who
        assert (await client.get(f"/v1/funds/{fund_id}", headers=world.auth(who))).status_code == 403, who
        assert (await _allocate(client, world, fund_id, case, 1, who=who)).status_code == 403, who
    assert (await client.get("/v1/funds")).status_code == 401
    for who in ("supervisor", "admin"):
        assert (
            await client.get(f"/v1/funds/{fund_id}/ledger.csv", headers=world.auth(who))
        ).status_code == 200


async def test_another_jurisdictions_fund_and_case_are_out_of_reach(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    other = await build_world(session, code="WJ", name="吴江区")
    their_case = await dispatched_case(session, other)
    our_case = await dispatched_case(session, world)
    await session.commit()
    theirs = await _fund(client, other, 100 * YUAN)
    ours = await _fund(client, world, 100 * YUAN)
    allocation = (await _allocate(client, other, theirs, their_case, 10 * YUAN)).json()

    for path in (f"/v1/funds/{theirs}", f"/v1/funds/{theirs}/ledger.csv", f"/v1/funds/{theirs}/ledger.xlsx"):
        response = await client.get(path, headers=world.auth("supervisor"))
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "fund_not_found"
    assert (await _allocate(client, world, theirs, our_case, 1)).status_code == 404
    assert (
        await client.patch(f"/v1/funds/{theirs}", json={"budget_fen": 1}, headers=world.auth("admin"))
    ).status_code == 404
    assert (await _spend(client, world, allocation["id"], 1)).status_code == 404
    # Our fund, their case: the case is not ours to fund.
    crossed = await _allocate(client, world, ours, their_case, 1)
    assert crossed.status_code == 422
    assert crossed.json()["error"]["details"][0]["field"] == "case_id"
    assert [
        f["id"] for f in (await client.get("/v1/funds", headers=world.auth("admin"))).json()["items"]
    ] == [ours]


async def _ledger_fund(client: httpx.AsyncClient, session: AsyncSession, world: World) -> tuple[int, Case]:
    case = await dispatched_case(session, world)
    await session.commit()
    fund_id = await _fund(client, world, 1000 * YUAN)
    first = (await _allocate(client, world, fund_id, case, 12345)).json()
    await _spend(client, world, first["id"], 2345, receipt_no='=HYPERLINK("x")')
    second = await client.post(
        f"/v1/funds/{fund_id}/allocations",
        json={"case_id": case.id, "amount_fen": 5000, "purpose": "=1+1 修补路面", "approver": "王科长"},
        headers=world.auth("admin"),
    )
    assert second.status_code == 201
    return fund_id, case


async def test_ledger_csv_has_a_bom_and_chinese_headers(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    fund_id, case = await _ledger_fund(client, session, world)

    response = await client.get(f"/v1/funds/{fund_id}/ledger.csv", headers=world.auth("supervisor"))

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == [
        "记录时间",
        "类型",
        "分配编号",
        "受理编号",
        "用途或说明",
        "审批人",
        "支出日期",
        "票据号",
        "金额（元）",
    ]
    assert [(r[1], r[3], r[8]) for r in rows[1:]] == [
        ("分配", case.tracking_no, "123.45"),
        ("支出", case.tracking_no, "23.45"),
        ("分配", case.tracking_no, "50.00"),
    ]
    assert rows[2][6:8] == ["2026-10-09", '\'=HYPERLINK("x")']
    # Text a spreadsheet would take for a formula is kept as text.
    assert rows[3][4] == "'=1+1 修补路面"


async def test_ledger_xlsx_reads_back(client: httpx.AsyncClient, session: AsyncSession, world: World) -> None:
    fund_id, case = await _ledger_fund(client, session, world)

    response = await client.get(f"/v1/funds/{fund_id}/ledger.xlsx", headers=world.auth("admin"))

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    workbook = load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames == ["台账", "汇总"]
    rows = list(workbook["台账"].iter_rows(values_only=True))
    assert rows[0][:2] == ("记录时间", "类型") and rows[0][-1] == "金额（元）"
    assert [(r[1], r[3], Decimal(str(r[8]))) for r in rows[1:]] == [
        ("分配", case.tracking_no, Decimal("123.45")),
        ("支出", case.tracking_no, Decimal("23.45")),
        ("分配", case.tracking_no, Decimal("50.00")),
    ]
    assert rows[3][4] == "'=1+1 修补路面"  # text, not a formula
    totals = dict(workbook["汇总"].iter_rows(values_only=True))
    assert totals["年度"] == 2026
    assert Decimal(str(totals["预算（元）"])) == Decimal("1000")
    assert Decimal(str(totals["已分配（元）"])) == Decimal("173.45")
    assert Decimal(str(totals["已支出（元）"])) == Decimal("23.45")
    assert Decimal(str(totals["可分配余额（元）"])) == Decimal("826.55")
    assert date.fromisoformat(rows[2][6]) == date(2026, 10, 9)
