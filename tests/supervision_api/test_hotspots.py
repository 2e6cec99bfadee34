"""Hot spots (热点): detection (threshold, window, top-level grouping, joining, closing, text similarity, one
event per cluster), the worker's job, and GET /v1/hotspots scoped to the jurisdiction or the deputy's grids."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from services import worker
from services.supervision.hotspots import detect as detect_module
from services.supervision.hotspots.detect import detect, detect_all
from shared.db.engine import session_factory
from shared.db.models import (
    Case,
    Grid,
    Hotspot,
    MetricSettings,
    OutboxEvent,
    Station,
    deputy_stations,
    hotspot_cases,
    station_grids,
)
from shared.settings import get_settings
from tests.factories import World, add_deputy, build_world

NOW = datetime.now(UTC).replace(microsecond=0)
TEXT = "平江路垃圾桶满溢三天无人清运，气味很大"
_numbers = itertools.count(1)
EVENT_KEYS = {
    "hotspot_id",
    "jurisdiction",
    "grid_code",
    "category_code",
    "case_count",
    "case_ids",
    "first_case_at",
}


async def _case(
    session: AsyncSession,
    world: World,
    *,
    ago: timedelta = timedelta(hours=1),
    grid: str | None = "G1",
    category: str | None = "urban.sanitation",
    words: list[str] | None = None,
    **fields: object,
) -> Case:
    """A citizen's case received ``ago`` before NOW (flushed), with its search words when given."""
    case = Case(
        jurisdiction_id=world.jurisdiction.id,
        tracking_no=f"{world.jurisdiction.code}-HS-{next(_numbers):05d}",
        access_key_hash="x" * 64,
        description=TEXT,
        title="垃圾桶满溢",
        submitter_phone_enc=b"secret",
        grid_id=world.grids[grid].id if grid else None,
        category_id=world.categories[category].id if category else None,
        created_at=NOW - ago,
        **fields,
    )
    session.add(case)
    await session.flush()
    if words is not None:
        await session.execute(
            text(
                "INSERT INTO case_search_terms (case_id, jurisdiction_id, created_at, terms)"
                " VALUES (:id, :j, :at, array_to_tsvector(CAST(:words AS text[])))"
            ),
            {"id": case.id, "j": case.jurisdiction_id, "at": case.created_at, "words": words},
        )
    return case


async def _cases(session: AsyncSession, world: World, n: int, **fields: object) -> list[Case]:
    return [await _case(session, world, ago=timedelta(hours=n - i), **fields) for i in range(n)]


async def _detect(session: AsyncSession, world: World, now: datetime = NOW):
    done = await detect(session, world.jurisdiction.id, now)
    await session.commit()
    return done


async def _hotspots(session: AsyncSession) -> list[Hotspot]:
    query = select(Hotspot).order_by(Hotspot.id).execution_options(populate_existing=True)
    return list((await session.execute(query)).scalars())


async def _members(session: AsyncSession, hotspot_id: int) -> set[int]:
    rows = await session.execute(
        select(hotspot_cases.c.case_id).where(hotspot_cases.c.hotspot_id == hotspot_id)
    )
    return set(rows.scalars())


async def _events(session: AsyncSession) -> list[OutboxEvent]:
    query = select(OutboxEvent).where(OutboxEvent.type == "hotspot.detected").order_by(OutboxEvent.id)
    return list((await session.execute(query)).scalars())


async def test_five_cases_of_a_grid_and_top_level_category_make_a_hot_spot_four_do_not(session, world):
    # Sub-categories count under their top-level category: 市容环卫 and 城市管理 itself are one matter.
    first = await _cases(session, world, 3, category="urban.sanitation")
    first.append(await _case(session, world, category="urban", ago=timedelta(minutes=30)))
    # Not counted: another grid, another category, no grid, merged, rejected, a deputy's suggestion.
    await _case(session, world, grid="G2")
    await _case(session, world, category="environment.noise")
    await _case(session, world, grid=None)
    await _case(session, world, status="merged")
    await _case(session, world, status="rejected")
    await _case(session, world, kind="deputy_suggestion")
    await session.commit()

    done = await _detect(session, world)
    assert done is not None and not done
    assert await _hotspots(session) == [] and await _events(session) == []

    fifth = await _case(session, world, ago=timedelta(minutes=5))
    await session.commit()
    done = await _detect(session, world)
    assert done is not None and len(done.opened) == 1
    (hotspot,) = await _hotspots(session)
    members = [c.id for c in [*first, fifth]]
    assert (hotspot.status, hotspot.case_count) == ("open", 5)
    assert (hotspot.grid_id, hotspot.category_id) == (world.grids["G1"].id, world.categories["urban"].id)
    assert hotspot.first_case_at == first[0].created_at and hotspot.last_case_at == fifth.created_at
    assert await _members(session, hotspot.id) == set(members)

    (event,) = await _events(session)
    assert event.case_id is None and set(event.payload) == EVENT_KEYS
    assert event.payload == {
        "hotspot_id": hotspot.id,
        "jurisdiction": "GS",
        "grid_code": "GS-G1",
        "category_code": "urban",
        "case_count": 5,
        "case_ids": members,
        "first_case_at": first[0].created_at.isoformat(),
    }


async def test_a_case_older_than_the_window_does_not_count_and_the_settings_decide(session, world):
    await _cases(session, world, 4)
    await _case(session, world, ago=timedelta(days=7, minutes=1))
    await session.commit()
    await _detect(session, world)
    assert await _hotspots(session) == []

    # A jurisdiction's own settings: 3 cases in 2 days.
    session.add(
        MetricSettings(jurisdiction_id=world.jurisdiction.id, hotspot_min_cases=3, hotspot_window_days=2)
    )
    await _case(session, world, grid="G2", ago=timedelta(days=1))
    await _case(session, world, grid="G2", ago=timedelta(days=1))
    await _case(session, world, grid="G2", ago=timedelta(days=3))
    await session.commit()
    await _detect(session, world)
    (hotspot,) = await _hotspots(session)
    # The four recent G1 cases reach 3; G2 has only two within 2 days.
    assert hotspot.grid_id == world.grids["G1"].id and hotspot.case_count == 4


async def test_detection_twice_makes_one_hot_spot_and_one_event(session, world, engine):
    await _cases(session, world, 6)
    await session.commit()
    await _detect(session, world)
    again = await _detect(session, world)
    assert again is not None and not again
    # Two runs at once: one holds the jurisdiction's lock, the other skips it.
    sessions = session_factory(engine)
    async with sessions() as a, sessions() as b, a.begin(), b.begin():
        first = await detect(a, world.jurisdiction.id, NOW)
        second = await detect(b, world.jurisdiction.id, NOW)
    assert first is not None and second is None
    assert len(await _hotspots(session)) == 1 and len(await _events(session)) == 1


async def test_new_cases_join_an_open_hot_spot_which_closes_after_a_quiet_window(session, world):
    await _cases(session, world, 5)
    await session.commit()
    await _detect(session, world)
    (hotspot,) = await _hotspots(session)

    later = NOW + timedelta(days=3)
    joining = await _case(session, world, ago=-timedelta(days=2), category="urban")
    other_grid = await _case(session, world, grid="G2", ago=-timedelta(days=2))
    await session.commit()
    done = await _detect(session, world, later)
    assert done is not None and done.joined == 1 and done.opened == []
    (hotspot,) = await _hotspots(session)
    assert hotspot.case_count == 6 and hotspot.last_case_at == joining.created_at
    assert joining.id in await _members(session, hotspot.id)
    assert other_grid.id not in await _members(session, hotspot.id)
    assert len(await _events(session)) == 1  # joining raises nothing

    # Still open a moment before a whole window without a case, closed after it.
    quiet_until = joining.created_at + timedelta(days=7)
    await _detect(session, world, quiet_until - timedelta(minutes=1))
    assert (await _hotspots(session))[0].status == "open"
    done = await _detect(session, world, quiet_until + timedelta(minutes=1))
    assert done is not None and done.closed == 1
    (hotspot,) = await _hotspots(session)
    assert hotspot.status == "closed" and hotspot.closed_at == quiet_until + timedelta(minutes=1)

    # New cases of the same grid and category start a new cluster (a new event); the old keeps its own.
    fresh_now = quiet_until + timedelta(days=1)
    fresh = [await _case(session, world, ago=NOW - fresh_now + timedelta(hours=i)) for i in range(5)]
    await session.commit()
    await _detect(session, world, fresh_now)
    old, new = await _hotspots(session)
    assert (old.status, old.case_count, new.status) == ("closed", 6, "open")
    assert await _members(session, new.id) == {c.id for c in fresh}
    assert len(await _events(session)) == 2


async def test_cases_of_another_or_no_category_join_when_their_text_is_very_similar(session, world):
    words = ["平江", "垃圾", "垃圾桶", "满溢", "无人", "清运", "气味", "很大"]
    await _cases(session, world, 5, words=words)
    unclassified = await _case(
        session, world, category=None, words=["平江", "垃圾", "垃圾桶", "几天", "清运", "臭味", "很大"]
    )
    misfiled = await _case(
        session, world, category="environment.noise", words=["垃圾", "垃圾桶", "满溢", "清运"]
    )
    unlike = await _case(session, world, category=None, words=["十全", "夜间", "施工", "噪声", "扰民"])
    few_shared = await _case(session, world, category=None, words=["平江", "垃圾"])
    elsewhere = await _case(session, world, grid="G2", category=None, words=words)
    await session.commit()
    done = await _detect(session, world)
    assert done is not None and done.joined_by_text == 2
    (hotspot,) = await _hotspots(session)
    members = await _members(session, hotspot.id)
    assert {unclassified.id, misfiled.id} <= members and hotspot.case_count == 7
    assert not {unlike.id, few_shared.id, elsewhere.id} & members


async def test_the_worker_job_detects_at_start(engine, session, world):
    await _cases(session, world, 5)
    await session.commit()
    stop = asyncio.Event()
    job = asyncio.create_task(worker.run_hotspot_detection(engine, get_settings(), stop))
    try:
        for _ in range(100):
            if await session.scalar(select(func.count()).select_from(Hotspot)):
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.wait_for(job, timeout=10)
    assert len(await _hotspots(session)) == 1


async def test_detect_all_covers_every_jurisdiction_whatever_befalls_one(engine, session, world, monkeypatch):
    other = await build_world(session, code="XC", name="相城区")
    await _cases(session, world, 5)
    await _cases(session, other, 5)
    await session.commit()
    real = detect_module.detect

    async def failing_first(session: AsyncSession, jurisdiction_id: int, now: datetime):
        if jurisdiction_id == world.jurisdiction.id:
            raise OperationalError("SELECT", {}, Exception("lock timeout"))
        return await real(session, jurisdiction_id, now)

    monkeypatch.setattr(detect_module, "detect", failing_first)
    changed = await detect_all(session_factory(engine), NOW)
    assert set(changed) == {other.jurisdiction.id}
    monkeypatch.setattr(detect_module, "detect", real)
    changed = await detect_all(session_factory(engine), NOW)
    assert set(changed) == {world.jurisdiction.id}


# --- GET /v1/hotspots -----------------------------------------------------------------------------------


async def _far_station(session: AsyncSession, world: World) -> str:
    """A station serving only grid G3, with a deputy sitting there; returns the deputy's key name."""
    grid = Grid(jurisdiction_id=world.jurisdiction.id, code="GS-G3", name="G3网格")
    station = Station(jurisdiction_id=world.jurisdiction.id, name="观前街道代表联络站", kind="station")
    session.add_all([grid, station])
    await session.flush()
    world.grids["G3"] = grid
    await session.execute(insert(station_grids).values(station_id=station.id, grid_id=grid.id))
    far = await add_deputy(session, world, "赵代表", key="deputy:far")
    await session.execute(insert(deputy_stations).values(deputy_id=far.id, station_id=station.id))
    return "deputy:far"


async def test_listing_for_staff_and_the_deputies_of_the_grid(client, session, world):
    far = await _far_station(session, world)
    other = await build_world(session, code="XC", name="相城区")
    g1 = await _cases(session, world, 5)
    await _cases(session, world, 5, grid="G2", category="environment.noise")
    await _cases(session, world, 5, grid="G3")
    await _cases(session, other, 5)
    await session.commit()
    await _detect(session, world)
    await _detect(session, other)
    g1_spot, g2_spot, g3_spot = (
        h for h in await _hotspots(session) if h.jurisdiction_id == world.jurisdiction.id
    )

    for role in ("supervisor", "admin"):
        response = await client.get("/v1/hotspots", headers=world.auth(role))
        assert response.status_code == 200, response.text
        assert [h["id"] for h in response.json()["items"]] == [g3_spot.id, g2_spot.id, g1_spot.id]
    for role in ("dispatcher", "integrator", "dept:urban_mgmt"):
        assert (await client.get("/v1/hotspots", headers=world.auth(role))).status_code == 403
    assert (await client.get("/v1/hotspots")).status_code == 401

    # The world's deputy sits in the station serving G1 and G2; the far deputy in G3's.
    mine = (await client.get("/v1/hotspots", headers=world.auth("deputy"))).json()["items"]
    assert [h["id"] for h in mine] == [g2_spot.id, g1_spot.id]
    theirs = (await client.get("/v1/hotspots", headers=world.auth(far))).json()["items"]
    assert [h["id"] for h in theirs] == [g3_spot.id]
    assert (await client.get(f"/v1/hotspots/{g1_spot.id}", headers=world.auth(far))).status_code == 404
    other_spot = (await client.get("/v1/hotspots", headers=other.auth("supervisor"))).json()["items"][0]
    response = await client.get(f"/v1/hotspots/{other_spot['id']}", headers=world.auth("supervisor"))
    assert response.status_code == 404 and response.json()["error"]["code"] == "hotspot_not_found"

    one = (await client.get(f"/v1/hotspots/{g1_spot.id}", headers=world.auth("deputy"))).json()
    assert one["grid"] == {"code": "GS-G1", "name": "G1网格"}
    assert one["category"] == {"code": "urban", "name": "城市管理"}
    assert (one["status"], one["status_label"], one["case_count"]) == ("open", "持续反映中", 5)
    assert one["suggestion"] is None and one["converted_at"] is None
    assert [c["id"] for c in one["cases"]] == [c.id for c in g1]
    assert set(one["cases"][0]) == {"id", "tracking_no", "received_at", "status", "status_label", "title"}
    assert TEXT not in str(one) and "secret" not in str(one)

    # Filters: grid, category (a sub-category names its top-level one), status; and pages.
    def ids(response):
        return [h["id"] for h in response.json()["items"]]

    staff = world.auth("supervisor")
    assert ids(await client.get("/v1/hotspots?grid_code=GS-G2", headers=staff)) == [g2_spot.id]
    by_sub = await client.get("/v1/hotspots?category_code=urban.sanitation", headers=staff)
    assert ids(by_sub) == [g3_spot.id, g1_spot.id]
    assert ids(await client.get("/v1/hotspots?category_code=nothing", headers=staff)) == []
    assert ids(await client.get("/v1/hotspots?status=closed", headers=staff)) == []
    assert (await client.get("/v1/hotspots?status=gone", headers=staff)).status_code == 422
    first_page = (await client.get("/v1/hotspots?limit=2", headers=staff)).json()
    assert [h["id"] for h in first_page["items"]] == [g3_spot.id, g2_spot.id]
    rest = await client.get(f"/v1/hotspots?limit=2&cursor={first_page['next_cursor']}", headers=staff)
    assert ids(rest) == [g1_spot.id] and rest.json()["next_cursor"] is None


async def test_a_converted_hot_spot_names_its_suggestion(client, session, world):
    await _cases(session, world, 5)
    await session.commit()
    await _detect(session, world)
    (hotspot,) = await _hotspots(session)
    suggestion = await _case(session, world, kind="deputy_suggestion", deputy_id=world.deputy.id)
    hotspot.status, hotspot.suggestion_id, hotspot.converted_at = "converted", suggestion.id, NOW
    await session.commit()

    response = await client.get("/v1/hotspots?status=converted", headers=world.auth("deputy"))
    (item,) = response.json()["items"]
    assert item["suggestion"] == {"id": suggestion.id, "tracking_no": suggestion.tracking_no}
    assert (item["status"], item["status_label"]) == ("converted", "已形成代表建议")
    # Its cases stay its own: the next run neither moves them nor opens another hot spot with them.
    await _case(session, world, ago=timedelta(minutes=1))
    await session.commit()
    await _detect(session, world)
    assert [h.id for h in await _hotspots(session)] == [hotspot.id]
