"""The PyPI `georeport` client (sync, requests-based, JSON and XML through xmltodict) against intake_api served
on a loopback port: the service list and definitions, requests in bulk and one by one, and a submission.

georeport 0.3.1, the newest release, has no call that creates a request, so ``Posting`` adds one in the
client's own manner (the spec's form-encoded POST, parsed like its other calls)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import uvicorn
import xmltodict
from georeport import GeoReport

from intake_api.app import create_app
from tests.e2e.conftest import free_port
from tests.intake_api.open311.conftest import add_bound_key


class Posting(GeoReport):
    def post_service_request(self, service_code: str, **fields: str) -> dict[str, Any]:
        data = {"api_key": self.api_key, "service_code": service_code, **fields}
        if self.jurisdiction:
            data["jurisdiction_id"] = self.jurisdiction
        response = requests.post(f"{self.root_address}/requests.{self.output_format}", data=data, timeout=10)
        response.raise_for_status()
        if self.output_format == "json":
            return dict(response.json()[0])
        return dict(xmltodict.parse(response.content)["service_requests"]["request"])


@pytest.fixture
def served(database_url: str) -> Iterator[str]:
    """intake_api in a uvicorn server thread on 127.0.0.1 (its own engine, on the test database)."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="intake-open311", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "intake_api did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}/open311/v2"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.mark.parametrize("fmt", ["json", "xml"])
async def test_the_georeport_client_reads_and_submits(served, world, session, fmt) -> None:
    key = await add_bound_key(session, world.jurisdiction.id, station_id=world.station.id)
    client = Posting(served, jurisdiction="GS", api_key=key, output_format=fmt)

    services = client.get_service_list()
    assert [s["service_code"] for s in services] == [
        "urban",
        "urban.sanitation",
        "environment",
        "environment.noise",
    ]
    assert services[1]["group"] == "城市管理"
    definition = client.get_service_definition("urban.sanitation")
    attributes = definition["attributes"] if fmt == "json" else definition["attributes"]["attribute"]
    assert [a["code"] for a in attributes] == ["request_type", "urgency"]
    values = attributes[0]["values"] if fmt == "json" else attributes[0]["values"]["value"]
    assert {v["key"]: v["name"] for v in values}["complaint"] == "投诉"

    first = client.post_service_request(
        "urban.sanitation",
        description="平江路垃圾桶满溢三天无人清运",
        address_string="平江路",
        phone="13812345678",
        **{"attribute[request_type]": "complaint"},
    )
    second = client.post_service_request(
        "environment.noise", description="夜间施工噪声扰民", lat="31.31", long="120.62", email="a@example.cn"
    )
    numbers = [first["service_request_id"], second["service_request_id"]]
    assert all(n.startswith("GS") for n in numbers) and first["token"]

    listed = client.get_service_requests()
    assert {r["service_request_id"] for r in listed} == set(numbers)
    assert {r["status"] for r in listed} == {"open"}
    by_code = client.get_service_requests(service_code="environment.noise")
    by_code = by_code if isinstance(by_code, list) else [by_code]  # xmltodict: one element is no list
    assert [r["service_request_id"] for r in by_code] == [numbers[1]]
    by_ids = client.get_service_requests(service_request_id=",".join(numbers), status="open")
    assert {r["service_request_id"] for r in by_ids} == set(numbers)

    one = client.get_service_request(numbers[1])
    assert one["service_request_id"] == numbers[1] and one["service_code"] == "environment.noise"
    assert one["service_name"] == "噪声" and str(one["lat"]) == "31.31"
    assert "13812345678" not in str(listed) and "a@example.cn" not in str(one)

    with pytest.raises(requests.HTTPError) as missing:
        client.get_service_request("GS20000101-0001")
    assert missing.value.response.status_code == 404
    refused = Posting(served, jurisdiction="GS", api_key=world.keys["integrator"], output_format=fmt)
    with pytest.raises(requests.HTTPError) as forbidden:
        refused.post_service_request("urban", description="路灯坏了一个月", address_string="干将路")
    assert forbidden.value.response.status_code == 403
