"""Integrators' webhooks: safe URLs, secrets shown once, per-key ownership, and the delivery log."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.supervision.events import SUBSCRIBED_EVENTS
from shared.db.models import OutboxEvent, WebhookEndpoint
from shared.events.outbox import message_id
from shared.events.relay import SECRET_PURPOSE, Relay
from shared.events.subscriptions import ensure_internal_endpoint
from shared.security.pii import decrypt
from shared.settings import Settings
from shared.webhooks import verify
from tests.factories import World, add_key, build_world
from tests.supervision_api.arrange import new_case

HOOK = "http://hooks.test/minyi"


async def _create(client: httpx.AsyncClient, headers: dict[str, str], **body: object) -> httpx.Response:
    return await client.post("/v1/webhooks", json={"url": HOOK, **body}, headers=headers)


async def test_loopback_and_private_urls_are_refused_unless_allow_listed(
    client: httpx.AsyncClient, world: World, allow_hosts: Settings
) -> None:
    integrator = world.auth("integrator")
    for url in (
        "http://127.0.0.1:9000/hook",
        "http://10.20.30.40/hook",
        "http://[::1]/hook",
        "http://169.254.169.254/",
    ):
        response = await client.post("/v1/webhooks", json={"url": url}, headers=integrator)
        assert response.status_code == 422, url
        assert response.json()["error"]["details"] == [
            {"field": "url", "message": "回调地址不能指向本机、内网或链路本地地址"}
        ]
    ftp = await client.post("/v1/webhooks", json={"url": "ftp://hooks.test/x"}, headers=integrator)
    assert ftp.json()["error"]["details"] == [
        {"field": "url", "message": "回调地址必须是 http 或 https 网址"}
    ]
    for broken in ("http://[::1/hook", "http://hooks.test:99999/hook", "http://hooks.test/\x00"):
        response = await client.post("/v1/webhooks", json={"url": broken}, headers=integrator)
        assert response.status_code == 422, broken

    public = await client.post("/v1/webhooks", json={"url": "https://93.184.216.34/hook"}, headers=integrator)
    assert public.status_code == 201
    allow_hosts.webhook_allow_hosts = "hooks.test,127.0.0.1"
    local = await client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9000/hook"}, headers=integrator)
    assert local.status_code == 201


async def test_create_shows_the_secret_once_and_rotation_replaces_it(
    client: httpx.AsyncClient, session: AsyncSession, world: World, allow_hosts: Settings
) -> None:
    response = await _create(
        client,
        world.auth("integrator"),
        event_types=["case.replied", "case.closed", "case.replied"],
        description="区融媒体中心",
    )
    assert response.status_code == 201
    created = response.json()
    assert created["secret"].startswith("whsec_")
    assert (created["url"], created["event_types"], created["enabled"], created["description"]) == (
        HOOK,
        ["case.replied", "case.closed"],
        True,
        "区融媒体中心",
    )
    endpoint = await session.get(WebhookEndpoint, created["id"])
    assert endpoint is not None and endpoint.kind == "integrator"
    assert decrypt(endpoint.secret_enc, SECRET_PURPOSE) == created["secret"]
    assert created["secret"].encode() not in (endpoint.secret_enc or b"")

    shown = await client.get(f"/v1/webhooks/{created['id']}", headers=world.auth("integrator"))
    listed = await client.get("/v1/webhooks", headers=world.auth("integrator"))
    assert "secret" not in shown.json() and created["secret"] not in listed.text

    rotated = await client.post(
        f"/v1/webhooks/{created['id']}/rotate-secret", headers=world.auth("integrator")
    )
    assert rotated.status_code == 200
    assert rotated.json()["id"] == created["id"]
    assert rotated.json()["secret"].startswith("whsec_") and rotated.json()["secret"] != created["secret"]
    session.expire_all()
    endpoint = await session.get(WebhookEndpoint, created["id"])
    assert endpoint is not None and decrypt(endpoint.secret_enc, SECRET_PURPOSE) == rotated.json()["secret"]


async def test_bad_event_types_are_refused(
    client: httpx.AsyncClient, world: World, allow_hosts: Settings
) -> None:
    response = await _create(client, world.auth("integrator"), event_types=["case.replied", "case.exploded"])
    assert response.status_code == 422
    assert response.json()["error"]["details"] == [
        {"field": "event_types", "message": "未知的事件类型：case.exploded"}
    ]


async def test_an_integrator_sees_only_its_own_endpoints_and_admin_sees_all(
    client: httpx.AsyncClient, session: AsyncSession, world: World, allow_hosts: Settings
) -> None:
    second_key = await add_key(session, world.jurisdiction.id, "integrator")
    other = await build_world(session, code="XC", name="相城区")
    internal = await ensure_internal_endpoint(session, "supervision", "http://supervision", SUBSCRIBED_EVENTS)
    await session.commit()
    mine = (await _create(client, world.auth("integrator"))).json()
    theirs = (await _create(client, {"Authorization": f"Bearer {second_key}"})).json()
    foreign = (await _create(client, other.auth("integrator"))).json()

    listed = (await client.get("/v1/webhooks", headers=world.auth("integrator"))).json()["items"]
    assert [w["id"] for w in listed] == [mine["id"]]
    for method, path in (
        ("GET", f"/v1/webhooks/{theirs['id']}"),
        ("PATCH", f"/v1/webhooks/{theirs['id']}"),
        ("DELETE", f"/v1/webhooks/{theirs['id']}"),
        ("POST", f"/v1/webhooks/{theirs['id']}/rotate-secret"),
        ("GET", f"/v1/webhooks/{theirs['id']}/deliveries"),
        ("GET", f"/v1/webhooks/{foreign['id']}"),
        ("GET", f"/v1/webhooks/{internal.id}"),
    ):
        response = await client.request(
            method, path, json={} if method == "PATCH" else None, headers=world.auth("integrator")
        )
        assert response.status_code == 404, (method, path)

    admin_sees = (await client.get("/v1/webhooks", headers=world.auth("admin"))).json()["items"]
    assert [w["id"] for w in admin_sees] == [mine["id"], theirs["id"]]  # never the internal one, nor XC's
    assert (await client.get(f"/v1/webhooks/{internal.id}", headers=world.auth("admin"))).status_code == 404
    assert (await client.get(f"/v1/webhooks/{theirs['id']}", headers=world.auth("admin"))).status_code == 200
    # A department key manages its own endpoints (tests/supervision_api/test_webhooks_departments.py).
    assert (await client.get("/v1/webhooks", headers=world.auth("dept:urban_mgmt"))).json()["items"] == []
    for who in ("supervisor", "dispatcher", "deputy"):
        assert (await client.get("/v1/webhooks", headers=world.auth(who))).status_code == 403


async def test_patch_and_delete(
    client: httpx.AsyncClient, session: AsyncSession, world: World, allow_hosts: Settings
) -> None:
    integrator = world.auth("integrator")
    created = (await _create(client, integrator, description="旧说明")).json()
    path = f"/v1/webhooks/{created['id']}"

    refused = await client.patch(path, json={"url": "http://192.168.1.10/hook"}, headers=integrator)
    assert refused.status_code == 422 and refused.json()["error"]["details"][0]["field"] == "url"
    null_url = await client.patch(path, json={"url": None}, headers=integrator)
    assert null_url.status_code == 422

    # The relay disabled it after failures; the integrator fixes the URL and enables it again.
    endpoint = await session.get(WebhookEndpoint, created["id"])
    assert endpoint is not None
    endpoint.enabled, endpoint.disabled_reason = False, "连续失败超过规定天数，已自动停用"
    endpoint.failing_since = endpoint.created_at
    await session.commit()
    patched = await client.patch(
        path,
        json={
            "url": "http://hooks.test/v2",
            "event_types": ["case.closed"],
            "description": None,
            "enabled": True,
        },
        headers=integrator,
    )
    assert patched.status_code == 200
    body = patched.json()
    assert (body["url"], body["event_types"], body["description"], body["enabled"]) == (
        "http://hooks.test/v2",
        ["case.closed"],
        None,
        True,
    )
    assert body["disabled_reason"] is None and body["failing_since"] is None
    untouched = await client.patch(path, json={"enabled": False}, headers=integrator)
    assert untouched.json()["url"] == "http://hooks.test/v2" and untouched.json()["enabled"] is False

    assert (await client.delete(path, headers=integrator)).status_code == 204
    assert (await client.get(path, headers=integrator)).status_code == 404


async def test_deliveries_are_listed_newest_first_after_the_relay_ran(
    engine, client: httpx.AsyncClient, session: AsyncSession, world: World, allow_hosts: Settings
) -> None:
    allow_hosts.webhook_retry_schedule = "0,0"
    created = (await _create(client, world.auth("integrator"), event_types=["case.received"])).json()
    first = await new_case(session, world)
    second = await new_case(session, world)
    first_id, second_id = first.id, second.id
    await session.commit()
    received: list[httpx.Request] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(500 if len(received) == 1 else 204)

    try:
        async with Relay(engine, allow_hosts, transport=httpx.MockTransport(receiver)) as relay:
            await relay.fan_out()
            await relay.deliver_due()
            await relay.deliver_due()
    finally:
        allow_hosts.webhook_retry_schedule = "5,300,1800,7200,18000,36000,36000"
    assert len(received) == 3
    verify(created["secret"], received[-1].content, dict(received[-1].headers))

    response = await client.get(f"/v1/webhooks/{created['id']}/deliveries", headers=world.auth("integrator"))
    assert response.status_code == 200
    items = response.json()["items"]
    assert [d["case_id"] for d in items] == [second_id, first_id]
    events = {
        row.case_id: message_id(row.event_id)
        for row in (await session.execute(select(OutboxEvent))).scalars()
    }
    for item in items:
        assert item["event_type"] == "case.received"
        assert item["webhook_id"] == events[item["case_id"]]
        assert item["status"] == "succeeded" and item["delivered_at"] and item["last_status_code"] == 204
    assert {d["attempts"] for d in items} == {1, 2}
    page = await client.get(
        f"/v1/webhooks/{created['id']}/deliveries", params={"limit": 1}, headers=world.auth("integrator")
    )
    rest = await client.get(
        f"/v1/webhooks/{created['id']}/deliveries",
        params={"limit": 1, "cursor": page.json()["next_cursor"]},
        headers=world.auth("integrator"),
    )
    assert [d["id"] for d in page.json()["items"] + rest.json()["items"]] == [d["id"] for d in items]
    assert rest.json()["next_cursor"] is None
