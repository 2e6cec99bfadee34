"""Open311 services and service definitions: our active categories, with the request type and urgency as
single-value lists of the real enums, in JSON and XML; the jurisdiction by its code."""

from __future__ import annotations

import pytest

from shared.db.models import Category
from tests.factories import build_world
from tests.intake_api.open311.conftest import BASE, xml_records, xml_root


async def test_services_are_the_active_categories_grouped_by_top_level(client, world, session) -> None:
    world.categories["environment.noise"].active = False
    await session.commit()
    response = await client.get(f"{BASE}/services.json")
    assert response.status_code == 200
    services = {s["service_code"]: s for s in response.json()}
    assert list(services) == ["urban", "urban.sanitation", "environment"]
    sanitation = services["urban.sanitation"]
    assert sanitation == {
        "service_code": "urban.sanitation",
        "service_name": "市容环卫",
        "description": "城市管理 - 市容环卫方面的问题",
        "metadata": True,
        "type": "realtime",
        "keywords": "城市管理,市容环卫",
        "group": "城市管理",
    }
    assert services["urban"]["group"] == "城市管理" and services["urban"]["metadata"] is True

    xml = await client.get(f"{BASE}/services.xml")
    assert xml.status_code == 200
    assert xml_root(xml).tag == "services"
    records = xml_records(xml, "service")
    assert [r["service_code"] for r in records] == ["urban", "urban.sanitation", "environment"]
    assert records[1]["group"] == "城市管理" and records[1]["metadata"] == "true"
    assert records[1]["type"] == "realtime"


@pytest.mark.parametrize("fmt", ["json", "xml"])
async def test_a_definition_offers_request_type_and_urgency(client, world, fmt) -> None:
    response = await client.get(f"{BASE}/services/urban.sanitation.{fmt}")
    assert response.status_code == 200
    if fmt == "json":
        definition = response.json()
        attributes = {a["code"]: a for a in definition["attributes"]}
        values = {code: [(v["key"], v["name"]) for v in a["values"]] for code, a in attributes.items()}
        kinds = {a["datatype"] for a in definition["attributes"]}
        required = {a["required"] for a in definition["attributes"]}
        assert definition["service_code"] == "urban.sanitation"
    else:
        root = xml_root(response)
        assert root.tag == "service_definition" and root.findtext("service_code") == "urban.sanitation"
        elements = root.find("attributes").findall("attribute")
        values = {
            a.findtext("code"): [(v.findtext("key"), v.findtext("name")) for v in a.find("values")]
            for a in elements
        }
        kinds = {a.findtext("datatype") for a in elements}
        required = {a.findtext("required") for a in elements}
    assert values == {
        "request_type": [
            ("enquiry", "咨询"),
            ("help", "求助"),
            ("complaint", "投诉"),
            ("report", "举报"),
            ("suggestion", "建议"),
        ],
        "urgency": [("normal", "一般"), ("urgent", "紧急"), ("critical", "特急")],
    }
    assert kinds == {"singlevaluelist"}
    assert required in ({False}, {"false"})


@pytest.mark.parametrize("fmt", ["json", "xml"])
async def test_unknown_or_inactive_services_are_404_error_arrays(client, world, session, fmt) -> None:
    world.categories["environment.noise"].active = False
    await session.commit()
    for code in ("no.such", "environment.noise"):
        response = await client.get(f"{BASE}/services/{code}.{fmt}")
        assert response.status_code == 404
        if fmt == "json":
            assert response.json() == [
                {"code": 404, "description": "未找到该服务类型（service_code），或已停用"}
            ]
        else:
            assert xml_records(response, "error") == [
                {"code": "404", "description": "未找到该服务类型（service_code），或已停用"}
            ]


async def test_with_several_jurisdictions_the_code_is_required_and_scopes(client, world, session) -> None:
    other = await build_world(session, code="WZ", name="吴中区")
    session.add(Category(jurisdiction_id=other.jurisdiction.id, code="wz.only", name="吴中专有"))
    await session.commit()

    missing = await client.get(f"{BASE}/services.json")
    assert missing.status_code == 400
    assert missing.json() == [
        {"code": 400, "description": "本平台有多个辖区，请用 jurisdiction_id 指明辖区代码"}
    ]
    assert (await client.get(f"{BASE}/services.xml")).status_code == 400

    gusu = await client.get(f"{BASE}/services.json", params={"jurisdiction_id": "GS"})
    wuzhong = await client.get(f"{BASE}/services.json", params={"jurisdiction_id": "WZ"})
    assert "wz.only" not in {s["service_code"] for s in gusu.json()}
    assert "wz.only" in {s["service_code"] for s in wuzhong.json()}
    # Another jurisdiction's category is no service here.
    definition = await client.get(f"{BASE}/services/wz.only.json", params={"jurisdiction_id": "GS"})
    assert definition.status_code == 404

    unknown = await client.get(f"{BASE}/services.json", params={"jurisdiction_id": "NOPE"})
    assert unknown.status_code == 404
    assert unknown.json() == [{"code": 404, "description": "未找到该辖区（jurisdiction_id）"}]


async def test_discovery_names_the_endpoint_and_its_formats(client, world) -> None:
    response = await client.get(f"{BASE}/discovery.json")
    assert response.status_code == 200
    (endpoint,) = response.json()["endpoints"]
    assert endpoint["url"].endswith("/open311/v2")
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["formats"] == ["application/json", "application/xml"]
    xml = xml_root(await client.get(f"{BASE}/discovery.xml"))
    assert xml.tag == "discovery"
    assert [f.text for f in xml.find("endpoints").find("endpoint").find("formats")] == [
        "application/json",
        "application/xml",
    ]
