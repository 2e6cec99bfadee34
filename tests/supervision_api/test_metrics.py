"""GET /v1/metrics, /v1/metrics/cases and /v1/metric-settings over HTTP on the constructed set of
tests/services/supervision/metrics_arrange.py (every number known by hand)."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.supervision.metrics import rollup
from shared.db.models.metrics import METRIC_COUNTS
from tests.factories import World
from tests.services.supervision.metrics_arrange import (
    HAND_DEPARTMENTS,
    HAND_RATES,
    HAND_TOTALS,
    TRACKING,
    build_set,
)

PERIOD = {"from": "2026-10-01", "to": "2026-10-31"}


@pytest.fixture
async def arranged(session: AsyncSession, world: World, engine: AsyncEngine) -> World:
    await build_set(session, world)
    await rollup.refresh(engine)
    return world


async def _get(
    client: httpx.AsyncClient, world: World, who: str, path: str = "/v1/metrics", **params: object
) -> httpx.Response:
    return await client.get(path, params={**PERIOD, **params}, headers=world.auth(who))


@pytest.mark.parametrize("source", ["auto", "facts"])
async def test_departments_and_total(source: str, arranged: World, client: httpx.AsyncClient) -> None:
    response = await _get(client, arranged, "supervisor", group_by="department", source=source)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["source"] == ("rollup" if source == "auto" else "facts")
    assert {row["code"]: row["counts"] for row in body["rows"]} == HAND_DEPARTMENTS
    assert body["total"]["counts"] == HAND_TOTALS
    assert body["total"]["rates"] == pytest.approx(HAND_RATES)
    assert body["from"] == "2026-10-01"
    urban = next(row for row in body["rows"] if row["code"] == "urban_mgmt")
    assert urban["key"] == str(arranged.departments["urban_mgmt"].id)
    assert urban["label"] == "区城管局"
    assert urban["rank"] is None and urban["rank_note"] == "样本不足"


async def test_ranking_needs_the_sample_and_ties_share_a_rank(
    arranged: World, client: httpx.AsyncClient
) -> None:
    put = await client.put(
        "/v1/metric-settings", json={"ranking_min_sample": 3}, headers=arranged.auth("admin")
    )
    assert put.status_code == 200, put.text
    rows = (await _get(client, arranged, "supervisor", group_by="department")).json()["rows"]
    # E 100 > U 55.83; S has 1 dispatched case < 3.
    assert [(row["code"], row["rank"], row["rank_note"]) for row in rows] == [
        ("environment", 1, None),
        ("urban_mgmt", 2, None),
        ("street_office", None, "样本不足"),
    ]
    # Response only: E 3/3, U 3/6 and S 1/2 tie at 50.
    put = await client.put(
        "/v1/metric-settings",
        json={"ranking_min_sample": 1, "weights": {"response": 100, "resolution": 0, "satisfaction": 0}},
        headers=arranged.auth("admin"),
    )
    assert put.json()["weights"] == {"response": 100, "resolution": 0, "satisfaction": 0}
    rows = (await _get(client, arranged, "supervisor", group_by="department")).json()["rows"]
    assert {row["code"]: (row["rank"], row["score"]) for row in rows} == {
        "environment": (1, 100.0),
        "urban_mgmt": (2, 50.0),
        "street_office": (2, 50.0),
    }


async def test_settings_rules(arranged: World, client: httpx.AsyncClient) -> None:
    got = await client.get("/v1/metric-settings", headers=arranged.auth("supervisor"))
    assert got.json() == {
        "ranking_min_sample": 10,
        "weights": {"response": 30, "resolution": 35, "satisfaction": 35},
        "hotspot_min_cases": 5,
        "hotspot_window_days": 7,
    }
    bad = await client.put(
        "/v1/metric-settings",
        json={"weights": {"response": 30, "resolution": 30, "satisfaction": 30}},
        headers=arranged.auth("admin"),
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["details"][0]["field"] == "weights"
    assert "100" in bad.json()["error"]["message"] and "90" in bad.json()["error"]["message"]
    assert (
        await client.put(
            "/v1/metric-settings", json={"hotspot_min_cases": 6}, headers=arranged.auth("supervisor")
        )
    ).status_code == 403
    kept = await client.put(
        "/v1/metric-settings", json={"hotspot_window_days": 14}, headers=arranged.auth("admin")
    )
    assert kept.json()["hotspot_window_days"] == 14 and kept.json()["ranking_min_sample"] == 10


async def test_a_department_key_sees_only_its_own(arranged: World, client: httpx.AsyncClient) -> None:
    env = arranged.departments["environment"]
    response = await _get(client, arranged, "dept:environment", group_by="department")
    assert response.status_code == 200
    body = response.json()
    assert [row["code"] for row in body["rows"]] == ["environment"]
    assert body["total"]["counts"] == HAND_DEPARTMENTS["environment"]
    by_category = (await _get(client, arranged, "dept:environment", group_by="category")).json()
    assert {row["code"] for row in by_category["rows"]} == {"environment.noise", "environment"}
    assert by_category["total"]["counts"]["received"] == 3
    explicit = await _get(client, arranged, "dept:environment", department_id=env.id)
    assert explicit.json()["total"]["counts"] == HAND_DEPARTMENTS["environment"]
    other = await _get(
        client, arranged, "dept:environment", department_id=arranged.departments["urban_mgmt"].id
    )
    assert other.status_code == 404
    traced = await _get(client, arranged, "dept:environment", "/v1/metrics/cases", metric="received")
    assert {item["tracking_no"] for item in traced.json()["items"]} == {
        TRACKING[c] for c in ("C3", "C5", "C10")
    }
    for who in ("deputy", "integrator", "dispatcher"):
        assert (await _get(client, arranged, who)).status_code == 403
        assert (await _get(client, arranged, who, "/v1/metrics/cases", metric="received")).status_code == 403


async def test_another_jurisdiction_sees_none_of_it(
    arranged: World, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    from tests.factories import build_world

    other = await build_world(session, code="ML", name="木渎镇")
    await session.commit()
    body = (await _get(client, other, "supervisor", group_by="department")).json()
    assert body["rows"] == [] and body["total"]["counts"]["received"] == 0
    foreign = await _get(client, other, "supervisor", department_id=arranged.departments["environment"].id)
    assert foreign.status_code == 422


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-11-01", "to": "2026-10-01"}, "from"),
        ({"category_code": "nope"}, "category_code"),
        ({"grid_code": "nope"}, "grid_code"),
        ({"group_by": "tier"}, "group_by"),
        ({"from": "1999-12-31"}, "from"),
        ({"to": "2099-12-31"}, "to"),
    ],
)
async def test_bad_queries_are_422_in_chinese(
    params: dict[str, str], field: str, arranged: World, client: httpx.AsyncClient
) -> None:
    response = await client.get(
        "/v1/metrics", params={**PERIOD, **params}, headers=arranged.auth("supervisor")
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert any(field in str(detail.get("field")) for detail in error["details"])


async def _traced(client: httpx.AsyncClient, world: World, **params: object) -> list[dict[str, object]]:
    """Every page, two items at a time."""
    items: list[dict[str, object]] = []
    cursor = None
    while True:
        page = await _get(
            client,
            world,
            "supervisor",
            "/v1/metrics/cases",
            limit=2,
            **params,
            **({"cursor": cursor} if cursor else {}),
        )
        assert page.status_code == 200, page.text
        items += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return items


async def test_the_cases_behind_each_count_add_up_to_it(arranged: World, client: httpx.AsyncClient) -> None:
    for metric in METRIC_COUNTS:
        items = await _traced(client, arranged, metric=metric)
        assert sum(int(item["count"]) for item in items) == HAND_TOTALS[metric], metric  # type: ignore[call-overload]
    on_time = await _traced(client, arranged, metric="replied_on_time")
    assert {item["tracking_no"] for item in on_time} == {
        TRACKING[c] for c in ("C1", "C2", "C4", "C10", "C11")
    }
    ids = [item["id"] for item in on_time]
    assert ids == sorted(ids, reverse=True)


async def test_the_cases_behind_a_row(arranged: World, client: httpx.AsyncClient) -> None:
    street = str(arranged.departments["street_office"].id)
    urban = str(arranged.departments["urban_mgmt"].id)
    assert await _traced(client, arranged, metric="replied_on_time", group_by="department", key=street) == []
    late = await _traced(client, arranged, metric="reply_due", group_by="department", key=street)
    assert [item["tracking_no"] for item in late] == [TRACKING["C3"]]
    assignments = await _traced(client, arranged, metric="assignments", group_by="department", key=urban)
    assert {item["tracking_no"] for item in assignments} == {
        TRACKING[c] for c in ("C1", "C2", "C3", "C4", "C6", "C11")
    }
    c3 = next(item for item in assignments if item["tracking_no"] == TRACKING["C3"])
    assert {d["name"] for d in c3["departments"]} == {"区生态环境局", "双塔街道办事处", "区城管局"}  # type: ignore[attr-defined]
    week = await _traced(client, arranged, metric="received", group_by="week", key="2026-W43")
    assert {item["tracking_no"] for item in week} == {TRACKING[c] for c in ("C5", "C6", "C8", "C10", "C11")}
    none = await _traced(client, arranged, metric="received", group_by="category", key="0")
    assert {item["tracking_no"] for item in none} == {TRACKING["C8"], TRACKING["C9"]}
    bad = await _get(
        client, arranged, "supervisor", "/v1/metrics/cases", metric="received", group_by="week", key="2026-11"
    )
    assert bad.status_code == 422
    unknown = await _get(client, arranged, "supervisor", "/v1/metrics/cases", metric="happiness")
    assert unknown.status_code == 422


async def test_rebuild_marks_every_day_for_the_worker(
    arranged: World, client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    assert (await client.post("/v1/metrics/rebuild", headers=arranged.auth("supervisor"))).status_code == 403
    response = await client.post("/v1/metrics/rebuild", headers=arranged.auth("admin"))
    assert response.status_code == 202
    assert response.json() == {"days": 4}
    assert (await rollup.refresh(engine)).days == 4


@pytest.mark.parametrize(
    ("group_by", "filters"),
    [
        ("department", {"category_code": "urban"}),
        ("department", {"category_code": "environment"}),
        ("department", {"grid_code": "GS-G1"}),
        ("department", {"grid_code": "GS-G2"}),
        ("top_category", {"department_id": "urban_mgmt"}),
        ("grid", {"department_id": "environment"}),
        ("week", {"department_id": "urban_mgmt", "grid_code": "GS-G1"}),
        (None, {"department_id": "environment", "category_code": "environment"}),
    ],
)
async def test_a_department_with_a_category_or_a_grid_reads_the_rollup_and_agrees_with_the_facts(
    group_by: str | None, filters: dict[str, str], arranged: World, client: httpx.AsyncClient
) -> None:
    params: dict[str, object] = dict(filters)
    if "department_id" in params:
        params["department_id"] = arranged.departments[str(params["department_id"])].id
    if group_by is not None:
        params["group_by"] = group_by
    rolled = (await _get(client, arranged, "supervisor", **params)).json()
    counted = (await _get(client, arranged, "supervisor", source="facts", **params)).json()
    assert rolled["source"] == "rollup" and counted["source"] == "facts"
    assert [(row["key"], row["counts"]) for row in rolled["rows"]] == [
        (row["key"], row["counts"]) for row in counted["rows"]
    ]
    assert rolled["total"]["counts"] == counted["total"]["counts"]
    assert any(row["counts"]["received"] for row in rolled["rows"]) or rolled["total"]["counts"]["received"]
