"""The due-date helper, the working-day overrides and the tier policies over HTTP."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import World, build_world

SEPT_30 = "2026-09-30T10:00:00+08:00"


async def _due(
    client: httpx.AsyncClient, world: World, who: str = "integrator", **params: str
) -> httpx.Response:
    return await client.get("/v1/calendar/due", params=params, headers=world.auth(who))


async def test_due_counts_working_days_across_national_day(client: httpx.AsyncClient, world: World) -> None:
    response = await _due(client, world, **{"from": SEPT_30, "tier": "week"})
    assert response.status_code == 200
    assert response.json() == {
        "due_at": "2026-10-13T10:00:00+08:00",
        "tier": "week",
        "from": "2026-09-30T10:00:00+08:00",
        "assumed": False,
        "assumed_days": [],
    }
    # Any valid key may ask; the start may come in any offset and is answered in Shanghai time.
    utc = await _due(client, world, "dept:urban_mgmt", **{"from": "2026-09-30T02:00:00Z", "tier": "week"})
    assert utc.status_code == 200
    assert utc.json()["due_at"] == "2026-10-13T10:00:00+08:00"
    assert utc.json()["from"] == "2026-09-30T10:00:00+08:00"


async def test_due_refuses_bad_input_field_by_field(client: httpx.AsyncClient, world: World) -> None:
    unknown = await _due(client, world, **{"from": SEPT_30, "tier": "fortnight"})
    assert unknown.status_code == 422
    assert unknown.json()["error"]["details"] == [{"field": "tier", "message": "未知的时限档次“fortnight”"}]
    naive = await _due(client, world, **{"from": "2026-09-30T10:00:00", "tier": "week"})
    assert naive.status_code == 422
    assert naive.json()["error"]["details"][0]["field"] == "from"
    garbage = await _due(client, world, **{"from": "yesterday", "tier": "week"})
    assert garbage.status_code == 422
    missing = await _due(client, world, tier="week")
    assert missing.status_code == 422 and missing.json()["error"]["details"][0]["field"] == "from"
    far = await _due(client, world, **{"from": "9999-12-31T10:00:00+08:00", "tier": "month"})
    assert far.status_code == 422
    anonymous = await client.get("/v1/calendar/due", params={"from": SEPT_30, "tier": "week"})
    assert anonymous.status_code == 401


async def test_an_override_moves_the_due_date_and_only_in_its_jurisdiction(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    other = await build_world(session, code="XC", name="相城区")
    await session.commit()
    put = await client.put(
        "/v1/calendar/overrides",
        json={"items": [{"date": "2026-10-12", "is_workday": False, "note": "区里调休"}]},
        headers=world.auth("admin"),
    )
    assert put.status_code == 200
    assert put.json() == {
        "items": [{"date": "2026-10-12", "is_workday": False, "note": "区里调休", "source": "local"}]
    }

    moved = await _due(client, world, **{"from": SEPT_30, "tier": "week"})
    assert moved.json()["due_at"] == "2026-10-14T10:00:00+08:00"
    unmoved = await _due(client, other, **{"from": SEPT_30, "tier": "week"})
    assert unmoved.json()["due_at"] == "2026-10-13T10:00:00+08:00"
    listed = await client.get("/v1/calendar/overrides", headers=other.auth("admin"))
    assert listed.json() == {"items": []}

    deleted = await client.delete("/v1/calendar/overrides/2026-10-12", headers=world.auth("admin"))
    assert deleted.status_code == 204
    restored = await _due(client, world, **{"from": SEPT_30, "tier": "week"})
    assert restored.json()["due_at"] == "2026-10-13T10:00:00+08:00"
    again = await client.delete("/v1/calendar/overrides/2026-10-12", headers=world.auth("admin"))
    assert again.status_code == 404


async def test_overrides_cover_years_the_national_data_does_not(
    client: httpx.AsyncClient, world: World
) -> None:
    friday = {"from": "2027-01-01T09:00:00+08:00", "tier": "immediate"}
    assumed = await _due(client, world, **friday)
    assert assumed.json()["due_at"] == "2027-01-04T09:00:00+08:00"
    assert assumed.json()["assumed"] is True
    assert "2027-01-04" in assumed.json()["assumed_days"]

    items = [
        {"date": "2027-01-04", "is_workday": False, "note": "元旦调休"},
        {"date": "2026-12-31", "is_workday": True, "note": None},
    ]
    response = await client.put("/v1/calendar/overrides", json={"items": items}, headers=world.auth("admin"))
    assert [i["date"] for i in response.json()["items"]] == ["2026-12-31", "2027-01-04"]  # sorted by date
    decided = await _due(client, world, **friday)
    assert decided.json()["due_at"] == "2027-01-05T09:00:00+08:00"
    assert "2027-01-04" not in decided.json()["assumed_days"]

    # Upsert: the same date again replaces its status and note.
    changed = await client.put(
        "/v1/calendar/overrides",
        json={"items": [{"date": "2027-01-04", "is_workday": True, "note": "照常上班"}]},
        headers=world.auth("admin"),
    )
    assert changed.status_code == 200
    only_2027 = await client.get("/v1/calendar/overrides", params={"year": 2027}, headers=world.auth("admin"))
    assert only_2027.json() == {
        "items": [{"date": "2027-01-04", "is_workday": True, "note": "照常上班", "source": "local"}]
    }


async def test_overrides_validation_and_roles(client: httpx.AsyncClient, world: World) -> None:
    admin = world.auth("admin")
    duplicate = await client.put(
        "/v1/calendar/overrides",
        json={
            "items": [{"date": "2027-01-04", "is_workday": False}, {"date": "2027-01-04", "is_workday": True}]
        },
        headers=admin,
    )
    assert duplicate.status_code == 422
    assert duplicate.json()["error"]["details"] == [
        {"field": "items", "message": "日期 2027-01-04 出现了多次"}
    ]
    long_note = await client.put(
        "/v1/calendar/overrides",
        json={"items": [{"date": "2027-01-04", "is_workday": False, "note": "长" * 101}]},
        headers=admin,
    )
    assert long_note.status_code == 422
    assert long_note.json()["error"]["details"][0]["field"] == "items.0.note"
    bad_date = await client.put(
        "/v1/calendar/overrides", json={"items": [{"date": "2027-02-30", "is_workday": False}]}, headers=admin
    )
    assert bad_date.status_code == 422
    for who in ("supervisor", "integrator"):
        assert (await client.get("/v1/calendar/overrides", headers=world.auth(who))).status_code == 403
    assert (await client.get("/v1/calendar/overrides")).status_code == 401
    assert (
        await client.get("/v1/calendar/overrides", headers={"Authorization": "Bearer mk_x_y"})
    ).status_code == 401


async def test_policies_list_every_tier_and_can_be_changed(client: httpx.AsyncClient, world: World) -> None:
    admin = world.auth("admin")
    listed = (await client.get("/v1/sla-policies", headers=admin)).json()["items"]
    week = next(p for p in listed if p["tier"] == "week")
    assert week == {
        "tier": "week",
        "label": "即收周办",
        "duration": {"working_days": 5},
        "default_duration": {"working_days": 5},
        "is_default": True,
    }
    assert {p["tier"] for p in listed} >= {
        "immediate",
        "week",
        "month",
        "accept",
        "decline",
        "rating",
        "rework",
    }

    put = await client.put(
        "/v1/sla-policies", json={"items": [{"tier": "week", "duration": {"working_days": 3}}]}, headers=admin
    )
    assert put.status_code == 200
    week = next(p for p in put.json()["items"] if p["tier"] == "week")
    assert (week["duration"], week["is_default"]) == ({"working_days": 3}, False)
    due = await _due(client, world, **{"from": SEPT_30, "tier": "week"})
    assert due.json()["due_at"] == "2026-10-10T10:00:00+08:00"  # 08, 09 and the make-up Saturday

    seconds = await client.put(
        "/v1/sla-policies", json={"items": [{"tier": "immediate", "duration": {"seconds": 5}}]}, headers=admin
    )
    assert seconds.status_code == 200
    drill = await _due(client, world, **{"from": SEPT_30, "tier": "immediate"})
    assert drill.json()["due_at"] == "2026-09-30T10:00:05+08:00"

    reset = await client.put(
        "/v1/sla-policies", json={"items": [{"tier": "week", "duration": None}]}, headers=admin
    )
    week = next(p for p in reset.json()["items"] if p["tier"] == "week")
    assert (week["duration"], week["is_default"]) == ({"working_days": 5}, True)


async def test_policy_validation_speaks_chinese_and_changes_nothing(
    client: httpx.AsyncClient, world: World
) -> None:
    admin = world.auth("admin")
    cases = [
        ({"working_days": 0}, "时限数值须为正数"),
        ({"working_days": 2.5}, "工作日数须为整数"),
        ({"months": 1.5}, "月数须为整数"),
        ({"weeks": 1}, "未知的时限单位“weeks”，应为 working_days、days、months、hours 或 seconds"),
        ({"days": 1, "hours": 2}, "时限须且只能包含一个单位：working_days、days、months、hours 或 seconds"),
        ({"working_days": "5"}, "时限数值须为正数"),
        ({"working_days": 100_000_000}, "时限过长：最多 500 个工作日"),
    ]
    for duration, message in cases:
        response = await client.put(
            "/v1/sla-policies",
            json={
                "items": [
                    {"tier": "month", "duration": {"months": 2}},
                    {"tier": "week", "duration": duration},
                ]
            },
            headers=admin,
        )
        assert response.status_code == 422, duration
        assert response.json()["error"]["details"] == [{"field": "items.1.duration", "message": message}]
    unknown = await client.put(
        "/v1/sla-policies", json={"items": [{"tier": "fortnight", "duration": {"days": 14}}]}, headers=admin
    )
    assert unknown.json()["error"]["details"] == [
        {"field": "items.0.tier", "message": "未知的时限档次“fortnight”"}
    ]
    listed = (await client.get("/v1/sla-policies", headers=admin)).json()["items"]
    assert all(p["is_default"] for p in listed)  # the valid month item was not saved either
    assert (await client.get("/v1/sla-policies", headers=world.auth("supervisor"))).status_code == 403
