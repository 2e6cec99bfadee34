"""POST/GET /v1/assignments/{id}/consultations: the department answering a deputy suggestion records how it
consulted the deputy (面商/电话/书面); under the jurisdiction's require_consultation policy its reply waits for
one (422, nothing changed), while citizens' cases are never held."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.calendar import SHANGHAI
from shared.db.models import Assignment, Case, CaseCosigner, CaseEvent, Consultation, OutboxEvent, Reply
from tests.factories import World, add_deputy, add_key, build_world
from tests.routing_api.conftest import dispatched_case

LEAD = "dept:urban_mgmt"


def _today() -> str:
    return datetime.now(SHANGHAI).date().isoformat()


async def _suggestion(
    session: AsyncSession, client: httpx.AsyncClient, world: World, **fields: Any
) -> tuple[Case, dict[str, Assignment]]:
    """A suggestion by the world's deputy, dispatched by the rules (urban: urban_mgmt leads)."""
    fields.setdefault("category", "urban")
    return await dispatched_case(
        session, client, world, kind="deputy_suggestion", deputy_id=world.deputy.id, **fields
    )


async def _consult(
    client: httpx.AsyncClient, world: World, assignment: Assignment, who: str = LEAD, **body: Any
) -> httpx.Response:
    payload = {"held_on": _today(), "mode": "face", "note": "到代表所在社区面商，说明整改计划", **body}
    return await client.post(
        f"/v1/assignments/{assignment.id}/consultations", json=payload, headers=world.auth(who)
    )


async def _accept(client: httpx.AsyncClient, world: World, assignment: Assignment, who: str = LEAD) -> None:
    response = await client.post(f"/v1/assignments/{assignment.id}/accept", headers=world.auth(who))
    assert response.status_code == 200, response.text


async def _reply(
    client: httpx.AsyncClient, world: World, assignment: Assignment, who: str = LEAD
) -> httpx.Response:
    return await client.post(
        f"/v1/assignments/{assignment.id}/reply",
        json={"reply_class": "B", "text": "已列入明年改造计划，分两期实施"},
        headers=world.auth(who),
    )


async def _require_consultation(
    client: httpx.AsyncClient, world: World, value: bool | None
) -> dict[str, Any]:
    body: dict[str, Any] = {"classify_threshold": 0.6, "queue_unmatched": False}
    if value is not None:
        body["require_consultation"] = value
    put = await client.put("/v1/routing-settings", json=body, headers=world.auth("admin"))
    assert put.status_code == 200, put.text
    result: dict[str, Any] = put.json()
    return result


async def _count(session: AsyncSession, model: Any, **where: Any) -> int:
    query = select(func.count()).select_from(model).filter_by(**where)
    return int((await session.execute(query)).scalar_one())


# --- recording and reading ---------------------------------------------------------------------------------


async def test_the_lead_records_a_consultation_with_the_author_kept_in_the_case_log(
    session: AsyncSession, client: httpx.AsyncClient, world: World
) -> None:
    case, assignments = await _suggestion(session, client, world)
    lead = assignments["urban_mgmt"]
    outbox_before = await _count(session, OutboxEvent, case_id=case.id)

    recorded = await _consult(client, world, lead)

    assert recorded.status_code == 201, recorded.text
    out = recorded.json()
    assert {k: out[k] for k in ("case_id", "assignment_id", "department_id", "deputy_id", "deputy_name")} == {
        "case_id": case.id,
        "assignment_id": lead.id,
        "department_id": world.departments["urban_mgmt"].id,
        "deputy_id": world.deputy.id,
        "deputy_name": "王代表",
    }
    assert (out["held_on"], out["mode"], out["mode_label"]) == (_today(), "face", "面商")
    logged = (
        await session.execute(
            select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.type == "consulted")
        )
    ).scalar_one()
    assert (logged.actor_type, logged.actor_id, logged.public) == (
        "department",
        world.departments["urban_mgmt"].id,
        False,
    )
    assert logged.data["consultation_id"] == out["id"] and logged.data["mode"] == "face"
    # Case log only: nothing goes out to integrators.
    assert await _count(session, OutboxEvent, case_id=case.id) == outbox_before

    by_phone = await _consult(client, world, lead, mode="phone", note=None)
    assert by_phone.status_code == 201 and by_phone.json()["mode_label"] == "电话"
    listed = await client.get(f"/v1/assignments/{lead.id}/consultations", headers=world.auth(LEAD))
    assert listed.status_code == 200
    assert [c["mode"] for c in listed.json()["items"]] == ["phone", "face"]
    for staff in ("dispatcher", "supervisor", "admin"):
        seen = await client.get(f"/v1/assignments/{lead.id}/consultations", headers=world.auth(staff))
        assert seen.status_code == 200 and len(seen.json()["items"]) == 2, staff
    paged = await client.get(
        f"/v1/assignments/{lead.id}/consultations", params={"limit": 1}, headers=world.auth(LEAD)
    )
    rest = await client.get(
        f"/v1/assignments/{lead.id}/consultations",
        params={"limit": 1, "cursor": paged.json()["next_cursor"]},
        headers=world.auth(LEAD),
    )
    assert [c["mode"] for c in rest.json()["items"]] == ["face"] and rest.json()["next_cursor"] is None


async def test_other_departments_jurisdictions_and_roles_cannot(
    session: AsyncSession, client: httpx.AsyncClient, world: World
) -> None:
    _, assignments = await _suggestion(session, client, world)
    lead = assignments["urban_mgmt"]
    other = await build_world(session, code="XC", name="相城区")
    outsider = await add_key(session, other.jurisdiction.id, "supervisor")
    await session.commit()
    url = f"/v1/assignments/{lead.id}/consultations"

    assert (await _consult(client, world, lead, who="dept:environment")).status_code == 404
    assert (await client.get(url, headers=world.auth("dept:environment"))).status_code == 404
    assert (await client.get(url, headers={"Authorization": f"Bearer {outsider}"})).status_code == 404
    for role in ("deputy", "integrator"):
        assert (await client.get(url, headers=world.auth(role))).status_code == 403, role
    for role in ("deputy", "dispatcher", "supervisor", "admin"):
        assert (await _consult(client, world, lead, who=role)).status_code == 403, role
    assert (await client.get(url)).status_code == 401
    assert await _count(session, Consultation) == 0


async def test_the_deputy_consulted_is_the_author_or_a_co_signer(
    session: AsyncSession, client: httpx.AsyncClient, world: World
) -> None:
    case, assignments = await _suggestion(session, client, world)
    cosigner = await add_deputy(session, world, "李代表")
    stranger = await add_deputy(session, world, "赵代表")
    session.add(CaseCosigner(case_id=case.id, deputy_id=cosigner.id, position=1))
    await session.commit()
    lead = assignments["urban_mgmt"]

    with_cosigner = await _consult(client, world, lead, mode="written", deputy_id=cosigner.id)
    assert with_cosigner.status_code == 201, with_cosigner.text
    assert (with_cosigner.json()["deputy_id"], with_cosigner.json()["deputy_name"]) == (cosigner.id, "李代表")
    assert with_cosigner.json()["mode_label"] == "书面"
    refused = await _consult(client, world, lead, deputy_id=stranger.id)
    assert refused.status_code == 422
    assert refused.json()["error"]["details"] == [
        {"field": "deputy_id", "message": "该代表不是本建议的提出代表或联名代表"}
    ]
    assert await _count(session, Consultation) == 1


async def test_the_date_and_mode_are_checked(
    session: AsyncSession, client: httpx.AsyncClient, world: World
) -> None:
    _, assignments = await _suggestion(session, client, world)
    lead = assignments["urban_mgmt"]
    today = datetime.now(SHANGHAI).date()

    future = await _consult(client, world, lead, held_on=(today + timedelta(days=1)).isoformat())
    assert future.status_code == 422
    assert future.json()["error"]["details"] == [{"field": "held_on", "message": "沟通日期不能晚于今天"}]
    before = await _consult(client, world, lead, held_on=(today - timedelta(days=1)).isoformat())
    assert before.status_code == 422
    assert "不能早于建议提出之日" in before.json()["error"]["details"][0]["message"]
    for body in ({"mode": "email"}, {"held_on": "yesterday"}, {"held_on": "1900-01-01"}, {"extra": 1}):
        assert (await _consult(client, world, lead, **body)).status_code == 422, body
    missing = await client.post(
        f"/v1/assignments/{lead.id}/consultations", json={"mode": "face"}, headers=world.auth(LEAD)
    )
    assert missing.status_code == 422
    assert await _count(session, Consultation) == 0


async def test_only_the_lead_or_separate_unit_of_an_open_suggestion(
    session: AsyncSession, client: httpx.AsyncClient, world: World
) -> None:
    _, citizens = await dispatched_case(session, client, world, category="urban")
    refused = await _consult(client, world, citizens["urban_mgmt"])
    assert refused.status_code == 422
    assert refused.json()["error"] == {
        "code": "not_suggestion_answerer",
        "message": "只有代表建议的主办或分办单位才能登记与代表的沟通",
        "details": [],
    }
    # environment: environment leads, urban_mgmt is a co-handler.
    suggestion, assignments = await _suggestion(session, client, world, category="environment")
    co = assignments["urban_mgmt"]
    assert co.role == "co"
    assert (await _consult(client, world, co)).json()["error"]["code"] == "not_suggestion_answerer"
    assert (
        await _consult(client, world, assignments["environment"], who="dept:environment")
    ).status_code == 201

    await session.execute(update(Case).where(Case.id == suggestion.id).values(status="closed"))
    await session.commit()
    closed = await _consult(client, world, assignments["environment"], who="dept:environment")
    assert closed.status_code == 409 and closed.json()["error"]["code"] == "case_not_active"


# --- the policy --------------------------------------------------------------------------------------------


async def test_under_the_policy_a_suggestion_is_answered_only_after_a_consultation(
    session: AsyncSession, client: httpx.AsyncClient, world: World
) -> None:
    assert (await _require_consultation(client, world, True))["require_consultation"] is True
    got = await client.get("/v1/routing-settings", headers=world.auth("admin"))
    assert got.json()["require_consultation"] is True
    case, assignments = await _suggestion(session, client, world)
    lead = assignments["urban_mgmt"]
    await _accept(client, world, lead)
    outbox_before = await _count(session, OutboxEvent, case_id=case.id)

    refused = await _reply(client, world, lead)

    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "consultation_required"
    assert refused.json()["error"]["message"] == "本建议须先与代表沟通（面商、电话或书面）并登记，方可答复"
    await session.refresh(lead)
    await session.refresh(case)
    assert (lead.status, lead.replied_at, case.status) == ("accepted", None, "in_progress")
    assert await _count(session, Reply, case_id=case.id) == 0
    assert await _count(session, OutboxEvent, case_id=case.id) == outbox_before

    assert (await _consult(client, world, lead, mode="phone")).status_code == 201
    replied = await _reply(client, world, lead)
    assert replied.status_code == 200, replied.text
    await session.refresh(case)
    assert case.status == "replied"

    # A PUT that leaves the policy out keeps it.
    assert (await _require_consultation(client, world, None))["require_consultation"] is True


async def test_citizens_cases_are_never_held_and_the_policy_is_off_by_default(
    session: AsyncSession, client: httpx.AsyncClient, world: World
) -> None:
    # Off (the default): a suggestion is answered without a consultation.
    got = await client.get("/v1/routing-settings", headers=world.auth("admin"))
    assert got.json()["require_consultation"] is False
    _, assignments = await _suggestion(session, client, world)
    await _accept(client, world, assignments["urban_mgmt"])
    assert (await _reply(client, world, assignments["urban_mgmt"])).status_code == 200

    # On: a citizen's case is replied as before.
    await _require_consultation(client, world, True)
    _, citizens = await dispatched_case(session, client, world, category="urban")
    await _accept(client, world, citizens["urban_mgmt"])
    assert (await _reply(client, world, citizens["urban_mgmt"])).status_code == 200
    # Turned off again: a new suggestion is answered without one.
    assert (await _require_consultation(client, world, False))["require_consultation"] is False
    _, again = await _suggestion(session, client, world)
    await _accept(client, world, again["urban_mgmt"])
    assert (await _reply(client, world, again["urban_mgmt"])).status_code == 200
