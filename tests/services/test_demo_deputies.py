"""`minyi demo` shows the deputies at work: a roster ahead, receptions behind, two suggestions (one joint)
and a citizen's case a deputy adopted, with the events integrators and supervision hear of."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from services.demo import load_demo
from services.intake.contact.schedule import today as beijing_today
from shared.db.models import (
    Case,
    CaseCosigner,
    OutboxEvent,
    Reception,
    RosterEntry,
    SuggestionSource,
    reception_deputies,
)


async def _count(session, query) -> int:
    return (await session.execute(query)).scalar_one()


async def test_the_demo_has_a_roster_receptions_suggestions_and_an_adopted_case(session):
    demo = await load_demo(session)
    await session.flush()
    today = beijing_today()

    rostered = (await session.execute(select(RosterEntry.station_id, RosterEntry.day))).all()
    assert {station for station, _ in rostered} and all(
        day >= today - timedelta(days=1) for _, day in rostered
    )
    assert len({station for station, _ in rostered}) == 3
    # Six months of monthly contact days for each of the three stations.
    assert 15 <= len(rostered) <= 21

    receptions = (await session.execute(select(Reception))).scalars().all()
    assert len(receptions) == 6 and all(r.held_on < today for r in receptions)
    assert await _count(session, select(func.count()).select_from(reception_deputies)) == 12

    suggestions = (
        (await session.execute(select(Case).where(Case.kind == "deputy_suggestion").order_by(Case.id)))
        .scalars()
        .all()
    )
    assert len(suggestions) == 3
    cosigned = await _count(
        session,
        select(func.count()).select_from(CaseCosigner).where(CaseCosigner.case_id == suggestions[1].id),
    )
    assert cosigned == 2
    source = (await session.execute(select(SuggestionSource))).scalars().one()
    citizen = await session.get(Case, source.case_id)
    assert citizen is not None and citizen.kind == "citizen" and citizen.deputy_id == suggestions[2].deputy_id
    assert demo.keys["adopted_case"] == citizen.tracking_no
    assert demo.keys["suggestions"] == [s.tracking_no for s in suggestions]
    assert len({c.tracking_no for c in [*suggestions, citizen]}) == 4

    types = (await session.execute(select(OutboxEvent.type))).scalars().all()
    assert types.count("suggestion.submitted") == 3
    assert types.count("case.adopted") == 1
    assert types.count("reception.recorded") == 6
    assert types.count("case.received") == 4
