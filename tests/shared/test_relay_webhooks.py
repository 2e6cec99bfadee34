"""The relay's part in integrators' webhooks: redacted answer snippets, payloads cut for departments, and the
webhook.disabled event (once per endpoint, never to our own services)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import select

from shared.db.models import ApiKey, Jurisdiction, OutboxEvent, WebhookDelivery, WebhookEndpoint
from shared.events.claims import Claimed
from shared.events.lanes import answer_snippet, payload_for
from shared.events.outbox import emit
from shared.events.redaction import REDACTED, SNIPPET_CHARS, redact, signature_parts, snippet
from shared.events.relay import SECRET_PURPOSE, Relay
from shared.events.transport import Outcome
from shared.security.keys import new_api_key, new_webhook_secret
from shared.security.pii import encrypt
from shared.settings import get_settings
from shared.webhooks import signed_headers


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch):
    settings = get_settings()
    monkeypatch.setattr(settings, "webhook_allow_hosts", "hooks.test,routing.internal")
    monkeypatch.setattr(settings, "webhook_retry_schedule", "0,0,0")
    return settings


def test_secrets_signatures_and_key_shapes_are_redacted_before_the_cut() -> None:
    secret = new_webhook_secret()
    headers = signed_headers([secret, new_webhook_secret()], "msg_1", b"{}")
    signature = headers["webhook-signature"]
    hidden = signature_parts([secret], signature)
    echoed = json.dumps({"sig": signature, "secret": secret}).replace("/", "\\/")  # PHP escapes slashes
    text = redact(f"x{echoed} mk_a1b2c3d4e5f6_{'k' * 40} whsec_Zm9vYmFy v1,{'A' * 44}", hidden)
    for part in (secret, secret.removeprefix("whsec_"), *signature.split(), "whsec_Zm9vYmFy", "mk_a1b2c3"):
        assert part not in text and part.replace("/", "\\/") not in text
    assert text.count(REDACTED) >= 5 and "A" * 20 not in text
    # A secret straddling the cut is redacted whole first, never left half-visible.
    long = "." * (SNIPPET_CHARS - 10) + secret
    assert snippet(long, [secret]) == "." * (SNIPPET_CHARS - 10) + REDACTED[:10]
    assert snippet(None) is None and snippet("ok") == "ok"
    # Ordinary words that merely start like one of ours stay.
    assert redact("mk_ test whsec v1, status") == "mk_ test whsec v1, status"


def test_an_answer_is_read_whole_for_redaction_then_cut() -> None:
    secret = new_webhook_secret()
    headers = signed_headers(secret, "msg_1", b"{}")
    body = ("." * 600 + headers["webhook-signature"]).encode()
    outcome = answer_snippet(Outcome(False, 500, body[:500].decode(), body), [secret], headers)
    assert outcome.error == "." * SNIPPET_CHARS
    refused = answer_snippet(Outcome(False, None, "refused: 回调地址的端口只能是 80、443"), [secret], headers)
    assert refused.error == "refused: 回调地址的端口只能是 80、443"
    assert answer_snippet(Outcome(False, 502, None, b""), [secret], headers).error == "HTTP 502"
    ok = Outcome(True, 200, None, b"whatever")
    assert answer_snippet(ok, [secret], headers) is ok


def _claimed(department_id: int | None, payload: dict[str, object]) -> Claimed:
    now = datetime.now(UTC)
    return Claimed(
        delivery_id=1,
        token=uuid.uuid4(),
        attempts=0,
        created_at=now,
        outbox_id=1,
        event_id=uuid.uuid4(),
        type="case.replied",
        payload=payload,
        occurred_at=now,
        endpoint_id=1,
        endpoint_kind="integrator",
        endpoint_name=None,
        url="http://hooks.test/",
        secret_enc=None,
        department_id=department_id,
    )


def test_a_department_endpoint_is_told_only_of_its_own_department() -> None:
    payload = {"case_id": 9, "department_ids": [3, 5, 8]}
    assert payload_for(_claimed(None, payload)) == payload
    assert payload_for(_claimed(5, payload)) == {"case_id": 9, "department_ids": [5]}
    assert payload_for(_claimed(4, payload)) == {"case_id": 9, "department_ids": []}
    assert payload == {"case_id": 9, "department_ids": [3, 5, 8]}  # the claim's own payload is untouched
    assert payload_for(_claimed(5, {"hotspot_id": 1})) == {"hotspot_id": 1}


async def test_one_disabled_event_per_endpoint_and_none_for_our_own_services(engine, session, settings):
    jurisdiction = Jurisdiction(code="GS", name="姑苏区")
    session.add(jurisdiction)
    await session.flush()
    key = new_api_key()
    admin = ApiKey(jurisdiction_id=jurisdiction.id, role="admin", prefix=key.prefix, key_hash=key.key_hash)
    session.add(admin)
    await session.flush()

    def endpoint(url: str, **fields: object) -> WebhookEndpoint:
        return WebhookEndpoint(
            jurisdiction_id=jurisdiction.id,
            kind="integrator",
            url=url,
            event_types=[],
            secret_enc=encrypt(new_webhook_secret(), SECRET_PURPOSE),
            enabled=True,
            **fields,
        )

    gone = endpoint("http://hooks.test/gone?key=abc")
    watcher = endpoint("http://hooks.test/admin", created_by_key_id=admin.id)
    internal = WebhookEndpoint(
        name="routing",
        kind="internal",
        url="http://routing.internal/internal/events",
        event_types=[],
        enabled=True,
    )
    session.add_all([gone, watcher, internal])
    await session.flush()
    gone_id = gone.id
    for _ in range(2):  # two deliveries to the gone endpoint fail in the same round
        await emit(
            session,
            type="hotspot.detected",
            jurisdiction_id=jurisdiction.id,
            case_id=None,
            payload={"hotspot_id": 1},
            occurred_at=datetime.now(UTC),
        )
    await session.commit()

    def route(request: httpx.Request) -> httpx.Response:
        if request.url.host == "routing.internal":
            events = json.loads(request.content)["events"]
            return httpx.Response(
                200, json={"results": [{"id": e["id"], "status": "applied"} for e in events]}
            )
        return httpx.Response(410 if request.url.path == "/gone" else 204)

    async with Relay(engine, settings, transport=httpx.MockTransport(route)) as relay:
        await relay.fan_out()
        await relay.deliver_due()
        await relay.fan_out()
        await relay.deliver_due()

    (event,) = (
        await session.execute(select(OutboxEvent).where(OutboxEvent.type == "webhook.disabled"))
    ).scalars()
    assert event.payload["endpoint_id"] == gone_id and event.payload["url"] == "http://hooks.test/gone"
    heard = (
        await session.execute(
            select(WebhookDelivery.endpoint_id, WebhookDelivery.status).where(
                WebhookDelivery.outbox_id == event.id
            )
        )
    ).all()
    assert heard == [(watcher.id, "succeeded")]
