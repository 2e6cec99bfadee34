"""Loading a year's official schedule: deadlines counted on assumed days are recomputed, re-imports replace only
the official days, bad files are refused line by line, /readyz and the worker say when a year is missing, and
the CLI does what the API does.

The 2027 schedules here are made up for the tests: the State Council's 2027 notice is not known to this code.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from typer.testing import CliRunner, Result

from services import worker
from services.cli import app as cli_app
from services.supervision.calendar_schedule import parse_csv
from services.supervision.calendar_years import load_year
from shared.calendar import WorkCalendar
from shared.db.models import Case, Deadline, OutboxEvent
from supervision_api.app import create_app
from tests.asgi import client_for, running
from tests.factories import World, build_world
from tests.supervision_api.arrange import SHANGHAI, deliver, dispatched_case

ROOT = Path(__file__).resolve().parents[2]
# A Monday: five working days on end at Monday 2027-01-04 if 2027-01-01 (a Friday) is assumed to be worked.
DEC_28 = datetime(2026, 12, 28, 10, 0, tzinfo=SHANGHAI)
NEW_YEAR_2027 = {
    "source": "测试用日程",
    "days": [
        {"date": "2027-01-01", "kind": "holiday", "name": "元旦"},
        {"date": "2027-01-02", "kind": "holiday", "name": "元旦"},
        {"date": "2027-01-03", "kind": "holiday", "name": "元旦"},
        {"date": "2027-01-10", "kind": "workday", "name": "元旦调休上班"},  # a Sunday
    ],
}
NEW_YEAR_2027_CSV = """# made up for the tests
date,kind,name
2027-01-01,holiday,元旦
2027-01-02,holiday,元旦
2027-01-03,holiday,元旦
2027-01-10,workday,元旦调休上班
"""


async def _deadlines(client: httpx.AsyncClient, world: World, case: Case) -> dict[str, dict[str, Any]]:
    response = await client.get(f"/v1/cases/{case.id}", headers=world.auth("supervisor"))
    assert response.status_code == 200
    return {d["kind"]: d for d in response.json()["deadlines"] if d["assignment_id"] is not None}


async def _deadline_changes(session: AsyncSession, case: Case) -> list[dict[str, Any]]:
    rows = await session.scalars(
        select(OutboxEvent.payload)
        .where(OutboxEvent.case_id == case.id, OutboxEvent.type == "case.deadline_changed")
        .order_by(OutboxEvent.id)
    )
    return list(rows)


async def _assumed_case(client: httpx.AsyncClient, session: AsyncSession, world: World, **kw: Any) -> Case:
    case = await dispatched_case(session, world, at=DEC_28, **kw)
    assert (await deliver(client, session, case, "case.dispatched")).status_code == 200
    return case


async def test_loading_a_year_recomputes_the_deadlines_counted_on_assumed_days(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    case = await _assumed_case(client, session, world)
    before = await _deadlines(client, world, case)
    assert before["reply"]["due_at"] == "2027-01-04T02:00:00Z"
    assert before["reply"]["assumed"] is True
    # Windows that end in 2026 counted no assumed day.
    assert (before["accept"]["assumed"], before["decline"]["assumed"]) == (False, False)
    preview = await client.get(
        "/v1/calendar/due",
        params={"from": "2026-12-28T10:00:00+08:00", "tier": "week"},
        headers=world.auth("integrator"),
    )
    assert preview.json()["assumed"] is True and preview.json()["due_at"] == "2027-01-04T10:00:00+08:00"
    # Its due-soon alarm was raised on the assumed due time: moving the deadline later re-arms it.
    await session.execute(
        update(Deadline)
        .where(Deadline.case_id == case.id, Deadline.kind == "reply")
        .values(due_soon_raised_at=datetime.now(UTC))
    )
    await session.commit()
    years = (await client.get("/v1/calendar/years", headers=world.auth("admin"))).json()
    assert [(y["year"], y["status"]) for y in years["items"]] == [(2026, "national"), (2027, "assumed")]
    assert years["assumed_deadlines"] == 1

    put = await client.put("/v1/calendar/years/2027", json=NEW_YEAR_2027, headers=world.auth("admin"))
    assert put.status_code == 200, put.text
    loaded = put.json()
    assert loaded["year"]["status"] == "loaded" and loaded["year"]["source"] == "测试用日程"
    assert (loaded["year"]["holidays"], loaded["year"]["workdays"]) == (3, 1)
    assert loaded["year"]["loaded_by"].startswith("api_key:")
    assert (loaded["deadlines_recomputed"], loaded["deadlines_changed"]) == (1, 1)
    assert loaded["deadlines_still_assumed"] == 0

    after = await _deadlines(client, world, case)
    assert after["reply"]["due_at"] == "2027-01-05T02:00:00Z"  # 01-01 is a holiday now
    assert after["reply"]["assumed"] is False
    assert after["accept"] == before["accept"] and after["decline"] == before["decline"]
    [change] = await _deadline_changes(session, case)
    reply_id = await session.scalar(
        select(Deadline.id).where(Deadline.case_id == case.id, Deadline.kind == "reply")
    )
    assert change["case_id"] == case.id and change["deadline_id"] == reply_id
    assert change["kind"] == "reply" and change["assumed"] is False
    assert datetime.fromisoformat(change["old_due_at"]) == datetime(2027, 1, 4, 10, tzinfo=SHANGHAI)
    assert datetime.fromisoformat(change["new_due_at"]) == datetime(2027, 1, 5, 10, tzinfo=SHANGHAI)
    row = (await session.execute(select(Deadline).where(Deadline.id == reply_id))).scalar_one()
    assert row.due_soon_raised_at is None  # re-armed
    assert row.overdue_at == datetime(2027, 1, 5, 10, tzinfo=SHANGHAI)  # the trigger followed the due time
    # Loading again changes nothing more.
    again = await client.put("/v1/calendar/years/2027", json=NEW_YEAR_2027, headers=world.auth("admin"))
    assert (again.json()["deadlines_recomputed"], again.json()["deadlines_changed"]) == (0, 0)
    assert len(await _deadline_changes(session, case)) == 1

    # The make-up Sunday counts: one working day from Friday 2027-01-08 ends on it.
    sunday = await client.get(
        "/v1/calendar/due",
        params={"from": "2027-01-08T09:00:00+08:00", "tier": "immediate"},
        headers=world.auth("integrator"),
    )
    assert sunday.json()["due_at"] == "2027-01-10T09:00:00+08:00"
    assert sunday.json()["assumed"] is False and sunday.json()["assumed_days"] == []
    years = (await client.get("/v1/calendar/years", headers=world.auth("admin"))).json()
    assert [(y["year"], y["status"]) for y in years["items"]] == [(2026, "national"), (2027, "loaded")]
    assert years["assumed_deadlines"] == 0


async def test_co_opinion_deadlines_follow_the_recomputed_lead(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    # Ten working days: the holiday and the make-up Sunday cancel out for the lead, not for the co-handler,
    # whose opinion is due five working days before the lead's deadline.
    policy = await client.put(
        "/v1/sla-policies",
        json={"items": [{"tier": "week", "duration": {"working_days": 10}}]},
        headers=world.auth("admin"),
    )
    assert policy.status_code == 200
    case = await _assumed_case(
        client, session, world, assignments=(("urban_mgmt", "lead"), ("environment", "co"))
    )
    before = await _deadlines(client, world, case)
    assert before["reply"]["due_at"] == "2027-01-11T02:00:00Z" and before["reply"]["assumed"] is True
    assert (
        before["co_opinion"]["due_at"] == "2027-01-04T02:00:00Z" and before["co_opinion"]["assumed"] is True
    )

    put = await client.put("/v1/calendar/years/2027", json=NEW_YEAR_2027, headers=world.auth("admin"))
    assert put.status_code == 200

    after = await _deadlines(client, world, case)
    assert after["reply"]["due_at"] == "2027-01-11T02:00:00Z" and after["reply"]["assumed"] is False
    assert after["co_opinion"]["due_at"] == "2027-01-05T02:00:00Z" and after["co_opinion"]["assumed"] is False
    assert [c["kind"] for c in await _deadline_changes(session, case)] == ["co_opinion"]


async def test_alarms_already_past_stay_raised(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    case = await _assumed_case(client, session, world)
    raised = datetime(2027, 1, 3, tzinfo=UTC)
    reply = (Deadline.case_id == case.id) & (Deadline.kind == "reply")
    await session.execute(
        update(Deadline).where(reply).values(due_soon_raised_at=raised, overdue_raised_at=raised)
    )
    # Loaded late: the new due-soon moment (2027-01-03 10:00) has passed, the new due time has not.
    now = datetime(2027, 1, 4, 9, tzinfo=SHANGHAI)
    loaded = await load_year(
        session, world.jurisdiction.id, parse_csv(NEW_YEAR_2027_CSV), source=None, loaded_by="test", now=now
    )
    assert loaded.deadlines_changed == 1
    row = (await session.execute(select(Deadline).where(reply))).scalar_one()
    await session.refresh(row)
    assert row.due_at == datetime(2027, 1, 5, 10, tzinfo=SHANGHAI)
    assert row.due_soon_raised_at == raised  # never raised twice
    assert row.overdue_raised_at is None  # re-armed


async def test_a_due_time_set_by_hand_is_not_counted_again(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    case = await _assumed_case(client, session, world)
    reply = (Deadline.case_id == case.id) & (Deadline.kind == "reply")
    set_by_hand = datetime(2027, 1, 8, 17, tzinfo=SHANGHAI)
    await session.execute(update(Deadline).where(reply).values(tier="meeting", due_at=set_by_hand))
    await session.commit()
    put = await client.put("/v1/calendar/years/2027", json=NEW_YEAR_2027, headers=world.auth("admin"))
    assert (put.json()["deadlines_recomputed"], put.json()["deadlines_changed"]) == (1, 0)
    after = await _deadlines(client, world, case)
    assert (after["reply"]["due_at"], after["reply"]["assumed"]) == ("2027-01-08T09:00:00Z", False)
    assert await _deadline_changes(session, case) == []


async def test_reimport_replaces_official_days_and_keeps_local_ones(
    client: httpx.AsyncClient, world: World
) -> None:
    admin = world.auth("admin")
    local = [
        {"date": "2027-01-02", "is_workday": True, "note": "区里加班"},  # differs from the official holiday
        {"date": "2027-03-01", "is_workday": False, "note": "区庆"},
    ]
    assert (
        await client.put("/v1/calendar/overrides", json={"items": local}, headers=admin)
    ).status_code == 200

    first = await client.put("/v1/calendar/years/2027", json=NEW_YEAR_2027, headers=admin)
    assert first.status_code == 200
    assert first.json()["local_overrides_kept"] == [
        {"date": "2027-01-02", "is_workday": True, "note": "区里加班", "source": "local"}
    ]
    listed = (await client.get("/v1/calendar/overrides", params={"year": 2027}, headers=admin)).json()[
        "items"
    ]
    assert [(i["date"], i["is_workday"], i["source"]) for i in listed] == [
        ("2027-01-01", False, "official"),
        ("2027-01-02", True, "local"),
        ("2027-01-03", False, "official"),
        ("2027-01-10", True, "official"),
        ("2027-03-01", False, "local"),
    ]

    second = {"days": [{"date": "2027-01-01", "kind": "holiday"}, {"date": "2027-01-09", "kind": "workday"}]}
    put = await client.put("/v1/calendar/years/2027", json=second, headers=admin)
    assert put.status_code == 200
    assert (put.json()["year"]["holidays"], put.json()["year"]["workdays"]) == (1, 1)
    assert put.json()["year"]["source"] is None
    listed = (await client.get("/v1/calendar/overrides", params={"year": 2027}, headers=admin)).json()[
        "items"
    ]
    assert [(i["date"], i["note"], i["source"]) for i in listed] == [
        ("2027-01-01", "法定节假日", "official"),
        ("2027-01-02", "区里加班", "local"),
        ("2027-01-09", "调休上班", "official"),
        ("2027-03-01", "区庆", "local"),
    ]
    # An unlisted day of a loaded year follows the week, known rather than assumed.
    weekend = await client.get(
        "/v1/calendar/due", params={"from": "2027-01-15T09:00:00+08:00", "tier": "immediate"}, headers=admin
    )
    assert weekend.json()["due_at"] == "2027-01-18T09:00:00+08:00" and weekend.json()["assumed"] is False
    # A hand edit of an official day makes it the jurisdiction's own.
    edit = [{"date": "2027-01-09", "is_workday": False, "note": "不调休"}]
    assert (
        await client.put("/v1/calendar/overrides", json={"items": edit}, headers=admin)
    ).status_code == 200
    await client.put("/v1/calendar/years/2027", json=second, headers=admin)
    listed = (await client.get("/v1/calendar/overrides", params={"year": 2027}, headers=admin)).json()[
        "items"
    ]
    assert ("2027-01-09", False, "local") in [(i["date"], i["is_workday"], i["source"]) for i in listed]


BAD_CSV = """date,kind,name
2027-01-01,holiday,元旦
2027-02-30,holiday,春节
2027-01-01,holiday,元旦
2026-12-31,holiday,元旦

2027-01-04,workday,调休
2027-01-09,rest,春节
2027-01-16,workday
2027-01-17
"""


async def test_bad_schedules_are_refused_line_by_line(client: httpx.AsyncClient, world: World) -> None:
    admin = world.auth("admin")
    csv_headers = {**admin, "Content-Type": "text/csv; charset=utf-8"}
    response = await client.put("/v1/calendar/years/2027", content=BAD_CSV.encode(), headers=csv_headers)
    assert response.status_code == 422
    details = response.json()["error"]["details"]
    assert [(d["line"], d["field"]) for d in details] == [
        (3, "date"),
        (4, "date"),
        (5, "date"),
        (7, "date"),
        (8, "kind"),
        (10, "line"),
    ]
    messages = [d["message"] for d in details]
    assert messages[0] == "第 3 行：日期“2027-02-30”无效，应为 YYYY-MM-DD，例如 2027-01-01"
    assert messages[1] == "第 4 行：2027-01-01 重复，已见于第 2 行"
    assert messages[2].startswith("第 5 行：2026-12-31 不在 2027 年内")
    assert messages[3] == "第 7 行：2027-01-04 是星期一，本就是工作日；调休上班日应在周六或周日"
    assert messages[4] == "第 8 行：类别“rest”无效，应为 holiday（放假）或 workday（调休上班）"
    assert messages[5] == "第 10 行：应有 3 列（date,kind,name），实际 1 列"
    assert response.json()["error"]["message"].startswith("日程有 6 处错误，首处：第 3 行")

    no_header = await client.put(
        "/v1/calendar/years/2027", content="2027-01-01,holiday,元旦\n".encode(), headers=csv_headers
    )
    assert no_header.json()["error"]["details"] == [
        {"line": 1, "field": "header", "message": "第 1 行：首行应为表头 date,kind,name"}
    ]
    no_holiday = await client.put(
        "/v1/calendar/years/2027", content=b"date,kind,name\n2027-01-10,workday,x\n", headers=csv_headers
    )
    assert no_holiday.status_code == 422
    assert (
        no_holiday.json()["error"]["message"] == "日程中没有任何放假日期：请按国务院办公厅通知逐日列出节假日"
    )
    gbk = await client.put(
        "/v1/calendar/years/2027",
        content="date,kind,name\n2027-01-01,holiday,元旦\n".encode("gbk"),
        headers=csv_headers,
    )
    assert gbk.status_code == 200 and gbk.json()["year"]["holidays"] == 1

    duplicate = {
        "days": [{"date": "2028-01-01", "kind": "holiday"}, {"date": "2028-01-01", "kind": "holiday"}]
    }
    json_error = await client.put("/v1/calendar/years/2028", json=duplicate, headers=admin)
    assert json_error.status_code == 422
    assert json_error.json()["error"]["details"] == [
        {"field": "days.1.date", "message": "第 2 项：2028-01-01 重复，已见于第 1 项"}
    ]
    bad_kind = await client.put(
        "/v1/calendar/years/2028", json={"days": [{"date": "2028-01-01", "kind": "rest"}]}, headers=admin
    )
    assert bad_kind.status_code == 422
    assert bad_kind.json()["error"]["details"][0]["field"] == "days.0.kind"
    empty = await client.put("/v1/calendar/years/2028", content=b"", headers=admin)
    assert empty.status_code == 422
    assert (
        await client.put("/v1/calendar/years/99999", json=NEW_YEAR_2027, headers=admin)
    ).status_code == 422
    # Of all these, only the GB18030 file was loaded.
    years = (await client.get("/v1/calendar/years", headers=admin)).json()["items"]
    assert [(y["year"], y["status"]) for y in years] == [(2026, "national"), (2027, "loaded")]
    assert years[1]["holidays"] == 1
    for who in ("supervisor", "integrator"):
        refused = await client.put("/v1/calendar/years/2027", json=NEW_YEAR_2027, headers=world.auth(who))
        assert refused.status_code == 403
        assert (await client.get("/v1/calendar/years", headers=world.auth(who))).status_code == 403


def test_the_shipped_2026_example_is_the_official_schedule() -> None:
    schedule = parse_csv((ROOT / "data" / "calendar" / "2026.csv").read_text(encoding="utf-8"))
    assert schedule.year == 2026
    loaded = WorkCalendar(
        overrides={d.day: d.is_workday for d in schedule.days}, loaded_years=frozenset({2026})
    )
    national = WorkCalendar()
    day = date(2026, 1, 1)
    while day.year == 2026:
        assert loaded.is_workday(day) == national.is_workday(day), day
        day = date.fromordinal(day.toordinal() + 1)


@pytest.fixture
async def app_on(engine: AsyncEngine) -> AsyncIterator[Callable[[date], httpx.AsyncClient]]:
    """supervision_api with "today" fixed by the test, so /readyz looks 60 days ahead of a chosen date."""
    today = [date(2026, 12, 15)]
    app: FastAPI = create_app(engine, today=lambda: today[0])
    async with running(app), client_for(app) as client:

        def on(day: date) -> httpx.AsyncClient:
            today[0] = day
            return client

        yield on


async def test_readyz_reports_a_missing_year_until_every_jurisdiction_loads_it(
    app_on: Callable[[date], httpx.AsyncClient], session: AsyncSession, world: World
) -> None:
    other = await build_world(session, code="XC", name="相城区")
    await session.commit()
    october = await app_on(date(2026, 10, 1)).get("/readyz")
    assert october.status_code == 200 and october.json()["calendar"] == "ok"  # 60 days stay in 2026
    client = app_on(date(2026, 12, 15))
    december = await client.get("/readyz")
    assert december.status_code == 200
    assert (december.json()["status"], december.json()["calendar"]) == ("ok", "missing 2027")
    assert (
        await client.put("/v1/calendar/years/2027", json=NEW_YEAR_2027, headers=world.auth("admin"))
    ).status_code == 200
    assert (await client.get("/readyz")).json()["calendar"] == "missing 2027"  # XC has not
    assert (
        await client.put("/v1/calendar/years/2027", json=NEW_YEAR_2027, headers=other.auth("admin"))
    ).status_code == 200
    assert (await client.get("/readyz")).json()["calendar"] == "ok"
    assert (await app_on(date(2027, 11, 15)).get("/readyz")).json()["calendar"] == "missing 2028"


class _Log:
    def __init__(self) -> None:
        self.records: list[tuple[str, str, dict[str, Any]]] = []

    def __getattr__(self, level: str) -> Callable[..., None]:
        return lambda event, **kw: self.records.append((level, event, kw))


async def test_the_worker_warns_while_a_year_is_missing_and_catches_stragglers(
    client: httpx.AsyncClient,
    engine: AsyncEngine,
    session: AsyncSession,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    log = _Log()
    monkeypatch.setattr(worker, "log", log)
    december = date(2026, 12, 15)
    stop = asyncio.Event()
    watch = asyncio.create_task(worker.run_calendar_watch(engine, stop, today=lambda: december))
    for _ in range(200):  # the check runs at start
        if log.records:
            break
        await asyncio.sleep(0.05)
    stop.set()
    await watch
    assert log.records == [("warning", "calendar_missing", {"year": 2027, "jurisdictions": ["GS"]})]

    # A deadline computed while the year was being loaded (its transaction began before the load committed).
    case = await _assumed_case(client, session, world)
    put = await client.put("/v1/calendar/years/2027", json=NEW_YEAR_2027, headers=world.auth("admin"))
    assert put.status_code == 200
    reply = (Deadline.case_id == case.id) & (Deadline.kind == "reply")
    await session.execute(
        update(Deadline).where(reply).values(due_at=datetime(2027, 1, 4, 10, tzinfo=SHANGHAI), assumed=True)
    )
    await session.commit()
    log.records.clear()
    await worker.check_calendar(engine, december)
    assert log.records == [("info", "assumed_deadlines_recomputed", {"changed": 1})]
    after = await _deadlines(client, world, case)
    assert after["reply"]["due_at"] == "2027-01-05T02:00:00Z" and after["reply"]["assumed"] is False


async def test_cli_imports_a_year_and_recomputes(
    client: httpx.AsyncClient, session: AsyncSession, world: World, tmp_path: Path
) -> None:
    case = await _assumed_case(client, session, world)
    good = tmp_path / "2027.csv"
    good.write_text(NEW_YEAR_2027_CSV, encoding="utf-8")
    runner = CliRunner()

    async def minyi(*args: str) -> Result:
        # The CLI runs its own event loop, so it runs in a thread of its own.
        return await asyncio.to_thread(runner.invoke, cli_app, list(args))

    result = await minyi("calendar", "import", str(good), "--jurisdiction", "GS", "--source", "测试")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "2027 loaded for GS: 3 days off, 1 make-up working days; 1 assumed deadlines recomputed, 1 changed, "
        "0 still assumed"
    ]
    after = await _deadlines(client, world, case)
    assert after["reply"]["due_at"] == "2027-01-05T02:00:00Z" and after["reply"]["assumed"] is False
    assert len(await _deadline_changes(session, case)) == 1
    years = (await client.get("/v1/calendar/years", headers=world.auth("admin"))).json()["items"]
    assert (years[1]["status"], years[1]["source"], years[1]["loaded_by"]) == ("loaded", "测试", "cli")

    bad = tmp_path / "bad.csv"
    bad.write_text(BAD_CSV, encoding="utf-8")
    refused = await minyi("calendar", "import", str(bad), "--all")
    assert refused.exit_code == 1
    assert f"{bad}: 第 3 行：日期“2027-02-30”无效" in refused.stderr and "第 10 行" in refused.stderr
    unknown = await minyi("calendar", "import", str(good), "--jurisdiction", "NOPE")
    assert unknown.exit_code == 2 and "NOPE" in unknown.output
    assert (await minyi("calendar", "import", str(good))).exit_code == 2
