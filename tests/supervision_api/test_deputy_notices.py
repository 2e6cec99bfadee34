"""Notices on the deputies' desks: when a deputy suggestion is replied, its author and every co-signer get one
`replied` notice per reply round, however often case.replied arrives; a citizen's case gives none."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.workflow import Actor, change_status
from shared.db.enums import CaseStatus
from shared.db.models import Case, DeputyNotice
from tests.factories import World
from tests.supervision_api.arrange import accept, assignment_of, dispatched_case, reopen_for_rework, reply
from tests.supervision_api.duty_arrange import add_deputy, handle_directly, outbox_row, post_event, suggestion


async def _notices(session: AsyncSession) -> list[tuple[int, int, str, int]]:
    rows = await session.execute(
        select(DeputyNotice.deputy_id, DeputyNotice.case_id, DeputyNotice.kind, DeputyNotice.round)
        .order_by(DeputyNotice.round, DeputyNotice.deputy_id)
        .execution_options(populate_existing=True)
    )
    return [(r.deputy_id, r.case_id, r.kind, r.round) for r in rows]


async def _replied(session: AsyncSession, world: World, case: Case) -> None:
    lead = await assignment_of(session, case, world.departments["urban_mgmt"].id)
    if case.status == CaseStatus.dispatched:
        await accept(session, case, lead)
    await reply(session, case, lead)


async def test_a_replied_suggestion_tells_its_author_and_cosigners_once_per_round(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    li = await add_deputy(session, world, "李代表")
    zhang = await add_deputy(session, world, "张代表")
    bystander = await add_deputy(session, world, "赵代表")
    case = await suggestion(session, world, world.deputy, [li, zhang], dispatched=True)
    await _replied(session, world, case)
    replied = await outbox_row(session, "case.replied", case)

    assert await post_event(client, session, replied) == "applied"
    assert await post_event(client, session, replied) == "duplicate"
    assert await post_event(client, session, replied, fresh_id=True) == "applied"
    await handle_directly(session, replied)
    first_round = [(d.id, case.id, "replied", 0) for d in (world.deputy, li, zhang)]
    assert await _notices(session) == sorted(first_round)
    assert bystander.id not in {n[0] for n in await _notices(session)}

    # Rated dissatisfied, replied again: a second round, a second notice each.
    lead = await assignment_of(session, case, world.departments["urban_mgmt"].id)
    await change_status(session, case, CaseStatus.rework, "rework", Actor("deputy", world.deputy.id))
    reopen_for_rework(lead)
    await reply(session, case, lead)
    assert await post_event(client, session, await outbox_row(session, "case.replied", case)) == "applied"
    second_round = [(d.id, case.id, "replied", 1) for d in (world.deputy, li, zhang)]
    assert await _notices(session) == sorted(first_round) + sorted(second_round)


async def test_a_late_replied_event_names_the_round_that_was_replied(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    case = await suggestion(session, world, world.deputy, dispatched=True)
    await _replied(session, world, case)
    replied = await outbox_row(session, "case.replied", case)
    # The deputy rated it dissatisfied before supervision heard of the reply.
    await change_status(session, case, CaseStatus.rework, "rework", Actor("deputy", world.deputy.id))
    assert case.rework_round == 1

    assert await post_event(client, session, replied) == "applied"
    assert await _notices(session) == [(world.deputy.id, case.id, "replied", 0)]


async def test_a_citizens_case_replied_tells_no_deputy(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    # Even one that came through the deputy's own code: the citizen is told, on the tracking page.
    case = await dispatched_case(
        session, world, deputy_id=world.deputy.id, intake_code_id=world.deputy_code.id
    )
    await _replied(session, world, case)
    assert await post_event(client, session, await outbox_row(session, "case.replied", case)) == "applied"
    assert await _notices(session) == []
