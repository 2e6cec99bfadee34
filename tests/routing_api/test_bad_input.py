"""No bad input reaches the database as a 500: every write endpoint, fed junk field by field and malformed bodies,
answers a 4xx."""

from __future__ import annotations

from tests.routing_api.conftest import dispatched_case

JUNK = [
    None,
    0,
    -1,
    2**63,
    2**64,
    1.5,
    True,
    "",
    "x",
    "中文",
    "a\x00b",
    "ab\x00cd",
    "\x07\x07",
    "9" * 5000,
    [],
    {},
    [1],
]
RAW_BODIES = [b"", b"null", b"[]", b"{", b'"x"', b"1e999", b'{"code": "\\ud800"}']


async def test_junk_never_causes_a_server_error(session, client, world):
    _, assignments = await dispatched_case(session, client, world, category="environment", grid="G1")
    lead, co = assignments["environment"].id, assignments["urban_mgmt"].id
    admin, lead_key, co_key = (
        world.auth("admin"),
        world.auth("dept:environment"),
        world.auth("dept:urban_mgmt"),
    )
    rule_fields = ["category_code", "grid_code", "assignments", "tier", "priority", "active"]
    category_fields = ["code", "name", "parent_code", "committee_code", "default_tier", "active", "follow_up"]
    targets = [
        ("POST", "/v1/grids", admin, ["code", "name"]),
        ("PATCH", f"/v1/grids/{world.grids['G1'].id}", admin, ["code", "name"]),
        ("POST", "/v1/committees", admin, ["code", "name"]),
        ("PATCH", f"/v1/committees/{world.committee.id}", admin, ["code", "name"]),
        ("POST", "/v1/categories", admin, category_fields),
        ("PATCH", f"/v1/categories/{world.categories['urban.sanitation'].id}", admin, category_fields),
        ("POST", "/v1/departments", admin, ["code", "name", "active"]),
        (
            "PATCH",
            f"/v1/departments/{world.departments['street_office'].id}",
            admin,
            ["code", "name", "active"],
        ),
        ("POST", "/v1/routing-rules", admin, rule_fields),
        ("PATCH", "/v1/routing-rules/1", admin, rule_fields),
        ("PUT", "/v1/fallback-department", admin, ["department_id"]),
        ("POST", f"/v1/assignments/{co}/decline", co_key, ["reason", "suggested_department_id"]),
        ("POST", f"/v1/assignments/{lead}/progress", lead_key, ["text", "public"]),
        ("POST", f"/v1/assignments/{co}/co-opinion", co_key, ["text"]),
        ("POST", f"/v1/assignments/{lead}/reply", lead_key, ["reply_class", "text"]),
    ]
    server_errors = []
    for method, path, auth, fields in targets:
        for field in fields:
            for junk in JUNK:
                response = await client.request(method, path, json={field: junk}, headers=auth)
                if response.status_code >= 500:
                    server_errors.append((method, path, field, junk))
        for raw in RAW_BODIES:
            headers = {**auth, "content-type": "application/json"}
            response = await client.request(method, path, content=raw, headers=headers)
            if response.status_code >= 500:
                server_errors.append((method, path, raw))
    for path, auth in [
        ("/v1/grids/-1", admin),
        ("/v1/grids/99999999999999999999", admin),
        ("/v1/routing-rules/1.5", admin),
        ("/v1/grids?cursor=aWQ6LTE", admin),
        ("/v1/assignments?limit=abc", lead_key),
        ("/v1/assignments?updated_since=yesterday", lead_key),
        ("/v1/assignments?cursor=" + "A" * 300, lead_key),
    ]:
        response = await client.get(path, headers=auth)
        assert response.status_code == 422, path
    assert server_errors == []


async def test_text_with_control_characters_is_refused_in_chinese(session, client, world):
    _, assignments = await dispatched_case(session, client, world, category="urban")
    a = assignments["urban_mgmt"]
    auth = world.auth("dept:urban_mgmt")
    await client.post(f"/v1/assignments/{a.id}/accept", headers=auth)
    response = await client.post(
        f"/v1/assignments/{a.id}/reply", json={"reply_class": "A", "text": "已处理\x00完毕"}, headers=auth
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"] == [{"field": "text", "message": "不能包含控制字符"}]
    multi_line = await client.post(
        f"/v1/assignments/{a.id}/reply",
        json={"reply_class": "A", "text": "已处理。\n\t路灯已更换。"},
        headers=auth,
    )
    assert multi_line.status_code == 200
    name = await client.post(
        "/v1/grids", json={"code": "G9", "name": "九号\n网格"}, headers=world.auth("admin")
    )
    assert name.status_code == 422
    assert name.json()["error"]["details"] == [{"field": "name", "message": "不能包含换行或控制字符"}]
