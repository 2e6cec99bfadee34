"""GET /v1/extension-requests: the jurisdiction's extension requests for congress staff, by status and
department, oldest first, one jurisdiction only; a department's request made through routing_api waits here
as pending."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from routing_api.app import create_app as create_routing_app
from shared.db.models import Case, Deadline, ExtensionRequest
from tests.asgi import client_for, running
from tests.factories import World, build_world
from tests.supervision_api.arrange import accept, assignment_of, dispatched_case

DUE = datetime(2026, 12, 10, 10, 0, tzinfo=UTC)


async def _request(
    session: AsyncSession,
    world: World,
    case: Case,
    department: str,
    *,
    status: str = "pending",
    days: int = 10,
) -> ExtensionRequest:
    assignment = await assignment_of(session, case, world.departments[department].id)
    request = ExtensionRequest(
        jurisdiction_id=world.jurisdiction.id,
        case_id=case.id,
        assignment_id=assignment.id,
        department_id=assignment.department_id,
        round=0,
        current_due_at=DUE,
        requested_until=DUE + timedelta(days=days),
        reason="需协调多部门联合整改",
        status=status,
        decided_at=None if status == "pending" else DUE,
    )
    session.add(request)
    await session.flush()
    return request


async def _ids(
    client: httpx.AsyncClient, world: World, who: str = "supervisor", **params: object
) -> list[int]:
    response = await client.get("/v1/extension-requests", params=params, headers=world.auth(who))
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


async def _arranged(session: AsyncSession, world: World) -> dict[str, ExtensionRequest]:
    first = await dispatched_case(session, world)
    second = await dispatched_case(
        session,
        world,
        assignments=(("environment", "lead"), ("street_office", "separate")),
        category="environment",
    )
    found = {
        "urban_pending": await _request(session, world, first, "urban_mgmt"),
        "env_refused": await _request(session, world, second, "environment", status="refused"),
        "env_pending": await _request(session, world, second, "environment"),
        "street_approved": await _request(session, world, second, "street_office", status="approved"),
    }
    await session.commit()
    return found


async def test_staff_list_requests_by_status_and_department_oldest_first(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    r = await _arranged(session, world)
    everything = [r["urban_pending"].id, r["env_refused"].id, r["env_pending"].id, r["street_approved"].id]
    assert await _ids(client, world) == everything
    assert await _ids(client, world, "admin", status="pending") == [
        r["urban_pending"].id,
        r["env_pending"].id,
    ]
    assert await _ids(client, world, status="approved") == [r["street_approved"].id]
    environment = world.departments["environment"].id
    assert await _ids(client, world, department_id=environment) == [r["env_refused"].id, r["env_pending"].id]
    assert await _ids(client, world, status="pending", department_id=environment) == [r["env_pending"].id]

    item = (await client.get("/v1/extension-requests?limit=1", headers=world.auth("supervisor"))).json()
    assert item["items"][0] | {"created_at": None} == {
        "id": r["urban_pending"].id,
        "case_id": r["urban_pending"].case_id,
        "tracking_no": item["items"][0]["tracking_no"],
        "assignment_id": r["urban_pending"].assignment_id,
        "role": "lead",
        "department_id": world.departments["urban_mgmt"].id,
        "department_name": "区城管局",
        "round": 0,
        "current_due_at": "2026-12-10T10:00:00Z",
        "requested_until": "2026-12-20T10:00:00Z",
        "reason": "需协调多部门联合整改",
        "status": "pending",
        "created_at": None,
        "decided_at": None,
        "decision_note": None,
        "approved_until": None,
    }
    rest = await client.get(
        "/v1/extension-requests", params={"cursor": item["next_cursor"]}, headers=world.auth("supervisor")
    )
    assert [i["id"] for i in rest.json()["items"]] == everything[1:]
    assert rest.json()["next_cursor"] is None


async def test_only_the_callers_jurisdiction(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    other = await build_world(session, code="XC", name="相城区")
    theirs = await dispatched_case(session, other)
    await _request(session, other, theirs, "urban_mgmt")
    await session.commit()
    assert await _ids(client, world) == []
    assert await _ids(client, world, department_id=other.departments["urban_mgmt"].id) == []
    assert len(await _ids(client, other)) == 1


@pytest.mark.parametrize("who", ["dispatcher", "dept:urban_mgmt", "deputy", "integrator"])
async def test_only_supervisors_and_admins(
    client: httpx.AsyncClient, session: AsyncSession, world: World, who: str
) -> None:
    response = await client.get("/v1/extension-requests", headers=world.auth(who))
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "当前角色无权执行此操作"


@pytest.mark.parametrize("query", ["status=waiting", "department_id=0", "department_id=abc", "cursor=nope"])
async def test_bad_filters_are_422(
    client: httpx.AsyncClient, session: AsyncSession, world: World, query: str
) -> None:
    response = await client.get(f"/v1/extension-requests?{query}", headers=world.auth("supervisor"))
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


async def test_a_departments_request_waits_here_as_pending(
    client: httpx.AsyncClient, session: AsyncSession, world: World, engine: AsyncEngine
) -> None:
    case = await dispatched_case(session, world)
    lead = await assignment_of(session, case, world.departments["urban_mgmt"].id)
    await accept(session, case, lead)
    due = datetime.now(UTC) + timedelta(days=3)
    session.add(
        Deadline(
            jurisdiction_id=case.jurisdiction_id,
            case_id=case.id,
            assignment_id=lead.id,
            kind="reply",
            starts_at=datetime.now(UTC),
            due_at=due,
        )
    )
    await session.commit()
    routing = create_routing_app(engine)
    async with running(routing), client_for(routing) as departments:
        made = await departments.post(
            f"/v1/assignments/{lead.id}/extension-requests",
            json={"until": (due + timedelta(days=7)).isoformat(), "reason": "需协调供电公司迁移线路"},
            headers=world.auth("dept:urban_mgmt"),
        )
    assert made.status_code == 201, made.text
    pending = (
        await client.get("/v1/extension-requests?status=pending", headers=world.auth("supervisor"))
    ).json()["items"]
    assert [(i["id"], i["tracking_no"], i["reason"]) for i in pending] == [
        (made.json()["id"], case.tracking_no, "需协调供电公司迁移线路")
    ]
