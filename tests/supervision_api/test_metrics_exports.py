"""Exports: a metrics view and the case search as CSV (UTF-8 with BOM, Chinese headers) and XLSX (read back
with openpyxl); personal data masked, confidential submitters left out, formulas neutralised."""

from __future__ import annotations

import csv
import io
from urllib.parse import unquote

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.supervision.metrics import case_exports, rollup
from shared.db.models import Case
from shared.security.pii import encrypt
from tests.factories import World
from tests.services.supervision.metrics_arrange import HAND_DEPARTMENTS, TRACKING, build_set

PERIOD = {"from": "2026-10-01", "to": "2026-10-31"}


@pytest.fixture
async def arranged(session: AsyncSession, world: World, engine: AsyncEngine) -> World:
    built = await build_set(session, world)
    await rollup.refresh(engine)
    c1, c2, c3 = built.cases["C1"], built.cases["C2"], built.cases["C3"]
    await session.execute(
        update(Case)
        .where(Case.id == c1.id)
        .values(
            submitter_name_enc=encrypt("张三丰"),
            submitter_phone_enc=encrypt("13812345678"),
            title='=HYPERLINK("http://evil.test","点我")',
        )
    )
    await session.execute(
        update(Case)
        .where(Case.id == c2.id)
        .values(
            submitter_name_enc=encrypt("李四"),
            submitter_phone_enc=encrypt("13987654321"),
            confidential=True,
            description="@SUM(1,2) 路灯不亮",
        )
    )
    await session.execute(update(Case).where(Case.id == c3.id).values(location_text="+86 平江路"))
    await session.commit()
    return world


def _csv(response: httpx.Response) -> list[list[str]]:
    assert response.content[:3] == b"\xef\xbb\xbf"
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


async def test_metrics_csv(arranged: World, client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/v1/metrics.csv", params={**PERIOD, "group_by": "department"}, headers=arranged.auth("supervisor")
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    disposition = response.headers["content-disposition"]
    assert 'filename="metrics-department-2026-10-01-2026-10-31.csv"' in disposition
    assert (
        unquote(disposition.split("filename*=UTF-8''")[1]) == "民意指标_承办单位_2026-10-01至2026-10-31.csv"
    )
    rows = _csv(response)
    header = rows[0]
    for name in ("分组", "受理数", "交办率", "按期签收率", "退回率", "按期答复率", "办结率", "满意率", "未评价",
                 "重办率", "见面率", "响应率", "解决率", "综合得分", "排名"):  # fmt: skip
        assert name in header
    lines = {row[0]: dict(zip(header, row, strict=True)) for row in rows[1:]}
    assert set(lines) == {"区城管局", "区生态环境局", "双塔街道办事处", "合计"}
    assert lines["区生态环境局"]["受理数"] == str(HAND_DEPARTMENTS["environment"]["received"])
    assert lines["区生态环境局"]["综合得分"] == "100.00"
    assert lines["区城管局"]["排名说明"] == "样本不足"
    total = lines["合计"]
    assert total["受理数"] == "11"
    assert total["按期签收率"] == "63.64%"  # 7 / 11
    assert total["按期答复率"] == "71.43%"  # 5 / 7
    assert total["满意率"] == "75.00%" and total["未评价"] == "1"
    assert lines["双塔街道办事处"]["满意率"] == ""  # nothing rated: no rate


async def test_metrics_xlsx(arranged: World, client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/v1/metrics.xlsx", params={**PERIOD, "group_by": "month"}, headers=arranged.auth("supervisor")
    )
    assert response.status_code == 200, response.text
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    header = rows[0]
    assert header[0] == "分组" and "见面率" in header
    month, total = (dict(zip(header, row, strict=True)) for row in rows[1:])
    assert month["分组"] == "2026-10" and month["受理数"] == 11
    assert total["分组"] == "合计"
    assert total["按期签收率"] == pytest.approx(7 / 11)
    assert total["见面率"] == pytest.approx(0.5)
    assert sheet.cell(row=3, column=header.index("按期签收率") + 1).number_format == "0.00%"


async def test_a_department_key_exports_its_own_metrics_only(
    arranged: World, client: httpx.AsyncClient
) -> None:
    response = await client.get(
        "/v1/metrics.csv",
        params={**PERIOD, "group_by": "department"},
        headers=arranged.auth("dept:street_office"),
    )
    assert [row[0] for row in _csv(response)[1:]] == ["双塔街道办事处", "合计"]
    assert (
        await client.get("/v1/metrics.xlsx", params=PERIOD, headers=arranged.auth("deputy"))
    ).status_code == 403


async def test_cases_csv_masks_and_neutralises(
    arranged: World, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(case_exports, "BATCH", 3)  # several batches
    response = await client.get(
        "/v1/cases.csv", params={"from": "2026-10-01T00:00:00+08:00"}, headers=arranged.auth("supervisor")
    )
    assert response.status_code == 200, response.text
    assert "filename*=UTF-8''" in response.headers["content-disposition"]
    rows = _csv(response)
    header = rows[0]
    assert header[:3] == ["受理编号", "办理状态", "类别"]
    lines = {row[0]: dict(zip(header, row, strict=True)) for row in rows[1:]}
    # Every case of the jurisdiction since 1 October, newest first, none of another jurisdiction.
    assert set(lines) == set(TRACKING.values()) - {TRACKING["C0"]}
    assert [row[0] for row in rows[1:]] == sorted(lines, key=lambda t: -int(t.rsplit("-", 1)[1]))
    c1, c2, c3 = lines[TRACKING["C1"]], lines[TRACKING["C2"]], lines[TRACKING["C3"]]
    assert (c1["反映人"], c1["联系电话"]) == ("张**", "138****5678")
    assert c1["标题"].startswith("'=HYPERLINK")
    assert (c2["反映人"], c2["联系电话"]) == ("", "")  # confidential
    assert c2["诉求内容"].startswith("'@SUM")
    assert c3["地点"] == "'+86 平江路"
    assert c3["承办单位"] == "区生态环境局（主办）、双塔街道办事处（分办）、区城管局（协办）"
    assert c1["办理状态"] == "已办结" and c1["问题分类"] == "城市管理/市容环卫"
    assert c1["受理时间"] == "2026-10-12 09:00"
    for line in rows[1:]:
        assert "李四" not in line and "13987654321" not in line and "13812345678" not in line
    filtered = await client.get(
        "/v1/cases.csv",
        params={"department_id": arranged.departments["street_office"].id},
        headers=arranged.auth("supervisor"),
    )
    assert [row[0] for row in _csv(filtered)[1:]] == [TRACKING["C3"]]


async def test_cases_xlsx(
    arranged: World, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    response = await client.get(
        "/v1/cases.xlsx", params={"category_code": "environment"}, headers=arranged.auth("admin")
    )
    assert response.status_code == 200, response.text
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "受理编号"
    assert {row[0] for row in rows[1:]} == {TRACKING[c] for c in ("C3", "C5", "C10")}
    monkeypatch.setattr(case_exports, "XLSX_MAX_ROWS", 2)
    too_many = await client.get(
        "/v1/cases.xlsx", params={"category_code": "environment"}, headers=arranged.auth("admin")
    )
    assert too_many.status_code == 422
    assert "CSV" in too_many.json()["error"]["message"]


async def test_case_exports_are_for_staff(arranged: World, client: httpx.AsyncClient) -> None:
    for who in ("dept:urban_mgmt", "deputy", "integrator", "dispatcher"):
        assert (await client.get("/v1/cases.csv", headers=arranged.auth(who))).status_code == 403
        assert (await client.get("/v1/cases.xlsx", headers=arranged.auth(who))).status_code == 403
    bad = await client.get(
        "/v1/cases.csv", params={"from": "1900-01-01T00:00:00+08:00"}, headers=arranged.auth("supervisor")
    )
    assert bad.status_code == 422
