"""Bad input anywhere under /open311/v2/ is the spec's error array with a 4xx, in the path's format, in
Chinese, never a 500; tokens answer only for what a POST issued; the OpenAPI documents every route."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from services.intake.open311 import tokens
from shared.db.models import Case
from shared.settings import get_settings
from tests.factories import build_world
from tests.intake_api.open311.conftest import BASE, add_bound_key, post_request, xml_records

ROUTES = (
    "discovery",
    "services",
    "services/urban.sanitation",
    "requests",
    "requests/GS20000101-0001",
    "tokens/1.00000000000000000000000000000000",
    "servicerequestupdates",
)


def _error(response, status: int) -> str:
    """The one error's description, checked to be the spec's array in the format the path asked for."""
    assert response.status_code == status, response.text
    if response.request.url.path.endswith(".xml"):
        (error,) = xml_records(response, "error")
        assert error["code"] == str(status)
        return str(error["description"])
    assert response.headers["content-type"].startswith("application/json")
    (error,) = response.json()
    assert set(error) == {"code", "description"} and error["code"] == status
    return str(error["description"])


async def test_paths_formats_and_methods(client, world) -> None:
    for route in ROUTES:
        assert "不是允许的取值" in _error(await client.get(f"{BASE}/{route}.html"), 400), route
    assert _error(await client.get(f"{BASE}/nothing.json"), 404) == "未找到该接口"
    assert _error(await client.get(f"{BASE}/services/urban/extra.xml"), 404) == "未找到该接口"
    assert _error(await client.delete(f"{BASE}/requests.json"), 405) == "不支持该请求方法"
    assert _error(await client.post(f"{BASE}/services.xml"), 405) == "不支持该请求方法"


@pytest.mark.parametrize("fmt", ["json", "xml"])
async def test_strange_parameters_are_400_or_404_never_500(client, world, fmt) -> None:
    nul, long = "a\x00b", "x" * 100
    for params in (
        {"jurisdiction_id": nul},
        {"jurisdiction_id": long},
        {"service_code": nul},
        {"service_request_id": "GS1,\u4e2d\u6587"},
        {"status": "open,,closed,open"},
        {"start_date": "2026-11-30T25:00:00"},
        {"end_date": "2026-11-30T08:00:00+25:00"},
    ):
        response = await client.get(f"{BASE}/requests.{fmt}", params=params)
        assert response.status_code in (200, 400), params
        if response.status_code == 400:
            _error(response, 400)
    assert "jurisdiction_id" in _error(
        await client.get(f"{BASE}/services.{fmt}", params={"jurisdiction_id": long}), 400
    )
    for path in ("requests/%FF%FE", "requests/%00", "requests/x y", "tokens/%00", f"tokens/{'9' * 60}"):
        assert _error(await client.get(f"{BASE}/{path}.{fmt}"), 404)
    for path in (f"requests/{long}", f"tokens/{long}"):
        assert "内容太长" in _error(await client.get(f"{BASE}/{path}.{fmt}"), 400)
    assert _error(await client.get(f"{BASE}/services/%00.{fmt}"), 400)
    assert _error(
        await client.get(f"{BASE}/servicerequestupdates.{fmt}", params={"until": "0001-01-01"}), 400
    )


async def test_posts_that_are_not_forms_or_too_large(client, world, session) -> None:
    key = await add_bound_key(session, world.jurisdiction.id, station_id=world.station.id)
    as_json = await client.post(
        f"{BASE}/requests.json",
        json={"api_key": key, "service_code": "urban", "description": "路灯坏了一个月"},
    )
    assert _error(as_json, 400) == "请以 application/x-www-form-urlencoded 表单提交"
    # A body over MINYI_MAX_BODY_BYTES: refused as it streams, in the spec's shape. (One that declares a
    # Content-Length over the limit is refused before any route, by the service-wide 413 in the house shape.)
    body = f"api_key={key}&description={'x' * 1_100_000}".encode()

    async def chunks():
        for start in range(0, len(body), 65536):
            yield body[start : start + 65536]

    streamed = await client.post(
        f"{BASE}/requests.xml",
        content=chunks(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert "提交的内容太大" in _error(streamed, 413)
    declared = await post_request(client, "xml", api_key=key, description="x" * 1_100_000)
    assert declared.status_code == 413
    too_long = await post_request(
        client, api_key=key, service_code="urban", description="长" * 4001, address_id="1"
    )
    assert "description" in _error(too_long, 400)
    assert (await session.execute(select(Case.id))).first() is None


async def test_tokens_answer_only_for_issued_tokens(client, world, session) -> None:
    key = await add_bound_key(session, world.jurisdiction.id, station_id=world.station.id)
    posted = await post_request(
        client, api_key=key, service_code="urban", description="路灯坏了一个月", address_string="干将路"
    )
    (created,) = posted.json()
    token = created["token"]
    assert (await client.get(f"{BASE}/tokens/{token}.json")).json() == [
        {"token": token, "service_request_id": created["service_request_id"]}
    ]
    (record,) = xml_records(await client.get(f"{BASE}/tokens/{token}.xml"), "request")
    assert record == {"token": token, "service_request_id": created["service_request_id"]}

    case_id = int(token.split(".")[0])
    forged = f"{case_id}.{'0' * 32}"
    other_case = tokens.issue(case_id + 1)
    beyond = f"{2**63}.{'0' * 32}"
    for bad in (forged, other_case, beyond, "1", f"{token}x"):
        assert _error(await client.get(f"{BASE}/tokens/{bad}.json"), 404) == "未找到该令牌（token）"
    await build_world(session, code="WZ", name="吴中区")
    await session.commit()
    elsewhere = await client.get(f"{BASE}/tokens/{token}.xml", params={"jurisdiction_id": "WZ"})
    assert _error(elsewhere, 404) == "未找到该令牌（token）"
    assert (
        await client.get(f"{BASE}/tokens/{token}.json", params={"jurisdiction_id": "GS"})
    ).status_code == 200


async def test_the_openapi_documents_every_route_in_both_formats(client, world) -> None:
    schema = (await client.get("/openapi.json")).json()
    paths = {path: ops for path, ops in schema["paths"].items() if path.startswith("/open311/v2/")}
    assert set(paths) == {
        "/open311/v2/discovery.{fmt}",
        "/open311/v2/services.{fmt}",
        "/open311/v2/services/{service_code}.{fmt}",
        "/open311/v2/requests.{fmt}",
        "/open311/v2/requests/{service_request_id}.{fmt}",
        "/open311/v2/tokens/{token}.{fmt}",
        "/open311/v2/servicerequestupdates.{fmt}",
    }
    for path, operations in paths.items():
        for method, operation in operations.items():
            assert operation["tags"] == ["open311"], (path, method)
            ok = operation["responses"]["201" if method == "post" else "200"]
            assert set(ok["content"]) == {"application/json", "application/xml"}, (path, method)
            assert set(operation["responses"]["4XX"]["content"]) == {"application/json", "application/xml"}
    post = paths["/open311/v2/requests.{fmt}"]["post"]
    form = post["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    form = schema["components"]["schemas"][form["$ref"].rsplit("/", 1)[1]] if "$ref" in form else form
    assert {"api_key", "service_code", "attribute[request_type]", "attribute[urgency]"} <= set(
        form["properties"]
    )


def test_tokens_survive_a_rotation_of_the_secret_key(monkeypatch) -> None:
    old = tokens.issue(42)
    assert tokens.case_id_of(old) == 42
    monkeypatch.setattr(get_settings(), "secret_keys", ("a-new-key-" + "n" * 32, get_settings().secret_key))
    new = tokens.issue(42)
    assert new != old and tokens.case_id_of(new) == 42 and tokens.case_id_of(old) == 42
    monkeypatch.setattr(get_settings(), "secret_keys", ("a-new-key-" + "n" * 32,))
    assert tokens.case_id_of(old) is None and tokens.case_id_of(new) == 42
