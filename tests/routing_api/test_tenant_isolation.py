"""A second jurisdiction's keys against this one's objects, and its ids and codes in request bodies: 404 for
objects, empty lists, 422 for references (test_admin and test_assignments cover the plain reads)."""

from __future__ import annotations

from sqlalchemy import select

from shared.db.models import Assignment, Category, Committee
from tests.factories import build_world
from tests.routing_api.conftest import dispatched_case


async def test_another_jurisdictions_department_key_reaches_no_assignment(session, client, world):
    _, assignments = await dispatched_case(session, client, world, category="urban")
    mine = assignments["urban_mgmt"]
    other = await build_world(session, code="XC", name="相城区")
    await session.commit()
    theirs = other.auth("dept:urban_mgmt")  # the same department code, in the other jurisdiction

    assert (await client.get("/v1/assignments", headers=theirs)).json()["items"] == []
    for action, body in (
        ("accept", None),
        ("decline", {"reason": "不属于本单位职责"}),
        ("progress", {"text": "已派人查看"}),
        ("co-opinion", {"text": "建议联合执法"}),
        ("reply", {"reply_class": "A", "text": "已处理"}),
    ):
        response = await client.post(f"/v1/assignments/{mine.id}/{action}", json=body, headers=theirs)
        assert response.status_code == 404, action
    status = await session.scalar(select(Assignment.status).where(Assignment.id == mine.id))
    assert status == "pending"


async def test_another_jurisdictions_admin_changes_nothing_here(session, client, world):
    other = await build_world(session, code="XC", name="相城区")
    session.add(Committee(jurisdiction_id=world.jurisdiction.id, code="gs-only", name="仅姑苏"))
    session.add(Category(jurisdiction_id=world.jurisdiction.id, code="gs-top", name="仅姑苏"))
    await session.commit()
    admin = other.auth("admin")
    own_rule = (await client.get("/v1/routing-rules", headers=admin)).json()["items"][0]["id"]
    rules_here = (await client.get("/v1/routing-rules", headers=world.auth("admin"))).json()["items"]

    for path, body in (
        (f"/v1/committees/{world.committee.id}", {"name": "改名"}),
        (f"/v1/categories/{world.categories['urban'].id}", {"name": "改名"}),
        (f"/v1/departments/{world.departments['urban_mgmt'].id}", {"active": False}),
        (f"/v1/routing-rules/{rules_here[0]['id']}", {"priority": 9}),
    ):
        assert (await client.patch(path, json=body, headers=admin)).status_code == 404, path

    here = world.departments["urban_mgmt"].id
    for method, path, body, field in (
        ("POST", "/v1/categories", {"code": "x", "name": "x", "parent_code": "gs-top"}, "parent_code"),
        ("POST", "/v1/categories", {"code": "x", "name": "x", "committee_code": "gs-only"}, "committee_code"),
        (
            "PATCH",
            f"/v1/routing-rules/{own_rule}",
            {"assignments": [{"department_id": here, "role": "lead"}]},
            "assignments.0.department_id",
        ),
    ):
        response = await client.request(method, path, json=body, headers=admin)
        assert response.status_code == 422, (path, body)
        assert response.json()["error"]["details"][0]["field"] == field

    after = (await client.get("/v1/routing-rules", headers=world.auth("admin"))).json()["items"]
    assert after == rules_here
