"""The event catalogue: every event type with a Chinese description and the schema of its data, the same in
each service's OpenAPI document (webhooks), and real delivered payloads that fit it."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from intake_api.app import create_app as intake_app
from routing_api.app import create_app as routing_app
from services.routing import assignments as routing
from services.routing.dispatch import dispatch_case
from services.routing.schemas import ProgressIn, ReplyIn
from services.workflow import rate
from services.workflow.actors import CITIZEN
from shared.db.enums import EVENT_TYPES, Rating
from shared.db.models import Assignment
from shared.events.catalogue import CATALOGUE, Envelope
from shared.events.relay import Relay
from shared.settings import Settings
from supervision_api.app import create_app as supervision_app
from tests.factories import World
from tests.supervision_api.arrange import new_case
from tests.webhook_receiver import receiving

CHINESE = re.compile(r"[\u4e00-\u9fff]")


async def test_the_catalogue_lists_every_event_type_for_any_key(
    client: httpx.AsyncClient, world: World
) -> None:
    assert (await client.get("/v1/webhooks/event-types")).status_code == 401
    response = await client.get("/v1/webhooks/event-types", headers=world.auth("deputy"))
    assert response.status_code == 200
    body = response.json()
    assert [item["type"] for item in body["items"]] == list(EVENT_TYPES)
    assert set(body["envelope"]["required"]) == {"type", "timestamp", "data"}
    for item in body["items"]:
        assert CHINESE.search(item["description"]), item["type"]
        schema = item["schema"]
        assert schema["type"] == "object" and schema["properties"], item["type"]
        if item["type"].startswith("case.") or item["type"] == "suggestion.submitted":
            assert {"case_id", "tracking_no", "jurisdiction", "status", "department_ids"} <= set(
                schema["required"]
            )
    replied = next(item["schema"] for item in body["items"] if item["type"] == "case.replied")
    assert {"assignment_id", "reply_id", "reply_class"} <= set(replied["required"])
    disabled = next(item["schema"] for item in body["items"] if item["type"] == "webhook.disabled")
    assert set(disabled["required"]) == {"endpoint_id", "url", "reason", "disabled_at"}


@pytest.mark.parametrize("create", [intake_app, routing_app, supervision_app])
def test_every_service_documents_the_events_as_openapi_webhooks(create: Any) -> None:
    document = create().openapi()
    assert document["openapi"].startswith("3.1")
    webhooks = document["webhooks"]
    assert list(webhooks) == list(EVENT_TYPES)
    for event_type, operation in webhooks.items():
        post = operation["post"]
        assert post["summary"] == CATALOGUE[event_type].description
        ref = post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        envelope = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
        assert envelope["properties"]["type"]["const"] == event_type
        assert set(envelope["required"]) == {"type", "timestamp", "data"}


def _fits(event: dict[str, Any]) -> None:
    """The body fits the envelope, and its data the type's model: every field documented, none missing."""
    Envelope.model_validate(event)
    model = CATALOGUE[event["type"]].data
    model.model_validate(event["data"])
    schema = model.model_json_schema()
    assert set(event["data"]) <= set(schema["properties"]), (
        event["type"],
        set(event["data"]) - set(schema["properties"]),
    )
    assert set(schema.get("required", [])) <= set(event["data"]), event["type"]


async def test_delivered_payloads_of_several_types_fit_their_schemas(
    engine: AsyncEngine,
    client: httpx.AsyncClient,
    session: AsyncSession,
    world: World,
    local_hooks: Settings,
) -> None:
    def answer(path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        return (410, b"") if path.endswith("/gone") else (204, b"")

    with receiving(answer) as hook:
        for suffix, who in (("/all", "admin"), ("/gone", "integrator")):
            await client.post("/v1/webhooks", json={"url": hook.url + suffix}, headers=world.auth(who))
        # The real paths of routing and the workflow, as the services take them.
        case = await new_case(session, world, category="urban.sanitation")
        (assignment,) = await dispatch_case(session, case)
        await session.commit()
        supervised = await client.post(
            f"/v1/cases/{case.id}/supervision", json={"level": "formal"}, headers=world.auth("supervisor")
        )
        assert supervised.status_code == 201
        assignment = (
            await session.execute(select(Assignment).where(Assignment.id == assignment.id))
        ).scalar_one()
        await routing.accept(session, assignment)
        await routing.progress(session, assignment, ProgressIn(text="已派人现场查看"))
        await routing.reply(session, assignment, ReplyIn(reply_class="A", text="已清运完毕，感谢反映"))
        await session.refresh(case)
        await rate(session, case, source="citizen", rating=Rating.satisfied, comment=None, actor=CITIZEN)
        await session.commit()
        async with Relay(engine, local_hooks) as relay:
            for _ in range(3):  # the 410 disables /gone, then webhook.disabled goes out
                await relay.fan_out()
                await relay.deliver_due()

    events = [request.json() for request in hook.at("/all")]
    types = {event["type"] for event in events}
    assert types == {
        "case.received",
        "case.dispatched",
        "case.supervision_changed",
        "case.accepted",
        "case.progress",
        "case.replied",
        "case.feedback",
        "case.closed",
        "webhook.disabled",
    }
    for event in events:
        _fits(event)
