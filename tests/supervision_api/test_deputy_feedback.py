"""POST /v1/cases/{id}/feedback: the deputy's rating of the reply to their suggestion decides it (satisfied
closes, dissatisfied sends it to rework on the suggestion_rework tier, 1 month or the jurisdiction's policy);
only the author rates (a supervisor may record it for them), once per reply round; the citizen's page cannot
rate a suggestion, and a deputy cannot rate a citizen's case. The statutory clock: 3 months from dispatch,
extended to 6 months at most, however many approvals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from intake_api.app import create_app as create_intake_app
from shared.calendar import add_months
from shared.db.enums import CaseKind
from shared.db.models import (
    Assignment,
    Case,
    CaseCosigner,
    CaseEvent,
    Deadline,
    ExtensionRequest,
    Feedback,
    OutboxEvent,
)
from shared.security.keys import sha256_hex
from tests.asgi import client_for, running
from tests.factories import World, add_deputy, add_key, build_world
from tests.supervision_api.arrange import (
    SHANGHAI,
    accept,
    assignment_of,
    deliver,
    dispatched_case,
    reply,
)

ACCESS_KEY = "suggestion-access-key-0001"


def _recently() -> datetime:
    """A dispatch moment a day ago, on the minute, so deadlines counted from it lie ahead."""
    return (datetime.now(UTC) - timedelta(days=1)).replace(second=0, microsecond=0)


async def _suggestion(
    client: httpx.AsyncClient,
    session: AsyncSession,
    world: World,
    *,
    replied: bool = True,
    kind: str = CaseKind.deputy_suggestion,
    at: datetime | None = None,
) -> tuple[Case, Assignment]:
    """A suggestion by the world's deputy, dispatched to urban_mgmt as lead (deadlines recorded), accepted
    and, unless told otherwise, replied; committed."""
    case = await dispatched_case(
        session, world, at=at or _recently(), tier=None, kind=kind, deputy_id=world.deputy.id
    )
    case.access_key_hash = sha256_hex(ACCESS_KEY)
    assert (await deliver(client, session, case, "case.dispatched")).status_code == 200
    lead = await assignment_of(session, case, world.departments["urban_mgmt"].id)
    await accept(session, case, lead)
    if replied:
        await reply(session, case, lead)
    await session.commit()
    return case, lead


async def _rate(
    client: httpx.AsyncClient, world: World, case: Case, rating: str, who: str = "deputy", **body: object
) -> httpx.Response:
    return await client.post(
        f"/v1/cases/{case.id}/feedback", json={"rating": rating, **body}, headers=world.auth(who)
    )


async def _feedback(session: AsyncSession, case: Case) -> list[Feedback]:
    rows = await session.scalars(
        select(Feedback).where(Feedback.case_id == case.id).execution_options(populate_existing=True)
    )
    return list(rows)


async def _reload(session: AsyncSession, case: Case) -> Case:
    return (
        await session.execute(
            select(Case).where(Case.id == case.id).execution_options(populate_existing=True)
        )
    ).scalar_one()


async def _rework_deadlines(session: AsyncSession, case: Case) -> list[Deadline]:
    rows = await session.scalars(
        select(Deadline)
        .where(Deadline.case_id == case.id, Deadline.kind == "reply", Deadline.round == 1)
        .execution_options(populate_existing=True)
    )
    return list(rows)


async def _went_to_rework_at(session: AsyncSession, case: Case) -> datetime:
    return (
        await session.execute(
            select(CaseEvent.at).where(CaseEvent.case_id == case.id, CaseEvent.type == "rework")
        )
    ).scalar_one()


# --- who may rate ------------------------------------------------------------------------------------------


async def test_the_author_rates_satisfied_and_the_suggestion_closes(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    case, _ = await _suggestion(client, session, world)

    rated = await _rate(client, world, case, "satisfied", comment="答复具体，已落实")

    assert rated.status_code == 201, rated.text
    out = rated.json()
    assert out["status"] == "closed" and out["rework_due_at"] is None
    assert (out["deputy_id"], out["rating"], out["rating_label"], out["round"]) == (
        world.deputy.id,
        "satisfied",
        "满意",
        0,
    )
    assert out["recorded_by"] == {"type": "deputy", "id": world.deputy.id}
    closed = await _reload(session, case)
    assert (closed.status, closed.close_reason) == ("closed", "rated")
    (feedback,) = await _feedback(session, case)
    assert (feedback.source, feedback.rating, feedback.comment) == ("deputy", "satisfied", "答复具体，已落实")
    events = list(
        await session.scalars(
            select(OutboxEvent).where(OutboxEvent.case_id == case.id).order_by(OutboxEvent.id)
        )
    )
    assert [e.type for e in events][-2:] == ["case.feedback", "case.closed"]
    payload = events[-2].payload
    assert (payload["source"], payload["rating"], payload["deputy_id"]) == (
        "deputy",
        "satisfied",
        world.deputy.id,
    )
    assert "comment" not in payload


async def test_basically_satisfied_also_closes(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    case, _ = await _suggestion(client, session, world)
    rated = await _rate(client, world, case, "basically_satisfied")
    assert rated.status_code == 201 and rated.json()["status"] == "closed"


async def test_only_the_author_rates_co_signers_others_and_departments_cannot(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    cosigner = await add_deputy(session, world, "李代表", key="cosigner")
    await add_deputy(session, world, "赵代表", key="other deputy")
    case, _ = await _suggestion(client, session, world)
    session.add(CaseCosigner(case_id=case.id, deputy_id=cosigner.id, position=1))
    other_world = await build_world(session, code="WZ", name="吴中区")
    outsider = await add_key(session, other_world.jurisdiction.id, "deputy", deputy_id=other_world.deputy.id)
    await session.commit()

    by_cosigner = await _rate(client, world, case, "dissatisfied", who="cosigner")
    assert by_cosigner.status_code == 403
    assert by_cosigner.json()["error"]["code"] == "cosigner_cannot_rate"
    assert "联名代表不能评价" in by_cosigner.json()["error"]["message"]
    by_other = await _rate(client, world, case, "dissatisfied", who="other deputy")
    assert by_other.status_code == 404 and by_other.json()["error"]["code"] == "case_not_found"
    by_outsider = await client.post(
        f"/v1/cases/{case.id}/feedback",
        json={"rating": "dissatisfied"},
        headers={"Authorization": f"Bearer {outsider}"},
    )
    assert by_outsider.status_code == 404
    for role in ("dept:urban_mgmt", "admin", "dispatcher", "integrator"):
        assert (await _rate(client, world, case, "dissatisfied", who=role)).status_code == 403
    no_key = await client.post(f"/v1/cases/{case.id}/feedback", json={"rating": "satisfied"})
    assert no_key.status_code == 401
    assert await _feedback(session, case) == []
    assert (await _reload(session, case)).status == "replied"

    assert (await _rate(client, world, case, "satisfied")).status_code == 201


async def test_a_supervisor_records_the_deputys_rating_on_their_behalf(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    case, _ = await _suggestion(client, session, world)

    rated = await _rate(client, world, case, "satisfied", who="supervisor", comment="代表书面反馈：满意")

    assert rated.status_code == 201, rated.text
    out = rated.json()
    assert out["deputy_id"] == world.deputy.id and out["recorded_by"]["type"] == "supervisor"
    (feedback,) = await _feedback(session, case)
    assert feedback.source == "deputy"
    logged = (
        await session.execute(
            select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.type == "feedback")
        )
    ).scalar_one()
    assert logged.actor_type == "supervisor" and logged.actor_id == out["recorded_by"]["id"]
    assert logged.data["deputy_id"] == world.deputy.id and logged.data["recorded_by"] == "supervisor"
    # The deputy cannot rate the same reply again.
    again = await _rate(client, world, case, "dissatisfied")
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_rated"


async def test_a_citizens_case_is_not_rated_by_a_deputy(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    # Raised through the deputy's own code: the deputy sees it, but its citizen rates it.
    case, _ = await _suggestion(client, session, world, kind=CaseKind.citizen)
    for who in ("deputy", "supervisor"):
        refused = await _rate(client, world, case, "satisfied", who=who)
        assert refused.status_code == 422
        assert refused.json()["error"] == {
            "code": "citizen_case_rated_by_citizen",
            "message": "群众反映由群众评价",
            "details": [],
        }
    assert await _feedback(session, case) == [] and (await _reload(session, case)).status == "replied"


# --- when --------------------------------------------------------------------------------------------------


async def test_no_rating_before_the_reply_and_one_per_round(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    case, lead = await _suggestion(client, session, world, replied=False)
    early = await _rate(client, world, case, "satisfied")
    assert early.status_code == 422
    assert early.json()["error"]["code"] == "suggestion_not_replied"
    assert early.json()["error"]["message"] == "该建议尚未答复，暂不能评价"

    await reply(session, case, lead)
    await session.commit()
    assert (await _rate(client, world, case, "dissatisfied", comment="未解决根本问题")).status_code == 201
    twice = await _rate(client, world, case, "satisfied")
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "already_rated"
    assert len(await _feedback(session, case)) == 1
    assert (await _reload(session, case)).status == "rework"


async def test_bad_bodies_are_422_and_change_nothing(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    case, _ = await _suggestion(client, session, world)
    for body in (
        {"rating": "happy"},
        {},
        {"rating": "satisfied", "extra": 1},
        {"rating": "satisfied", "comment": "x" * 2001},
    ):
        bad = await client.post(f"/v1/cases/{case.id}/feedback", json=body, headers=world.auth("deputy"))
        assert bad.status_code == 422, body
    assert (
        await client.post(
            "/v1/cases/999999/feedback", json={"rating": "satisfied"}, headers=world.auth("deputy")
        )
    ).status_code == 404
    assert await _feedback(session, case) == []


# --- rework ------------------------------------------------------------------------------------------------


async def test_dissatisfied_sends_it_to_rework_within_one_month_by_default(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    case, lead = await _suggestion(client, session, world)

    rated = await _rate(client, world, case, "dissatisfied", comment="未解决根本问题")

    assert rated.status_code == 201, rated.text
    reworked = await _reload(session, case)
    assert (reworked.status, reworked.rework_round) == ("rework", 1)
    at = await _went_to_rework_at(session, case)
    expected = add_months(at.astimezone(SHANGHAI), 1)
    assert datetime.fromisoformat(rated.json()["rework_due_at"]) == expected
    (deadline,) = await _rework_deadlines(session, case)
    assert (deadline.assignment_id, deadline.tier, deadline.due_at) == (
        lead.id,
        "suggestion_rework",
        expected,
    )
    types = list(
        await session.scalars(
            select(OutboxEvent.type).where(OutboxEvent.case_id == case.id).order_by(OutboxEvent.id)
        )
    )
    assert types[-2:] == ["case.feedback", "case.rework"]

    # Supervision hearing case.rework later finds the deadline in place and adds nothing.
    assert (await deliver(client, session, case, "case.rework")).status_code == 200
    assert [d.id for d in await _rework_deadlines(session, case)] == [deadline.id]


async def test_a_jurisdiction_allows_two_months_for_a_suggestions_rework(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    policy = await client.put(
        "/v1/sla-policies",
        json={"items": [{"tier": "suggestion_rework", "duration": {"months": 2}}]},
        headers=world.auth("admin"),
    )
    assert policy.status_code == 200, policy.text
    listed = {p["tier"]: p for p in policy.json()["items"]}
    assert listed["suggestion_rework"]["label"] == "建议重新办理"
    assert listed["suggestion_rework"]["default_duration"] == {"months": 1}
    assert listed["rework"]["duration"] == {"months": 1}  # citizens' cases keep theirs
    case, _ = await _suggestion(client, session, world)

    rated = await _rate(client, world, case, "dissatisfied", comment="未解决根本问题")

    assert rated.status_code == 201, rated.text
    expected = add_months((await _went_to_rework_at(session, case)).astimezone(SHANGHAI), 2)
    assert datetime.fromisoformat(rated.json()["rework_due_at"]) == expected
    (deadline,) = await _rework_deadlines(session, case)
    assert (deadline.tier, deadline.due_at) == ("suggestion_rework", expected)


# --- the citizen's page ------------------------------------------------------------------------------------


async def test_the_citizens_rating_is_refused_on_a_suggestion(
    engine: AsyncEngine, client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    case, _ = await _suggestion(client, session, world)
    intake = create_intake_app(engine)
    async with running(intake), client_for(intake) as public:
        view = await public.get(f"/v1/public/cases/{case.tracking_no}", params={"k": ACCESS_KEY})
        assert view.status_code == 200 and view.json()["can_rate"] is False
        refused = await public.post(
            f"/v1/public/cases/{case.tracking_no}/feedback",
            params={"k": ACCESS_KEY},
            json={"rating": "satisfied"},
        )
        assert refused.status_code == 422
        assert refused.json()["error"]["code"] == "suggestion_rated_by_deputy"
        assert "由提出建议的代表评价" in refused.json()["error"]["message"]
        page = await public.post(
            f"/t/{case.tracking_no}/feedback", params={"k": ACCESS_KEY}, data={"rating": "dissatisfied"}
        )
        assert page.status_code == 422 and "由提出建议的代表评价" in page.text
    assert await _feedback(session, case) == [] and (await _reload(session, case)).status == "replied"

    assert (await _rate(client, world, case, "satisfied")).status_code == 201


# --- the statutory clock -----------------------------------------------------------------------------------


async def _request_extension(
    session: AsyncSession, world: World, lead: Assignment, until: datetime
) -> ExtensionRequest:
    """The lead asks to move its reply deadline in force to ``until`` (as routing records it)."""
    deadline = (
        await session.execute(
            select(Deadline)
            .where(
                Deadline.assignment_id == lead.id,
                Deadline.kind == "reply",
                Deadline.superseded_at.is_(None),
            )
            .execution_options(populate_existing=True)
        )
    ).scalar_one()
    request = ExtensionRequest(
        jurisdiction_id=world.jurisdiction.id,
        case_id=lead.case_id,
        assignment_id=lead.id,
        department_id=lead.department_id,
        round=deadline.round,
        current_due_at=deadline.due_at,
        requested_until=until,
        reason="需协调市级部门立项",
    )
    session.add(request)
    await session.commit()
    return request


async def _approve(
    client: httpx.AsyncClient, world: World, request: ExtensionRequest, until: datetime | None = None
) -> httpx.Response:
    body = {"until": until.isoformat()} if until else {}
    return await client.post(
        f"/v1/extension-requests/{request.id}/approve", json=body, headers=world.auth("supervisor")
    )


async def test_a_suggestion_is_due_in_three_months_and_extensions_never_pass_six(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    dispatched = _recently()
    _, lead = await _suggestion(client, session, world, replied=False, at=dispatched)
    local = dispatched.astimezone(SHANGHAI)
    (original,) = list(
        await session.scalars(
            select(Deadline).where(Deadline.assignment_id == lead.id, Deadline.kind == "reply")
        )
    )
    assert (original.tier, original.due_at) == ("deputy_suggestion", add_months(local, 3))
    six_months = add_months(local, 6)

    # A first extension to five months; then a second asking for seven: the cap counts from the dispatch,
    # not from the deadline in force, so it is refused with the six-month date, and so is a minute more.
    first = await _approve(
        client, world, await _request_extension(session, world, lead, add_months(local, 5))
    )
    assert first.status_code == 200, first.text
    second = await _request_extension(session, world, lead, add_months(local, 7))
    beyond = await _approve(client, world, second)
    assert beyond.status_code == 422
    error = beyond.json()["error"]
    assert error["code"] == "extension_beyond_cap" and "最长六个月" in error["message"]
    assert datetime.fromisoformat(error["details"][0]["max_until"]) == six_months
    one_minute_more = await _approve(client, world, second, six_months + timedelta(minutes=1))
    assert one_minute_more.json()["error"]["code"] == "extension_beyond_cap"

    exactly = await _approve(client, world, second, six_months)
    assert exactly.status_code == 200, exactly.text
    in_force = (
        await session.execute(
            select(Deadline.due_at).where(
                Deadline.assignment_id == lead.id, Deadline.kind == "reply", Deadline.superseded_at.is_(None)
            )
        )
    ).scalar_one()
    assert in_force == six_months
