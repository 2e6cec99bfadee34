"""GET /v1/assignments filters, and the sync feed GET /v1/assignments/sync that never misses a change."""

from __future__ import annotations

import asyncio
import base64
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text, update

from shared.db.models import Assignment, Case, Deadline
from tests.routing_api.conftest import dispatched_case

# --- filters -----------------------------------------------------------------------------------------------


async def _ids(client, auth, **params) -> list[int]:
    response = await client.get("/v1/assignments", params=params, headers=auth)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def _deadline(case, assignment, due_at: datetime, **fields) -> Deadline:
    return Deadline(
        jurisdiction_id=case.jurisdiction_id,
        case_id=case.id,
        assignment_id=assignment.id,
        kind=fields.pop("kind", "reply"),
        starts_at=due_at - timedelta(days=5),
        due_at=due_at,
        **fields,
    )


async def _urban_mgmt_world(session, client, world):
    """urban_mgmt is co on an environment case (G1), lead on an urban case (G1), lead on an urban.sanitation
    case (G2) and lead on an urban case it has replied to (with an overdue-looking but met deadline)."""
    env_case, env = await dispatched_case(session, client, world, category="environment", grid="G1")
    urban_case, urban = await dispatched_case(session, client, world, category="urban", grid="G1")
    sanitation_case, sanitation = await dispatched_case(
        session, client, world, category="urban.sanitation", grid="G2"
    )
    done_case, done = await dispatched_case(session, client, world, category="urban", grid="G1")
    now = datetime.now(UTC)
    session.add_all(
        [
            _deadline(urban_case, urban["urban_mgmt"], now - timedelta(hours=1)),
            # An earlier round's deadline, superseded: not the one in force.
            _deadline(sanitation_case, sanitation["urban_mgmt"], now - timedelta(days=9), superseded_at=now),
            _deadline(sanitation_case, sanitation["urban_mgmt"], now + timedelta(days=2), round=1),
            _deadline(done_case, done["urban_mgmt"], now - timedelta(days=1), met_at=now - timedelta(days=2)),
            # Not a reply deadline.
            _deadline(env_case, env["urban_mgmt"], now - timedelta(days=1), kind="co_opinion"),
        ]
    )
    await session.execute(
        update(Assignment).where(Assignment.id == done["urban_mgmt"].id).values(status="replied")
    )
    await session.execute(
        update(Case)
        .where(Case.id == sanitation_case.id)
        .values(category_source="system", classification_score=0.83)
    )
    await session.commit()
    return {
        "co": env["urban_mgmt"].id,
        "overdue": urban["urban_mgmt"].id,
        "due_soon": sanitation["urban_mgmt"].id,
        "replied": done["urban_mgmt"].id,
    }


async def test_each_filter_narrows_the_list(session, client, world):
    a = await _urban_mgmt_world(session, client, world)
    auth = world.auth("dept:urban_mgmt")
    now = datetime.now(UTC)
    newest_first = [a["replied"], a["due_soon"], a["overdue"], a["co"]]
    assert await _ids(client, auth) == newest_first
    assert await _ids(client, auth, role="co") == [a["co"]]
    assert await _ids(client, auth, role="lead") == [a["replied"], a["due_soon"], a["overdue"]]
    assert await _ids(client, auth, status="replied") == [a["replied"]]
    assert await _ids(client, auth, category_code="urban") == [a["replied"], a["due_soon"], a["overdue"]]
    assert await _ids(client, auth, category_code="urban.sanitation") == [a["due_soon"]]
    assert await _ids(client, auth, category_code="environment") == [a["co"]]
    assert await _ids(client, auth, grid_code="GS-G2") == [a["due_soon"]]
    assert await _ids(client, auth, overdue="true") == [a["overdue"]]
    assert await _ids(client, auth, overdue="false") == [a["replied"], a["due_soon"], a["co"]]
    in_a_day = (now + timedelta(days=1)).isoformat()
    in_three_days = (now + timedelta(days=3)).isoformat()
    assert await _ids(client, auth, due_before=in_a_day) == [a["overdue"]]
    assert await _ids(client, auth, due_before=in_three_days) == [a["due_soon"], a["overdue"]]
    assert await _ids(client, auth, due_before=in_three_days, grid_code="GS-G1") == [a["overdue"]]
    assert await _ids(client, auth, role="lead", overdue="false", category_code="urban") == [
        a["replied"],
        a["due_soon"],
    ]


async def test_filters_page_with_the_cursor(session, client, world):
    a = await _urban_mgmt_world(session, client, world)
    auth = world.auth("dept:urban_mgmt")
    first = (await client.get("/v1/assignments?role=lead&limit=2", headers=auth)).json()
    assert [i["id"] for i in first["items"]] == [a["replied"], a["due_soon"]]
    rest = (
        await client.get(f"/v1/assignments?role=lead&limit=2&cursor={first['next_cursor']}", headers=auth)
    ).json()
    assert [i["id"] for i in rest["items"]] == [a["overdue"]] and rest["next_cursor"] is None


async def test_the_brief_tells_who_classified_the_case(session, client, world):
    a = await _urban_mgmt_world(session, client, world)
    items = (await client.get("/v1/assignments", headers=world.auth("dept:urban_mgmt"))).json()["items"]
    briefs = {i["id"]: i["case"] for i in items}
    assert (briefs[a["due_soon"]]["category_source"], briefs[a["due_soon"]]["classification_score"]) == (
        "system",
        0.83,
    )
    # Whatever dispatch recorded for the others (a citizen's own choice), the brief shows it as it is.
    env_case = await session.scalar(select(Case).join(Assignment).where(Assignment.id == a["co"]))
    assert briefs[a["co"]]["category_source"] == env_case.category_source
    assert briefs[a["co"]]["classification_score"] == env_case.classification_score
    detail = (
        await client.get(f"/v1/assignments/{a['due_soon']}", headers=world.auth("dept:urban_mgmt"))
    ).json()
    assert detail["case"]["category_source"] == "system" and detail["case"]["classification_score"] == 0.83


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("category_code=nothing", "category_code", "问题分类“nothing”不存在"),
        ("grid_code=GS-G9", "grid_code", "网格“GS-G9”不存在"),
        ("category_code=%E5%9F%8E%E7%AE%A1", "category_code", None),  # not a code at all
        ("role=boss", "role", None),
        ("overdue=maybe", "overdue", None),
        ("due_before=2027-01-01T00:00:00", "due_before", "时间须带时区"),
        ("status=lost", "status", None),
    ],
)
async def test_bad_filters_are_422_in_chinese(session, client, world, query, field, message):
    response = await client.get(f"/v1/assignments?{query}", headers=world.auth("dept:urban_mgmt"))
    assert response.status_code == 422, response.text
    details = response.json()["error"]["details"]
    assert [d["field"] for d in details] == [field]
    if message:
        assert details[0]["message"] == message


async def test_another_jurisdictions_codes_are_unknown_here(session, client, world):
    from tests.factories import build_world

    other = await build_world(session, code="XC", name="相城区")
    await session.commit()
    response = await client.get("/v1/assignments?grid_code=GS-G1", headers=other.auth("dept:urban_mgmt"))
    assert response.status_code == 422


# --- the sync feed -----------------------------------------------------------------------------------------


async def _sync(client, auth, cursor: str | None = None, limit: int | None = None) -> dict:
    params: dict[str, str | int] = {}
    if cursor is not None:
        params["cursor"] = cursor
    if limit is not None:
        params["limit"] = limit
    response = await client.get("/v1/assignments/sync", params=params, headers=auth)
    assert response.status_code == 200, response.text
    page = response.json()
    assert isinstance(page["next_cursor"], str) and page["next_cursor"]
    return page


async def _sync_until(
    client, auth, cursor: str | None, expected: set[int], seconds: float = 30
) -> tuple[list[int], str]:
    """Reads the feed from ``cursor`` until every expected id has come. A transaction running elsewhere on the
    same server (another test database) holds the feed back until it ends, so the wait is bounded, not zero."""
    seen: list[int] = []
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        page = await _sync(client, auth, cursor)
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if page["has_more"]:
            continue
        if expected <= set(seen) or asyncio.get_running_loop().time() > deadline:
            return seen, cursor
        await asyncio.sleep(0.05)


def _position(cursor: str) -> tuple[int, int]:
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    _, xid, assignment_id = raw.split(":")
    return int(xid), int(assignment_id)


async def test_the_feed_returns_changes_in_order_and_always_a_cursor(session, client, world):
    _, first = await dispatched_case(session, client, world, category="urban")
    _, second = await dispatched_case(session, client, world, category="urban")
    auth = world.auth("dept:urban_mgmt")
    ids = [first["urban_mgmt"].id, second["urban_mgmt"].id]
    seen, cursor = await _sync_until(client, auth, None, set(ids))
    assert seen == ids  # in the order they were written
    idle = await _sync(client, auth, cursor)
    assert idle == {"items": [], "next_cursor": cursor, "has_more": False}

    # Accepting the first brings it back, alone, and moves the cursor past it.
    await client.post(f"/v1/assignments/{ids[0]}/accept", headers=auth)
    seen, after = await _sync_until(client, auth, cursor, {ids[0]})
    assert seen == [ids[0]] and _position(after) > _position(cursor)


async def test_the_feed_pages_with_has_more(session, client, world):
    ids = []
    for _ in range(3):
        _, assignments = await dispatched_case(session, client, world, category="urban")
        ids.append(assignments["urban_mgmt"].id)
    auth = world.auth("dept:urban_mgmt")
    await _sync_until(client, auth, None, set(ids))  # until nothing holds the feed back
    one = await _sync(client, auth, limit=2)
    assert [i["id"] for i in one["items"]] == ids[:2] and one["has_more"] is True
    two = await _sync(client, auth, one["next_cursor"], limit=2)
    assert [i["id"] for i in two["items"]] == ids[2:] and two["has_more"] is False


async def test_a_change_by_another_unit_on_the_case_comes_back(session, client, world):
    _, assignments = await dispatched_case(session, client, world, category="environment", grid="G1")
    lead, co = assignments["environment"], assignments["urban_mgmt"]
    lead_auth, co_auth = world.auth("dept:environment"), world.auth("dept:urban_mgmt")
    _, cursor = await _sync_until(client, lead_auth, None, {lead.id})
    await client.post(f"/v1/assignments/{co.id}/accept", headers=co_auth)
    seen, _ = await _sync_until(client, lead_auth, cursor, {lead.id})
    assert seen == [lead.id]  # the co-handler's acceptance is on the lead's case timeline
    others = (await _sync(client, world.auth("dept:street_office")))["items"]
    assert others == []


async def test_the_feed_never_skips_a_change_committed_while_it_is_read(session, client, world, engine):
    _, first = await dispatched_case(session, client, world, category="urban")
    _, second = await dispatched_case(session, client, world, category="urban")
    auth = world.auth("dept:urban_mgmt")
    early, late = first["urban_mgmt"].id, second["urban_mgmt"].id
    _, cursor = await _sync_until(client, auth, None, {early, late})

    async with engine.connect() as other:
        # A slow transaction changes the older assignment and has not committed yet.
        await other.execute(
            update(Assignment).where(Assignment.id == early).values(updated_at=datetime.now(UTC))
        )
        running_xid = (await other.execute(text("SELECT pg_current_xact_id()::text::bigint"))).scalar_one()
        # Meanwhile a quick one changes the newer assignment and commits.
        await client.post(f"/v1/assignments/{late}/accept", headers=auth)
        page = await _sync(client, auth, cursor)
        assert early not in [item["id"] for item in page["items"]]
        # Whatever came, the cursor stays behind the uncommitted change: it cannot be stepped over.
        assert _position(page["next_cursor"])[0] < running_xid
        cursor = page["next_cursor"]
        await other.commit()

    seen, _ = await _sync_until(client, auth, cursor, {early, late})
    assert early in seen and late in seen


@pytest.mark.parametrize("cursor", ["abc", "aWQ6MQ", base64.urlsafe_b64encode(b"sync:1").decode(), "%ZZ"])
async def test_a_bad_sync_cursor_is_422(session, client, world, cursor):
    response = await client.get(
        "/v1/assignments/sync", params={"cursor": cursor}, headers=world.auth("dept:urban_mgmt")
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "cursor"


async def test_the_sync_path_is_not_an_assignment_id_and_needs_a_department_key(session, client, world):
    assert (await client.get("/v1/assignments/sync", headers=world.auth("admin"))).status_code == 403
    assert (await client.get("/v1/assignments/sync")).status_code == 401
    assert (
        await client.get("/v1/assignments/sync?limit=501", headers=world.auth("dept:urban_mgmt"))
    ).status_code == 422
