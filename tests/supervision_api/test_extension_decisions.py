"""POST /v1/extension-requests/{id}/approve and /refuse: an approval moves the department's reply deadline (the
old row kept as superseded, a new one in force with its alarms armed again), within the cap — 6 months from
dispatch for a deputy's suggestion, the policy's maximum days otherwise; a refusal leaves it; each decision
once, emitted as case.extension_decided."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from routing_api.app import create_app as create_routing_app
from shared.db.models import (
    Assignment,
    Case,
    CaseEvent,
    Deadline,
    ExtensionRequest,
    OutboxEvent,
    SupervisionSettings,
)
from tests.asgi import client_for, running
from tests.factories import World, build_world
from tests.supervision_api.arrange import (
    SEPT_30,
    SHANGHAI,
    accept,
    assignment_of,
    deliver,
    dispatched_case,
    reply,
)


async def _accepted_case(
    client: httpx.AsyncClient,
    session: AsyncSession,
    world: World,
    *,
    at: datetime,
    tier: str | None = "month",
    **fields: object,
) -> tuple[Case, Assignment]:
    """A case dispatched at ``at`` whose deadlines supervision recorded, accepted by its lead."""
    case = await dispatched_case(session, world, at=at, tier=tier, **fields)
    assert (await deliver(client, session, case, "case.dispatched")).status_code == 200
    lead = await assignment_of(session, case, world.departments["urban_mgmt"].id)
    await accept(session, case, lead)
    assert (await deliver(client, session, case, "case.accepted")).status_code == 200
    return case, lead


async def _reply_rows(session: AsyncSession, assignment: Assignment) -> list[Deadline]:
    rows = await session.scalars(
        select(Deadline)
        .where(Deadline.assignment_id == assignment.id, Deadline.kind == "reply")
        .order_by(Deadline.id)
        .execution_options(populate_existing=True)
    )
    return list(rows)


async def _request(
    session: AsyncSession, case: Case, assignment: Assignment, until: datetime
) -> ExtensionRequest:
    (deadline,) = await _reply_rows(session, assignment)
    request = ExtensionRequest(
        jurisdiction_id=case.jurisdiction_id,
        case_id=case.id,
        assignment_id=assignment.id,
        department_id=assignment.department_id,
        round=deadline.round,
        current_due_at=deadline.due_at,
        requested_until=until,
        reason="需协调供电公司迁移线路",
    )
    session.add(request)
    await session.commit()
    return request


async def _decide(
    client: httpx.AsyncClient,
    world: World,
    request_id: int,
    decision: str,
    body: dict[str, object],
    who: str = "supervisor",
) -> httpx.Response:
    return await client.post(
        f"/v1/extension-requests/{request_id}/{decision}", json=body, headers=world.auth(who)
    )


def _fresh_start() -> datetime:
    """A dispatch a day ago: its month-tier reply deadline lies ahead."""
    return datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)


async def test_approval_supersedes_the_deadline_and_arms_the_alarms_again(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    case, lead = await _accepted_case(client, session, world, at=_fresh_start())
    (original,) = await _reply_rows(session, lead)
    # The due-soon alarm of the deadline in force was raised already.
    original.due_soon_raised_at = datetime.now(UTC)
    await session.commit()
    asked = original.due_at + timedelta(days=20)
    request = await _request(session, case, lead, asked)

    approved = await _decide(client, world, request.id, "approve", {"note": "同意，请抓紧办理"})

    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert (body["status"], body["decision_note"]) == ("approved", "同意，请抓紧办理")
    assert datetime.fromisoformat(body["approved_until"]) == asked
    old, new = await _reply_rows(session, lead)
    assert old.id == original.id and old.due_at == original.due_at
    assert old.superseded_at is not None and old.met_at is None
    assert (new.round, new.tier, new.starts_at) == (old.round, old.tier, old.starts_at)
    assert new.due_at == asked and new.superseded_at is None and new.met_at is None
    # The trigger set the new alarm moments from the policy (75 % and 100 % of the allowed time), unraised.
    assert new.due_soon_at == new.starts_at + (asked - new.starts_at) * 0.75
    assert new.overdue_at == asked
    assert new.due_soon_raised_at is None and new.overdue_raised_at is None

    view = (await client.get(f"/v1/cases/{case.id}", headers=world.auth("supervisor"))).json()
    reply_dues = [d["due_at"] for d in view["deadlines"] if d["kind"] == "reply"]
    assert [datetime.fromisoformat(d) for d in reply_dues] == [asked]

    event = await session.scalar(
        select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.type == "extension_decided")
    )
    assert event is not None and event.public is True
    assert event.data["note"] == "同意，请抓紧办理" and event.data["approved"] is True
    outbound = await session.scalar(
        select(OutboxEvent).where(
            OutboxEvent.case_id == case.id, OutboxEvent.type == "case.extension_decided"
        )
    )
    assert outbound is not None
    assert outbound.payload["approved"] is True
    assert outbound.payload["extension_request_id"] == request.id
    assert datetime.fromisoformat(outbound.payload["until"]) == asked
    assert "note" not in outbound.payload and "reason" not in outbound.payload


async def test_the_approver_may_grant_less_than_asked(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    case, lead = await _accepted_case(client, session, world, at=_fresh_start())
    (original,) = await _reply_rows(session, lead)
    request = await _request(session, case, lead, original.due_at + timedelta(days=20))
    shorter = (original.due_at + timedelta(days=7)).astimezone(SHANGHAI)

    later = await _decide(
        client, world, request.id, "approve", {"until": (original.due_at + timedelta(days=21)).isoformat()}
    )
    assert later.status_code == 422
    assert later.json()["error"]["details"][0]["field"] == "until"
    not_later = await _decide(client, world, request.id, "approve", {"until": original.due_at.isoformat()})
    assert not_later.status_code == 422
    assert "须晚于当前答复期限" in not_later.json()["error"]["message"]

    approved = await _decide(client, world, request.id, "approve", {"until": shorter.isoformat()})
    assert approved.status_code == 200, approved.text
    assert datetime.fromisoformat(approved.json()["approved_until"]) == shorter
    assert [(d.due_at, d.superseded_at is None) for d in await _reply_rows(session, lead)] == [
        (original.due_at, False),
        (shorter, True),
    ]


async def test_refusal_keeps_the_deadline_and_says_why_to_the_department_only(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    case, lead = await _accepted_case(client, session, world, at=_fresh_start())
    (original,) = await _reply_rows(session, lead)
    request = await _request(session, case, lead, original.due_at + timedelta(days=10))

    assert (await _decide(client, world, request.id, "refuse", {})).status_code == 422
    refused = await _decide(client, world, request.id, "refuse", {"reason": "理由不充分，请按期答复"})

    assert refused.status_code == 200, refused.text
    assert refused.json()["status"] == "refused"
    assert refused.json()["decision_note"] == "理由不充分，请按期答复"
    assert refused.json()["approved_until"] is None
    (unchanged,) = await _reply_rows(session, lead)
    assert unchanged.due_at == original.due_at and unchanged.superseded_at is None
    event = await session.scalar(
        select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.type == "extension_decided")
    )
    assert event is not None and event.public is False
    outbound = await session.scalar(
        select(OutboxEvent).where(
            OutboxEvent.case_id == case.id, OutboxEvent.type == "case.extension_decided"
        )
    )
    assert outbound is not None
    assert (outbound.payload["approved"], outbound.payload["until"]) == (False, None)
    assert "理由不充分" not in str(outbound.payload)


@pytest.mark.parametrize("first", ["approve", "refuse"])
async def test_a_request_is_decided_once(
    client: httpx.AsyncClient, session: AsyncSession, world: World, first: str
) -> None:
    case, lead = await _accepted_case(client, session, world, at=_fresh_start())
    (original,) = await _reply_rows(session, lead)
    request = await _request(session, case, lead, original.due_at + timedelta(days=10))
    bodies = {"approve": {}, "refuse": {"reason": "请按期答复"}}

    assert (await _decide(client, world, request.id, first, bodies[first])).status_code == 200
    for decision, body in bodies.items():
        again = await _decide(client, world, request.id, decision, body)
        assert again.status_code == 409
        assert again.json()["error"]["code"] == "extension_decided"
    assert len(await _reply_rows(session, lead)) == (2 if first == "approve" else 1)
    decided = await session.scalars(
        select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.type == "extension_decided")
    )
    assert len(list(decided)) == 1


async def test_a_deputy_suggestion_is_never_extended_beyond_six_months_from_dispatch(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    # Dispatched 30 Sept 2026 10:00: replied within 3 months (30 Dec), extended to 30 March 2027 at most.
    case, lead = await _accepted_case(client, session, world, at=SEPT_30, tier=None, kind="deputy_suggestion")
    (original,) = await _reply_rows(session, lead)
    assert original.due_at == datetime(2026, 12, 30, 10, 0, tzinfo=SHANGHAI)
    cap = datetime(2027, 3, 30, 10, 0, tzinfo=SHANGHAI)
    request = await _request(session, case, lead, datetime(2027, 4, 15, 10, 0, tzinfo=SHANGHAI))

    beyond = await _decide(client, world, request.id, "approve", {})
    assert beyond.status_code == 422
    error = beyond.json()["error"]
    assert error["code"] == "extension_beyond_cap"
    assert "代表建议自交办之日" in error["message"] and "2027-03-30 10:00" in error["message"]
    assert error["details"][0]["field"] == "until"
    assert datetime.fromisoformat(error["details"][0]["max_until"]) == cap
    one_minute_more = await _decide(
        client, world, request.id, "approve", {"until": (cap + timedelta(minutes=1)).isoformat()}
    )
    assert one_minute_more.json()["error"]["code"] == "extension_beyond_cap"
    (still,) = await _reply_rows(session, lead)
    assert still.superseded_at is None and (await session.get(ExtensionRequest, request.id)) is not None

    # Exactly 6 months is allowed, though it is far more than the 30 days other cases may get.
    approved = await _decide(client, world, request.id, "approve", {"until": cap.isoformat()})
    assert approved.status_code == 200, approved.text
    assert [d.due_at for d in await _reply_rows(session, lead)] == [original.due_at, cap]


async def test_other_cases_are_extended_by_the_policys_maximum_days(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    case, lead = await _accepted_case(client, session, world, at=_fresh_start())
    (original,) = await _reply_rows(session, lead)
    request = await _request(session, case, lead, original.due_at + timedelta(days=40))

    default_cap = await _decide(client, world, request.id, "approve", {})
    assert default_cap.status_code == 422
    error = default_cap.json()["error"]
    assert error["code"] == "extension_beyond_cap" and "延长 30 天" in error["message"]
    assert datetime.fromisoformat(error["details"][0]["max_until"]) == original.due_at + timedelta(days=30)

    session.add(SupervisionSettings(jurisdiction_id=world.jurisdiction.id, extension_max_days=10))
    await session.commit()
    stricter = await _decide(
        client, world, request.id, "approve", {"until": (original.due_at + timedelta(days=11)).isoformat()}
    )
    assert stricter.status_code == 422 and "延长 10 天" in stricter.json()["error"]["message"]

    settings = await session.get(SupervisionSettings, world.jurisdiction.id)
    assert settings is not None
    settings.extension_max_days = 45
    await session.commit()
    approved = await _decide(client, world, request.id, "approve", {})
    assert approved.status_code == 200, approved.text
    assert datetime.fromisoformat(approved.json()["approved_until"]) == original.due_at + timedelta(days=40)


async def test_a_lead_extension_moves_the_co_handlers_opinion_deadline(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    case = await dispatched_case(
        session,
        world,
        at=_fresh_start(),
        tier="month",
        category="environment",
        assignments=(("environment", "lead"), ("urban_mgmt", "co")),
    )
    assert (await deliver(client, session, case, "case.dispatched")).status_code == 200
    lead = await assignment_of(session, case, world.departments["environment"].id)
    co = await assignment_of(session, case, world.departments["urban_mgmt"].id)
    await accept(session, case, lead)
    assert (await deliver(client, session, case, "case.accepted")).status_code == 200
    opinion_before = await session.scalar(
        select(Deadline.due_at).where(Deadline.assignment_id == co.id, Deadline.kind == "co_opinion")
    )
    (original,) = await _reply_rows(session, lead)
    request = await _request(session, case, lead, original.due_at + timedelta(days=14))

    assert (await _decide(client, world, request.id, "approve", {})).status_code == 200
    opinion_after = await session.scalar(
        select(Deadline.due_at)
        .where(Deadline.assignment_id == co.id, Deadline.kind == "co_opinion")
        .execution_options(populate_existing=True)
    )
    assert opinion_before is not None and opinion_after is not None
    assert opinion_after - opinion_before >= timedelta(days=10)


async def test_nothing_to_extend_once_the_department_replied(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    case, lead = await _accepted_case(client, session, world, at=_fresh_start())
    (original,) = await _reply_rows(session, lead)
    request = await _request(session, case, lead, original.due_at + timedelta(days=10))
    await reply(session, case, lead)
    await session.commit()

    moot = await _decide(client, world, request.id, "approve", {})
    assert moot.status_code == 409 and moot.json()["error"]["code"] == "extension_moot"
    assert (await _decide(client, world, request.id, "refuse", {"reason": "已答复"})).status_code == 200


async def test_other_jurisdictions_requests_are_not_found_and_other_roles_forbidden(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    case, lead = await _accepted_case(client, session, world, at=_fresh_start())
    (original,) = await _reply_rows(session, lead)
    request = await _request(session, case, lead, original.due_at + timedelta(days=10))
    other = await build_world(session, code="XC", name="相城区")
    await session.commit()

    for decision, body in (("approve", {}), ("refuse", {"reason": "请按期答复"})):
        theirs = await client.post(
            f"/v1/extension-requests/{request.id}/{decision}", json=body, headers=other.auth("supervisor")
        )
        assert theirs.status_code == 404
        assert theirs.json()["error"]["code"] == "extension_request_not_found"
        missing = await _decide(client, world, 999_999, decision, body)
        assert missing.status_code == 404
        for who in ("dispatcher", "dept:urban_mgmt", "deputy", "integrator"):
            assert (await _decide(client, world, request.id, decision, body, who)).status_code == 403
    stored = await session.get(ExtensionRequest, request.id, populate_existing=True)
    assert stored is not None and stored.status == "pending"
    # An admin may decide too.
    assert (await _decide(client, world, request.id, "approve", {}, "admin")).status_code == 200


async def test_the_department_sees_the_decision_and_its_new_deadline(
    client: httpx.AsyncClient, session: AsyncSession, world: World, engine: AsyncEngine
) -> None:
    _, lead = await _accepted_case(client, session, world, at=_fresh_start())
    (original,) = await _reply_rows(session, lead)
    asked = original.due_at + timedelta(days=12)
    department = world.auth("dept:urban_mgmt")
    routing = create_routing_app(engine)
    async with running(routing), client_for(routing) as departments:
        made = await departments.post(
            f"/v1/assignments/{lead.id}/extension-requests",
            json={"until": asked.isoformat(), "reason": "需协调供电公司迁移线路"},
            headers=department,
        )
        assert made.status_code == 201, made.text
        approved = await _decide(client, world, made.json()["id"], "approve", {"note": "同意"})
        assert approved.status_code == 200, approved.text

        seen = await departments.get(f"/v1/assignments/{lead.id}/extension-requests", headers=department)
        (item,) = seen.json()["items"]
        assert (item["status"], item["decision_note"]) == ("approved", "同意")
        assert datetime.fromisoformat(item["approved_until"]) == asked
        assignment = await departments.get(f"/v1/assignments/{lead.id}", headers=department)
        assert datetime.fromisoformat(assignment.json()["reply_due_at"]) == asked
