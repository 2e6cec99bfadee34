"""How endpoints end: a revoked key's endpoints are disabled with it; the relay disables a failing one and tells
the admin (webhook.disabled); a key has a cap of endpoints; the delivery log keeps no secret of ours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from shared.db.models import ApiKey, OutboxEvent, WebhookDelivery, WebhookEndpoint
from shared.settings import Settings
from tests.factories import World, add_key
from tests.supervision_api.arrange import new_case
from tests.webhook_receiver import receiving, relay_once


async def _key_id(session: AsyncSession, key: str) -> int:
    prefix = key.split("_")[1]
    return (await session.execute(select(ApiKey.id).where(ApiKey.prefix == prefix))).scalar_one()


async def test_revoking_a_key_disables_its_endpoints_for_good(
    client: httpx.AsyncClient, session: AsyncSession, world: World, local_hooks: Settings
) -> None:
    key = await add_key(session, world.jurisdiction.id, "integrator")
    await session.commit()
    theirs = {"Authorization": f"Bearer {key}"}
    doomed = [
        (await client.post("/v1/webhooks", json={"url": f"http://127.0.0.1:9/{n}"}, headers=theirs)).json()[
            "id"
        ]
        for n in range(2)
    ]
    kept = await client.post(
        "/v1/webhooks", json={"url": "http://127.0.0.1:9/k"}, headers=world.auth("integrator")
    )
    admin = world.auth("admin")
    revoked = await client.post(f"/v1/api-keys/{await _key_id(session, key)}/revoke", headers=admin)
    assert revoked.status_code == 200

    disabled = (await client.get("/v1/webhooks", params={"disabled": "true"}, headers=admin)).json()["items"]
    assert [w["id"] for w in disabled] == doomed
    for endpoint in disabled:
        assert endpoint["enabled"] is False
        assert endpoint["disabled_reason"] == "创建该回调的密钥已被吊销"
        assert endpoint["disabled_at"] == revoked.json()["revoked_at"]
    enabled = (await client.get("/v1/webhooks", params={"disabled": "false"}, headers=admin)).json()["items"]
    assert [w["id"] for w in enabled] == [kept.json()["id"]]

    again = await client.patch(f"/v1/webhooks/{doomed[0]}", json={"enabled": True}, headers=admin)
    assert again.status_code == 409 and again.json()["error"]["code"] == "webhook_key_revoked"
    # Other changes are still possible, and deleting it is.
    renamed = await client.patch(f"/v1/webhooks/{doomed[0]}", json={"description": "旧系统"}, headers=admin)
    assert renamed.status_code == 200 and renamed.json()["enabled"] is False
    assert (await client.delete(f"/v1/webhooks/{doomed[1]}", headers=admin)).status_code == 204


async def test_a_key_has_at_most_the_configured_number_of_endpoints(
    client: httpx.AsyncClient, world: World, local_hooks: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(local_hooks, "webhook_max_endpoints_per_key", 2)
    integrator = world.auth("integrator")
    first, _ = [
        (
            await client.post(
                "/v1/webhooks", json={"url": "http://127.0.0.1:9/x", "enabled": n == 0}, headers=integrator
            )
        )
        for n in range(2)
    ]
    third = await client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/x"}, headers=integrator)
    assert third.status_code == 409
    assert third.json()["error"] == {
        "code": "webhook_limit_reached",
        "message": "每个访问密钥最多创建 2 个回调地址，请先删除不再使用的回调地址",
        "details": [],
    }
    # Another key has its own allowance; deleting one frees a place.
    assert (
        await client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/x"}, headers=world.auth("admin"))
    ).status_code == 201
    assert (await client.delete(f"/v1/webhooks/{first.json()['id']}", headers=integrator)).status_code == 204
    assert (
        await client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/x"}, headers=integrator)
    ).status_code == 201


async def test_a_410_disables_the_endpoint_and_the_admins_endpoints_hear_of_it(
    engine: AsyncEngine,
    client: httpx.AsyncClient,
    session: AsyncSession,
    world: World,
    local_hooks: Settings,
) -> None:
    other_key = await add_key(session, world.jurisdiction.id, "integrator")
    await session.commit()

    def answer(path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        return (410, b"gone") if path.endswith("/gone") else (204, b"")

    with receiving(answer) as hook:
        ids = {}
        for name, who, types in (
            ("gone", world.auth("integrator"), []),
            ("admin-all", world.auth("admin"), []),
            ("admin-closed", world.auth("admin"), ["case.closed"]),
            ("same-key-listed", world.auth("integrator"), ["webhook.disabled"]),
            ("same-key-all", world.auth("integrator"), []),
            ("other-key-listed", {"Authorization": f"Bearer {other_key}"}, ["webhook.disabled"]),
            ("department", world.auth("dept:urban_mgmt"), []),
        ):
            query = "?token=s3cret" if name == "gone" else ""
            response = await client.post(
                "/v1/webhooks", json={"url": f"{hook.url}/{name}{query}", "event_types": types}, headers=who
            )
            ids[name] = response.json()["id"]
        await new_case(session, world)
        await session.commit()
        await relay_once(engine, local_hooks)  # the gone endpoint answers 410
        await relay_once(engine, local_hooks)  # webhook.disabled goes out

        heard = {name: [r.json()["type"] for r in hook.at(f"/{name}")] for name in ids if name != "gone"}
        assert heard == {
            "admin-all": ["case.received", "webhook.disabled"],
            "admin-closed": [],
            "same-key-listed": ["webhook.disabled"],
            "same-key-all": ["case.received"],
            "other-key-listed": [],
            "department": [],
        }
        (event,) = [r.json() for r in hook.at("/admin-all") if r.json()["type"] == "webhook.disabled"]

    admin_view = (
        await client.get("/v1/webhooks", params={"disabled": "true"}, headers=world.auth("admin"))
    ).json()
    (gone,) = admin_view["items"]
    assert gone["id"] == ids["gone"] and gone["disabled_reason"] == "接收方返回 410 Gone，已停用"
    assert event["data"] == {
        "endpoint_id": ids["gone"],
        "url": f"{hook.url}/gone",  # never the query string
        "reason": "接收方返回 410 Gone，已停用",
        "disabled_at": event["data"]["disabled_at"],
    }
    assert event["data"]["disabled_at"] == gone["disabled_at"].replace("Z", "+00:00")
    outbox = (
        await session.execute(select(OutboxEvent).where(OutboxEvent.type == "webhook.disabled"))
    ).scalar_one()
    assert (outbox.case_id, outbox.jurisdiction_id) == (None, world.jurisdiction.id)


async def test_days_of_failure_disable_too_and_tell_when(
    engine: AsyncEngine,
    client: httpx.AsyncClient,
    session: AsyncSession,
    world: World,
    local_hooks: Settings,
) -> None:
    with receiving(lambda path, headers, body: (503, b"busy")) as hook:
        created = (
            await client.post("/v1/webhooks", json={"url": hook.url}, headers=world.auth("admin"))
        ).json()
        await session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == created["id"])
            .values(
                failing_since=datetime.now(UTC) - timedelta(days=local_hooks.webhook_failure_disable_days + 1)
            )
        )
        await new_case(session, world)
        await session.commit()
        await relay_once(engine, local_hooks)
    shown = (await client.get(f"/v1/webhooks/{created['id']}", headers=world.auth("admin"))).json()
    assert shown["enabled"] is False and shown["disabled_reason"] == "连续失败超过规定天数，已自动停用"
    assert shown["disabled_at"] is not None
    assert (
        await session.scalar(select(OutboxEvent.id).where(OutboxEvent.type == "webhook.disabled")) is not None
    )


async def test_the_delivery_log_keeps_a_short_snippet_without_our_secrets(
    engine: AsyncEngine,
    client: httpx.AsyncClient,
    session: AsyncSession,
    world: World,
    local_hooks: Settings,
) -> None:
    fake_key = "mk_0123456789ab_" + "Q" * 43
    sent: dict[str, str] = {}

    def echo(path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        # A receiver that shows what it got, our signatures first, and an API key it had lying around.
        sent.update(headers)
        signatures = headers["webhook-signature"]
        echoed = f"bad request; signature={signatures} auth=Bearer {fake_key} headers={headers}"
        return 400, echoed.encode()

    integrator = world.auth("integrator")
    with receiving(echo) as hook:
        created = (await client.post("/v1/webhooks", json={"url": hook.url}, headers=integrator)).json()
        rotated = await client.post(f"/v1/webhooks/{created['id']}/rotate-secret", headers=integrator)
        secrets = [created["secret"], rotated.json()["secret"]]
        await new_case(session, world)
        await session.commit()
        await relay_once(engine, local_hooks)
        assert len(hook.requests) == 1

    (delivery,) = (await session.execute(select(WebhookDelivery))).scalars()
    error = delivery.last_error
    assert error is not None and error.startswith("bad request; signature=[redacted]") and len(error) <= 200
    signatures = sent["webhook-signature"].split()
    assert len(signatures) == 2
    for hidden in [*secrets, *(s.removeprefix("whsec_") for s in secrets), *signatures, fake_key]:
        assert hidden not in error
    for signature in signatures:
        assert signature.partition(",")[2][:12] not in error
    assert "mk_0123456789ab" not in error and "whsec_" not in error
    listed = (await client.get(f"/v1/webhooks/{created['id']}/deliveries", headers=integrator)).json()
    assert listed["items"][0]["last_error"] == error
