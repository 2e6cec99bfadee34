"""Metrics on a constructed set whose every count and rate is known by hand (metrics_arrange.py): counted from
the raw rows, read from the rollup after the worker's refresh, and against an independent count in Python."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.supervision.metrics import rollup
from services.supervision.metrics.query import MetricsQuery, metrics
from shared.db.models import (
    Assignment,
    Case,
    Consultation,
    Deadline,
    Feedback,
    MetricDay,
    MetricDirtyDay,
    Reply,
)
from tests.factories import World
from tests.services.supervision.metrics_arrange import (
    FIRST,
    HAND_DEPARTMENT_SCORES,
    HAND_DEPARTMENTS,
    HAND_RATES,
    HAND_SCORE,
    HAND_TOTALS,
    LAST,
    SHANGHAI,
    build_set,
)

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


def _query(group_by: str | None = None, **filters: object) -> MetricsQuery:
    return MetricsQuery(group_by, FIRST, LAST, **filters)  # type: ignore[arg-type]


@pytest.fixture
async def arranged(session: AsyncSession, world: World) -> World:
    await build_set(session, world)
    return world


@pytest.mark.parametrize("source", ["facts", "rollup"])
async def test_totals_and_rates_are_the_hand_numbers(
    source: str, arranged: World, session: AsyncSession, engine: AsyncEngine
) -> None:
    if source == "rollup":
        await rollup.refresh(engine, now=NOW)
    result = await metrics(
        session, arranged.jurisdiction.id, _query(), source="facts" if source == "facts" else "auto", now=NOW
    )
    assert result.source == source
    assert result.total.counts == HAND_TOTALS
    assert result.total.rates == pytest.approx(HAND_RATES)
    assert result.total.score == HAND_SCORE
    assert result.rows == [result.total]


@pytest.mark.parametrize("source", ["facts", "rollup"])
async def test_departments_are_the_hand_numbers(
    source: str, arranged: World, session: AsyncSession, engine: AsyncEngine
) -> None:
    if source == "rollup":
        await rollup.refresh(engine, now=NOW)
    result = await metrics(
        session,
        arranged.jurisdiction.id,
        _query("department"),
        source="facts" if source == "facts" else "auto",
        now=NOW,
    )
    assert result.source == source
    by_code = {row.code: row for row in result.rows}
    assert {code: row.counts for code, row in by_code.items()} == HAND_DEPARTMENTS
    assert {code: row.score for code, row in by_code.items()} == HAND_DEPARTMENT_SCORES
    assert by_code["street_office"].rates["satisfaction_rate"] is None
    assert by_code["urban_mgmt"].label == "区城管局"
    # The total is the jurisdiction's (a case with two departments counts once), not the rows' sum.
    assert result.total.counts == HAND_TOTALS
    # Default minimum sample 10: nobody is ranked.
    assert all(row.rank is None and row.rank_note == "样本不足" for row in result.rows)


@pytest.mark.parametrize("source", ["facts", "auto"])
async def test_case_dimensions(
    source: str, arranged: World, session: AsyncSession, engine: AsyncEngine
) -> None:
    await rollup.refresh(engine, now=NOW)
    jid = arranged.jurisdiction.id
    categories = await metrics(session, jid, _query("category"), source=source, now=NOW)  # type: ignore[arg-type]
    received = {row.code: row.counts["received"] for row in categories.rows}
    # C1 C2 C6 C7 C11 / C3 C5 / C4 filed under the top level / C10 / C8 C9 without a category.
    assert received == {"urban.sanitation": 5, "environment.noise": 2, "urban": 1, "environment": 1, None: 2}
    assert {row.label for row in categories.rows if row.code is None} == {"未指定"}
    tops = await metrics(session, jid, _query("top_category"), source=source, now=NOW)  # type: ignore[arg-type]
    assert {row.code: row.counts["received"] for row in tops.rows} == {"urban": 6, "environment": 3, None: 2}
    grids = await metrics(session, jid, _query("grid"), source=source, now=NOW)  # type: ignore[arg-type]
    assert {row.code: row.counts["received"] for row in grids.rows} == {"GS-G1": 6, "GS-G2": 3, None: 2}
    deputies = await metrics(session, jid, _query("deputy"), source=source, now=NOW)  # type: ignore[arg-type]
    assert {row.label: row.counts["replied"] for row in deputies.rows} == {"王代表": 3, "未指定": 3}
    weeks = await metrics(session, jid, _query("week"), source=source, now=NOW)  # type: ignore[arg-type]
    assert [(row.key, row.counts["received"]) for row in weeks.rows] == [
        ("2026-W40", 0),
        ("2026-W41", 0),
        ("2026-W42", 6),  # C9 (00:30 Beijing, 16:30 UTC the day before) counts on Monday 12 October
        ("2026-W43", 5),
        ("2026-W44", 0),
    ]
    assert weeks.rows[2].period_start == date(2026, 10, 12)
    months = await metrics(session, jid, _query("month"), source=source, now=NOW)  # type: ignore[arg-type]
    assert [(row.key, row.counts) for row in months.rows] == [("2026-10", HAND_TOTALS)]
    suggestions = await metrics(
        session,
        jid,
        _query(kind="deputy_suggestion"),
        source=source,
        now=NOW,  # type: ignore[arg-type]
    )
    assert suggestions.total.counts["received"] == 2
    assert suggestions.total.rates["meeting_rate"] == 0.5


async def test_two_dimensions_read_the_pairs_of_the_rollup_or_the_facts(
    arranged: World, session: AsyncSession, engine: AsyncEngine
) -> None:
    await rollup.refresh(engine, now=NOW)
    # A department with a grid (or a top-level category) is a pair the rollup holds.
    result = await metrics(
        session, arranged.jurisdiction.id, _query("department", grid_code="GS-G1"), now=NOW
    )
    assert result.source == "rollup"
    # G1: C1 C2 C4 C11 for U (C7's assignment withdrawn), C5 for E.
    assert {row.code: row.counts["received"] for row in result.rows} == {"urban_mgmt": 4, "environment": 1}
    # A department with sub-categories is not: counted from the facts.
    one = await metrics(
        session,
        arranged.jurisdiction.id,
        _query("category", department_id=arranged.departments["environment"].id),
        now=NOW,
    )
    assert one.source == "facts"
    assert {row.code: row.counts["replied"] for row in one.rows} == {"environment.noise": 1, "environment": 1}
    assert one.total.counts == HAND_DEPARTMENTS["environment"]


async def _independent_totals(session: AsyncSession, jurisdiction_id: int) -> dict[str, int]:
    """The totals counted in Python from the rows, case by case, without the facts SQL."""
    start = datetime(2026, 10, 1, tzinfo=SHANGHAI)
    end = datetime(2026, 11, 1, tzinfo=SHANGHAI)
    cases = (
        await session.scalars(
            select(Case).where(
                Case.jurisdiction_id == jurisdiction_id, Case.created_at >= start, Case.created_at < end
            )
        )
    ).all()
    totals = dict.fromkeys(HAND_TOTALS, 0)
    for case in cases:
        assignments = (
            await session.scalars(
                select(Assignment).where(Assignment.case_id == case.id, Assignment.status != "withdrawn")
            )
        ).all()
        deadlines = (
            await session.scalars(
                select(Deadline).where(Deadline.case_id == case.id, Deadline.superseded_at.is_(None))
            )
        ).all()
        replies = (await session.scalars(select(Reply).where(Reply.case_id == case.id))).all()
        rater = "deputy" if case.kind == "deputy_suggestion" else "citizen"
        ratings = (
            await session.scalars(
                select(Feedback)
                .where(Feedback.case_id == case.id, Feedback.source == rater)
                .order_by(Feedback.round, Feedback.created_at)
            )
        ).all()
        faces = (
            await session.scalars(
                select(Consultation.held_on).where(
                    Consultation.case_id == case.id, Consultation.mode == "face"
                )
            )
        ).all()
        totals["received"] += 1
        totals["assignments"] += len(assignments)
        totals["declined"] += sum(a.status == "declined" for a in assignments)
        for a in assignments:
            accept = [d for d in deadlines if d.assignment_id == a.id and d.kind == "accept"]
            totals["accepted_on_time"] += bool(accept and a.accepted_at and a.accepted_at <= accept[0].due_at)
        if case.status in ("merged", "rejected"):
            totals["excluded"] += 1
            continue
        answering = [a for a in assignments if a.role in ("lead", "separate") and a.status != "declined"]
        due = {d.assignment_id: d.due_at for d in deadlines if d.kind == "reply" and d.round == 0}
        first = {
            a.id: min(
                (r.created_at for r in replies if r.assignment_id == a.id and r.round == 0), default=None
            )
            for a in answering
        }
        replied = case.replied_at is not None
        totals["dispatched"] += case.dispatched_at is not None
        totals["replied"] += replied
        totals["reply_due"] += replied or any(d <= NOW for a, d in due.items() if a in first)
        totals["replied_on_time"] += replied and all(
            first[a.id] is not None and a.id in due and first[a.id] <= due[a.id] for a in answering
        )
        totals["closed"] += case.status == "closed"
        totals["rated"] += bool(ratings)
        totals["satisfied"] += bool(ratings) and ratings[-1].rating in ("satisfied", "basically_satisfied")
        totals["basically_satisfied"] += bool(ratings) and ratings[-1].rating == "basically_satisfied"
        totals["unrated"] += case.status == "closed" and (case.close_reason == "unrated" or not ratings)
        totals["reworked"] += case.rework_round > 0
        totals["resolved"] += replied and any(r.reply_class == "A" for r in replies)
        if replied and case.kind == "deputy_suggestion":
            totals["suggestions_replied"] += 1
            first_reply = min(r.created_at for r in replies).astimezone(SHANGHAI).date()
            totals["met"] += any(day <= first_reply for day in faces)
    return totals


async def test_an_independent_count_equals_both_paths(
    arranged: World, session: AsyncSession, engine: AsyncEngine
) -> None:
    independent = await _independent_totals(session, arranged.jurisdiction.id)
    assert independent == HAND_TOTALS
    facts = await metrics(session, arranged.jurisdiction.id, _query(), source="facts", now=NOW)
    await rollup.refresh(engine, now=NOW)
    rolled = await metrics(session, arranged.jurisdiction.id, _query(), now=NOW)
    assert facts.total.counts == independent == rolled.total.counts


async def test_the_trigger_marks_days_and_the_job_clears_them(
    arranged: World, session: AsyncSession, engine: AsyncEngine
) -> None:
    jid = arranged.jurisdiction.id
    marked = set((await session.execute(select(MetricDirtyDay.jurisdiction_id, MetricDirtyDay.day))).tuples())
    # Each case's received event marked its Beijing day (C9's 00:30 on the 12th, not the 11th in UTC).
    assert {(j, day) for j, day in marked if j == jid} == {
        (jid, date(2026, 9, 30)),
        (jid, date(2026, 10, 12)),
        (jid, date(2026, 10, 13)),
        (jid, date(2026, 10, 19)),
    }
    await session.commit()
    result = await rollup.refresh(engine, now=NOW)
    assert result.days == 4 and result.failed == 0
    assert await session.scalar(select(func.count()).select_from(MetricDirtyDay)) == 0
    days = set((await session.scalars(select(MetricDay.day).where(MetricDay.jurisdiction_id == jid))).all())
    assert days == {date(2026, 9, 30), date(2026, 10, 12), date(2026, 10, 13), date(2026, 10, 19)}
    # A new event on C5 marks its day again; the next run recomputes it (a reply arrives).
    await session.execute(
        text(
            "INSERT INTO case_events (jurisdiction_id, case_id, type, actor_type, data, public)"
            " SELECT jurisdiction_id, id, 'replied', 'department', '{}', false FROM cases"
            " WHERE description = '测试事项C5'"
        )
    )
    await session.execute(
        text("UPDATE cases SET replied_at = now(), status = 'replied' WHERE description = '测试事项C5'")
    )
    await session.commit()
    assert set((await session.execute(select(MetricDirtyDay.day))).scalars()) == {date(2026, 10, 19)}
    assert (await rollup.refresh(engine, now=NOW)).days == 1
    after = await metrics(session, jid, _query(), now=NOW)
    assert after.total.counts["replied"] == HAND_TOTALS["replied"] + 1


async def test_rebuild_recomputes_every_day(
    arranged: World, session: AsyncSession, engine: AsyncEngine
) -> None:
    await rollup.refresh(engine, now=NOW)
    await session.execute(text("DELETE FROM metric_days"))
    await session.commit()
    result = await rollup.rebuild(engine, arranged.jurisdiction.id)
    assert result.days == 4
    rolled = await metrics(session, arranged.jurisdiction.id, _query("department"), now=NOW)
    assert rolled.source == "rollup"
    assert {row.code: row.counts["received"] for row in rolled.rows} == {
        code: counts["received"] for code, counts in HAND_DEPARTMENTS.items()
    }
