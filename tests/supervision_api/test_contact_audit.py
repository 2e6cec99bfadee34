"""Personal data on purpose: POST /v1/cases/{id}/contact answers a case's full submitter name and phone for a
stated reason and writes an audit row in the same transaction; GET /v1/audit/contact lists the rows; the
roles that may unmask are the jurisdiction's contact setting; confidential cases never."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db.enums import AssignmentStatus
from shared.db.models import ApiKey, Assignment, Case, ContactAudit
from shared.security.pii import encrypt
from tests.factories import World, build_world
from tests.supervision_api.arrange import dispatched_case

REASON = {"reason": "回访核实办理情况需要联系提交人"}


async def _case(session: AsyncSession, world: World, **fields: object) -> Case:
    case = await dispatched_case(
        session,
        world,
        submitter_name_enc=encrypt("张三丰"),
        submitter_phone_enc=encrypt("13812345678"),
        submitter_email_enc=encrypt("zhang@example.cn"),
        **fields,
    )
    await session.commit()
    return case


async def _audits(session: AsyncSession) -> list[ContactAudit]:
    return list((await session.scalars(select(ContactAudit).order_by(ContactAudit.id))).all())


async def _key_id(session: AsyncSession, world: World, role: str) -> int:
    return await session.scalar(
        select(ApiKey.id).where(
            ApiKey.jurisdiction_id == world.jurisdiction.id,
            ApiKey.role == role,
            ApiKey.department_id.is_(None),
        )
    )


async def test_supervisor_unmasks_with_a_reason_and_it_is_audited(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    case = await _case(session, world)
    response = await client.post(
        f"/v1/cases/{case.id}/contact", json=REASON, headers=world.auth("supervisor")
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["name"], body["phone"], body["case_id"]) == ("张三丰", "13812345678", case.id)
    assert body["email"] == "zhang@example.cn"
    [audit] = await _audits(session)
    assert audit.id == body["audit_id"]
    assert (audit.case_id, audit.role, audit.reason) == (case.id, "supervisor", REASON["reason"])
    assert audit.api_key_id == await _key_id(session, world, "supervisor")
    assert audit.jurisdiction_id == world.jurisdiction.id

    # The masked views stay masked.
    view = (await client.get(f"/v1/cases/{case.id}", headers=world.auth("supervisor"))).json()
    assert view["submitter"] == {"name": "张**", "phone": "138****5678"}
    listing = (await client.get("/v1/cases", headers=world.auth("supervisor"))).text
    assert "13812345678" not in listing and "张三丰" not in listing


async def test_a_reason_is_required(client: httpx.AsyncClient, session: AsyncSession, world: World) -> None:
    case = await _case(session, world)
    url, headers = f"/v1/cases/{case.id}/contact", world.auth("supervisor")
    for body in ({}, {"reason": "看看"}, {"reason": "        "}, {"reason": "长" * 201}):
        response = await client.post(url, json=body, headers=headers)
        assert response.status_code == 422, body
        assert response.json()["error"]["details"][0]["field"] == "reason"
    assert await _audits(session) == []


async def test_confidential_cases_are_refused_and_nothing_is_written(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    case = await _case(session, world, confidential=True)
    response = await client.post(f"/v1/cases/{case.id}/contact", json=REASON, headers=world.auth("admin"))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "contact_confidential"
    assert "保密" in response.json()["error"]["message"]
    assert await _audits(session) == []


async def test_a_case_without_personal_data_answers_nulls_still_audited(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    case = await dispatched_case(session, world)
    await session.commit()
    response = await client.post(f"/v1/cases/{case.id}/contact", json=REASON, headers=world.auth("admin"))
    assert response.status_code == 200
    assert (response.json()["name"], response.json()["phone"]) == (None, None)
    [audit] = await _audits(session)
    assert audit.role == "admin"


async def test_department_keys_only_when_the_setting_allows_and_only_their_cases(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    case = await _case(session, world)  # assigned to urban_mgmt
    url = f"/v1/cases/{case.id}/contact"
    refused = await client.post(url, json=REASON, headers=world.auth("dept:urban_mgmt"))
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "contact_role_not_allowed"

    admin = world.auth("admin")
    assert (await client.get("/v1/contact-settings", headers=admin)).json() == {
        "roles": ["supervisor", "admin"]
    }
    put = await client.put(
        "/v1/contact-settings", json={"roles": ["department", "supervisor"]}, headers=admin
    )
    assert put.status_code == 200 and put.json() == {"roles": ["supervisor", "department"]}
    bad = await client.put("/v1/contact-settings", json={"roles": ["deputy"]}, headers=admin)
    assert bad.status_code == 422
    assert (
        await client.put("/v1/contact-settings", json={"roles": []}, headers=world.auth("supervisor"))
    ).status_code == 403

    allowed = await client.post(url, json=REASON, headers=world.auth("dept:urban_mgmt"))
    assert allowed.status_code == 200 and allowed.json()["phone"] == "13812345678"
    other = await client.post(url, json=REASON, headers=world.auth("dept:environment"))
    assert other.status_code == 404
    # The admin is no longer in the setting.
    assert (await client.post(url, json=REASON, headers=admin)).status_code == 403

    # A declined assignment no longer shows the department the case.
    await session.execute(
        update(Assignment).where(Assignment.case_id == case.id).values(status=AssignmentStatus.declined)
    )
    await session.commit()
    assert (await client.post(url, json=REASON, headers=world.auth("dept:urban_mgmt"))).status_code == 404
    assert [a.role for a in await _audits(session)] == ["department"]


async def test_other_jurisdictions_and_other_roles(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    other = await build_world(session, code="WZ", name="吴中区")
    await session.commit()
    case = await _case(session, other)
    url = f"/v1/cases/{case.id}/contact"
    assert (await client.post(url, json=REASON, headers=world.auth("supervisor"))).status_code == 404
    for role in ("deputy", "integrator", "dispatcher"):
        assert (await client.post(url, json=REASON, headers=other.auth(role))).status_code == 403, role
        assert (await client.get("/v1/audit/contact", headers=other.auth(role))).status_code == 403, role
    assert await _audits(session) == []


async def test_the_audit_listing_filters_and_pages(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    first, second = await _case(session, world), await _case(session, world)
    for case, role in ((first, "supervisor"), (second, "supervisor"), (first, "admin")):
        body = {"reason": f"{role}核实第{case.id}号事项"}
        response = await client.post(f"/v1/cases/{case.id}/contact", json=body, headers=world.auth(role))
        assert response.status_code == 200
    other = await build_world(session, code="WZ", name="吴中区")
    await session.commit()
    other_case = await _case(session, other)
    assert (
        await client.post(f"/v1/cases/{other_case.id}/contact", json=REASON, headers=other.auth("admin"))
    ).status_code == 200
    ids = [a.id for a in await _audits(session) if a.jurisdiction_id == world.jurisdiction.id]

    staff = world.auth("admin")
    everything = (await client.get("/v1/audit/contact", headers=staff)).json()
    assert [row["id"] for row in everything["items"]] == ids[::-1]
    assert "13812345678" not in str(everything) and "张三丰" not in str(everything)
    assert set(everything["items"][0]) == {"id", "case_id", "api_key_id", "role", "reason", "created_at"}

    by_case = (await client.get("/v1/audit/contact", params={"case_id": first.id}, headers=staff)).json()
    assert [row["role"] for row in by_case["items"]] == ["admin", "supervisor"]
    supervisor_id = await _key_id(session, world, "supervisor")
    by_key = (
        await client.get(
            "/v1/audit/contact", params={"api_key_id": supervisor_id}, headers=world.auth("supervisor")
        )
    ).json()
    assert [row["case_id"] for row in by_key["items"]] == [second.id, first.id]

    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert (await client.get("/v1/audit/contact", params={"from": later}, headers=staff)).json()[
        "items"
    ] == []
    assert (
        len((await client.get("/v1/audit/contact", params={"to": later}, headers=staff)).json()["items"]) == 3
    )

    page1 = (await client.get("/v1/audit/contact", params={"limit": 2}, headers=staff)).json()
    assert [row["id"] for row in page1["items"]] == ids[::-1][:2]
    page2 = (
        await client.get(
            "/v1/audit/contact", params={"limit": 2, "cursor": page1["next_cursor"]}, headers=staff
        )
    ).json()
    assert [row["id"] for row in page2["items"]] == ids[::-1][2:]
    assert page2["next_cursor"] is None
    assert await session.scalar(select(func.count()).select_from(ContactAudit)) == 4
