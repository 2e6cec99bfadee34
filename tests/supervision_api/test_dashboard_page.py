"""The dashboard page on a small constructed set whose every number is known by hand: the department rates
(with and without enough sample), the weekly lines, the funnel, satisfaction, the overdue list, key items,
difficult cases, hot spots and the calendar warning; a department's own dashboard; escaping; the filters.

The set (all received now, so every period holds it), 区城管局 = X, 区生态环境局 = Y:
  c1  urban, X lead, replied before its deadline, rated satisfied, closed
  c2  urban, X lead, reply deadline 3 days past, not replied (overdue; a key item; a difficult case)
  c3  environment, Y lead + X co, replied before its deadline, rated dissatisfied
  c4  urban, received only
  c5  urban, X lead, replied before its deadline, closed unrated
Totals: received 5, dispatched 4, replied 3, closed 2; rated 2, satisfied 1, dissatisfied 1, unrated 1.
On-time reply: X 2 of 3 due (c1, c5 of c1, c2, c5), Y 1 of 1.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.supervision.dashboard import panels, views
from services.supervision.metrics import rollup
from services.workflow import Actor, change_status
from shared.db.enums import AssignmentStatus, CaseStatus, DeadlineKind, HotspotStatus
from shared.db.models import (
    Assignment,
    CalendarYear,
    Case,
    Deadline,
    Department,
    DifficultCase,
    Feedback,
    Hotspot,
    KeyItem,
    KeyItemCheck,
    MetricSettings,
    Reply,
)
from shared.security.apikeys import Principal
from tests.factories import World
from tests.supervision_api.arrange import accept, assignment_of, dispatched_case, new_case
from tests.supervision_api.dashboard_arrange import signed_in

SYSTEM = Actor("system")


@dataclass
class Known:
    c1: Case
    c2: Case
    c3: Case
    c4: Case
    c5: Case


async def _deadline(session: AsyncSession, case: Case, assignment: Assignment, due: datetime) -> None:
    session.add(
        Deadline(
            jurisdiction_id=case.jurisdiction_id,
            case_id=case.id,
            assignment_id=assignment.id,
            kind=DeadlineKind.reply,
            round=0,
            tier="week",
            starts_at=due - timedelta(days=7),
            due_at=due,
        )
    )
    await session.flush()


async def _reply(session: AsyncSession, case: Case, assignment: Assignment, at: datetime) -> None:
    await accept(session, case, assignment, at - timedelta(hours=1))
    assignment.status = AssignmentStatus.replied
    assignment.replied_at = at
    session.add(
        Reply(
            jurisdiction_id=case.jurisdiction_id,
            case_id=case.id,
            assignment_id=assignment.id,
            department_id=assignment.department_id,
            reply_class="A",
            text="已处理",
            round=0,
            created_at=at,
        )
    )
    await session.flush()
    await change_status(session, case, CaseStatus.replied, "replied", Actor("department"))


async def _rate(session: AsyncSession, case: Case, rating: str) -> None:
    session.add(
        Feedback(jurisdiction_id=case.jurisdiction_id, case_id=case.id, source="citizen", rating=rating)
    )
    await session.flush()


async def _close(session: AsyncSession, case: Case, reason: str) -> None:
    case.close_reason = reason
    await change_status(session, case, CaseStatus.closed, "closed", SYSTEM)


@pytest.fixture
async def known(session: AsyncSession, world: World, engine: AsyncEngine) -> Known:
    now = datetime.now(UTC)
    x, y = world.departments["urban_mgmt"], world.departments["environment"]
    grid = world.grids["G1"].id

    c1 = await dispatched_case(session, world, at=now - timedelta(days=2), grid_id=grid)
    a1 = await assignment_of(session, c1, x.id)
    await _deadline(session, c1, a1, now + timedelta(days=5))
    await _reply(session, c1, a1, now - timedelta(hours=1))
    await _rate(session, c1, "satisfied")
    await _close(session, c1, "rated")

    c2 = await dispatched_case(session, world, at=now - timedelta(days=10), grid_id=grid)
    a2 = await assignment_of(session, c2, x.id)
    await _deadline(session, c2, a2, now - timedelta(days=3, hours=2))

    c3 = await dispatched_case(
        session,
        world,
        category="environment",
        assignments=(("environment", "lead"), ("urban_mgmt", "co")),
        at=now - timedelta(days=2),
        grid_id=world.grids["G2"].id,
    )
    a3 = await assignment_of(session, c3, y.id)
    await _deadline(session, c3, a3, now + timedelta(days=5))
    await _reply(session, c3, a3, now - timedelta(hours=1))
    await _rate(session, c3, "dissatisfied")

    c4 = await new_case(session, world, grid_id=grid)

    c5 = await dispatched_case(session, world, at=now - timedelta(days=2), grid_id=grid)
    a5 = await assignment_of(session, c5, x.id)
    await _deadline(session, c5, a5, now + timedelta(days=5))
    await _reply(session, c5, a5, now - timedelta(hours=1))
    await _close(session, c5, "unrated")

    item = KeyItem(
        jurisdiction_id=world.jurisdiction.id,
        year=now.astimezone(views.SHANGHAI).year,
        case_id=c2.id,
        lead_supervisor="张主任",
        goal="年底前完成垃圾清运点改造",
    )
    session.add(item)
    await session.flush()
    session.add(
        KeyItemCheck(
            jurisdiction_id=world.jurisdiction.id,
            key_item_id=item.id,
            stage="start",
            checked_on=now.date(),
            findings="已确定目标",
        )
    )
    session.add(
        DifficultCase(
            jurisdiction_id=world.jurisdiction.id,
            case_id=c2.id,
            reason="涉及多个部门，职责不清",
            meeting_date=date(2026, 12, 10),
            co_department_ids=[],
        )
    )
    session.add(
        Hotspot(
            jurisdiction_id=world.jurisdiction.id,
            grid_id=world.grids["G1"].id,
            category_id=world.categories["urban"].id,
            status=HotspotStatus.open,
            case_count=6,
            first_case_at=now - timedelta(days=3),
            last_case_at=now,
        )
    )
    await session.commit()
    result = await rollup.refresh(engine, settle_seconds=5)
    assert result.failed == 0
    return Known(c1, c2, c3, c4, c5)


async def _ranking_sample(session: AsyncSession, world: World, minimum: int) -> None:
    session.add(MetricSettings(jurisdiction_id=world.jurisdiction.id, ranking_min_sample=minimum))
    await session.commit()


def _section(html: str, section_id: str) -> str:
    found = re.search(rf'<section class="card" id="{section_id}".*?</section>', html, re.S)
    assert found is not None, f"no section {section_id}"
    return found.group(0)


def _cells(html: str) -> list[list[str]]:
    """The data rows' cells as text (header rows left out)."""
    rows = re.findall(r"<tr>(.*?)</tr>", html, re.S)
    cells = [
        [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)] for r in rows
    ]
    return [row for row in cells if row]


async def test_the_panels_show_the_known_numbers(
    client: httpx.AsyncClient, world: World, session: AsyncSession, known: Known
) -> None:
    await _ranking_sample(session, world, 1)
    await signed_in(client, world.keys["supervisor"])
    page = await client.get("/dashboard")
    assert page.status_code == 200, page.text
    html = page.text
    assert '<html lang="zh-CN">' in html and "<script" not in html
    assert "姑苏区 督办看板" in html

    rates = _section(html, "rates")
    assert 'aria-label="各承办单位按期答复率"' in rates
    assert "66.7%（应答复 3 件）" in rates and "100.0%（应答复 1 件）" in rates
    # Best first: Y's 100% above X's 66.7%; the table has both with their ranks.
    assert rates.index("区生态环境局") < rates.index("区城管局")
    table = {row[0]: row for row in _cells(rates) if len(row) == 4}
    assert table["区城管局"][1:3] == ["66.7%", "3"]
    assert table["区生态环境局"][1:3] == ["100.0%", "1"]

    weekly = _section(html, "weekly")
    assert "<svg" in weekly and "按受理周统计" in weekly
    weeks = [row for row in _cells(weekly) if len(row) == 4]
    assert weeks[-1][1:] == ["5", "3", "2"]
    assert all(row[1:] == ["0", "0", "0"] for row in weeks[:-1])

    funnel = _section(html, "funnel")
    assert [row[:2] for row in _cells(funnel)] == [["受理", "5"], ["交办", "4"], ["答复", "3"], ["办结", "2"]]
    assert "上一步的 80.0%" in funnel

    satisfaction = _section(html, "satisfaction")
    assert "50.0%" in satisfaction
    assert _cells(satisfaction) == [
        ["满意", "1", "33.3%"],
        ["基本满意", "0", "0.0%"],
        ["不满意", "1", "33.3%"],
        ["未评价（已办结）", "1", "33.3%"],
    ]

    overdue = _section(html, "overdue")
    assert "超期未答复（1 项）" in overdue
    assert _cells(overdue) == [[known.c2.tracking_no, "区城管局", "3 天"]]

    key_items = _section(html, "key-items")
    assert known.c2.tracking_no in key_items and "张主任" in key_items and "年初确定" in key_items
    assert "区城管局" in key_items

    difficult = _section(html, "difficult")
    assert known.c2.tracking_no in difficult and "职责不清" in difficult and "2026-12-10" in difficult

    hotspots = _section(html, "hotspots")
    assert _cells(hotspots)[0][:3] == ["G1网格", "城市管理", "6"]


async def test_a_small_sample_says_so_instead_of_a_bar(
    client: httpx.AsyncClient, world: World, known: Known
) -> None:
    await signed_in(client, world.keys["admin"])
    rates = _section((await client.get("/dashboard")).text, "rates")
    # The default sample rule (10 cases) ranks neither department: no bar, the words and the sample.
    assert "样本不足（应答复 3 件）" in rates and "样本不足（应答复 1 件）" in rates
    assert 'class="bar"' not in rates
    table = {row[0]: row for row in _cells(rates) if len(row) == 4}
    assert table["区城管局"] == ["区城管局", "66.7%", "3", "样本不足"]


async def test_a_department_sees_only_its_own_dashboard(
    client: httpx.AsyncClient, world: World, session: AsyncSession, known: Known
) -> None:
    await _ranking_sample(session, world, 1)
    await signed_in(client, world.keys["dept:urban_mgmt"])
    page = await client.get("/dashboard")
    assert page.status_code == 200
    html = page.text
    assert "区城管局 办理看板" in html
    for other in ("区生态环境局", "双塔街道办事处", "100.0%（应答复 1 件）"):
        assert other not in html
    assert 'id="difficult"' not in html and 'id="hotspots"' not in html
    rates = _section(html, "rates")
    assert "66.7%（应答复 3 件）" in rates
    assert _cells(_section(html, "overdue")) == [[known.c2.tracking_no, "区城管局", "3 天"]]
    assert known.c2.tracking_no in _section(html, "key-items")


async def test_a_department_without_overdue_or_key_items_sees_none(
    client: httpx.AsyncClient, world: World, known: Known
) -> None:
    await signed_in(client, world.keys["dept:environment"])
    html = (await client.get("/dashboard")).text
    assert "区城管局" not in html
    assert "没有超期未答复的事项" in html and "本年度暂无重点督办事项" in html
    assert known.c2.tracking_no not in html


async def test_names_are_shown_as_text_never_as_markup(
    client: httpx.AsyncClient, world: World, session: AsyncSession, known: Known
) -> None:
    await session.execute(
        update(Department)
        .where(Department.id == world.departments["urban_mgmt"].id)
        .values(name="<script>alert(1)</script>")
    )
    await session.commit()
    await signed_in(client, world.keys["supervisor"])
    html = (await client.get("/dashboard")).text
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in _section(html, "overdue")
    assert "&lt;script&gt;" in _section(html, "rates")


async def test_filters_are_links_that_keep_each_other(
    client: httpx.AsyncClient, world: World, known: Known
) -> None:
    await signed_in(client, world.keys["supervisor"])
    html = (await client.get("/dashboard", params={"period": "year", "grid": "GS-G1"})).text
    assert '<a href="/dashboard?period=month&amp;grid=GS-G1">本月</a>' in html
    assert '<a href="/dashboard?period=year&amp;grid=GS-G1" aria-current="page">今年</a>' in html
    assert '<a href="/dashboard?period=year&amp;category=urban&amp;grid=GS-G1">城市管理</a>' in html
    assert '<a href="/dashboard?period=year">全部</a>' in html
    # Grid G1 holds c1, c2, c4, c5 (c3 is in G2).
    funnel = _section(html, "funnel")
    assert _cells(funnel)[0][:2] == ["受理", "4"]
    env = (await client.get("/dashboard", params={"category": "environment"})).text
    assert _cells(_section(env, "funnel"))[0][:2] == ["受理", "1"]
    assert "没有超期未答复的事项" in env  # the overdue case is urban


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"period": "decade"}, "未知的统计期间"),
        ({"category": "nope"}, "未找到该问题分类"),
        ({"grid": "X"}, "未找到该网格"),
    ],
)
async def test_an_unknown_filter_is_a_422_page(
    client: httpx.AsyncClient, world: World, params: dict[str, str], message: str
) -> None:
    await signed_in(client, world.keys["supervisor"])
    response = await client.get("/dashboard", params=params)
    assert response.status_code == 422
    assert message in response.text and "<html" in response.text


async def test_the_calendar_warning_from_october_while_next_year_is_missing(
    session: AsyncSession, world: World
) -> None:
    jid = world.jurisdiction.id
    assert await panels.calendar_missing(session, jid, date(2026, 9, 30)) == []
    assert await panels.calendar_missing(session, jid, date(2026, 10, 1)) == [2027]
    session.add(CalendarYear(jurisdiction_id=jid, year=2027, source="国办发明电〔2026〕1号"))
    await session.flush()
    assert await panels.calendar_missing(session, jid, date(2026, 12, 31)) == []
    assert await panels.calendar_missing(session, jid, date(2028, 3, 1)) == [2028]


async def test_the_page_warns_when_the_calendar_is_missing(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    await signed_in(client, world.keys["admin"])
    today = datetime.now(UTC).astimezone(views.SHANGHAI).date()
    missing = await panels.calendar_missing(session, world.jurisdiction.id, today)
    html = (await client.get("/dashboard")).text
    for year in missing:
        assert f"尚未导入 {year} 年的工作日安排" in html
    if not missing:
        assert "尚未导入" not in html
    view = await views.build(
        session,
        Principal(
            key_id=0,
            role="supervisor",
            jurisdiction_id=world.jurisdiction.id,
            department_id=None,
            deputy_id=None,
        ),
        views.Filters(),
        now=datetime(2026, 10, 2, 2, 0, tzinfo=UTC),
    )
    assert view.calendar_missing == [2027]


def test_periods_cover_the_days_up_to_today() -> None:
    today = date(2026, 2, 14)
    assert views.period_range("month", today) == (date(2026, 2, 1), today)
    assert views.period_range("3m", today) == (date(2025, 12, 1), today)
    assert views.period_range("year", today) == (date(2026, 1, 1), today)
    assert views.period_range("lastyear", today) == (date(2025, 1, 1), date(2025, 12, 31))
    assert views.mondays(date(2026, 2, 1), date(2026, 2, 14)) == [
        date(2026, 1, 26),
        date(2026, 2, 2),
        date(2026, 2, 9),
    ]


async def test_the_overdue_count_stops_at_its_cap(
    session: AsyncSession, world: World, known: Known, monkeypatch: pytest.MonkeyPatch
) -> None:
    scope = panels.Scope(world.jurisdiction.id)
    now = datetime.now(UTC)
    assert (await panels.overdue_replies(session, scope, now)).total == 1
    extra = await dispatched_case(session, world, at=now - timedelta(days=10))
    await _deadline(
        session, extra, await assignment_of(session, extra, world.departments["urban_mgmt"].id), now
    )
    monkeypatch.setattr(panels, "COUNT_CAP", 1)
    overdue = await panels.overdue_replies(session, scope, now + timedelta(seconds=1))
    assert (overdue.total, overdue.capped, len(overdue.rows)) == (1, True, 2)
    # Worst first: the one three days past due before the one just due.
    assert [row.tracking_no for row in overdue.rows] == [known.c2.tracking_no, extra.tracking_no]
