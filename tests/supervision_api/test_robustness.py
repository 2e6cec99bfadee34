"""Bad input answers 4xx with the error shape, never 500: odd paths, queries and generated bodies."""

from __future__ import annotations

from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.settings import Settings
from tests.factories import World

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
units = st.sampled_from(["working_days", "days", "months", "hours", "seconds", "weeks", ""])
durations = st.one_of(st.dictionaries(units, json_values, max_size=2), json_values)
tiers = st.sampled_from(["week", "immediate", "month", "rating", "fortnight", ""]) | st.text(max_size=40)
queries = st.text(st.characters(codec="utf-8"), max_size=30)


async def test_odd_requests_answer_4xx(client: httpx.AsyncClient, world: World) -> None:
    admin, integrator = world.auth("admin"), world.auth("integrator")
    requests = [
        ("GET", "/v1/calendar/due?from=2026-13-01T00:00:00%2B08:00&tier=week", None, admin),
        ("GET", "/v1/calendar/due?from=0001-01-01T00:00:00%2B14:00&tier=week", None, admin),
        ("GET", "/v1/calendar/due?from=2026-09-30T10:00:00%2B08:00&tier=" + "x" * 40, None, admin),
        ("GET", "/v1/calendar/overrides?year=99999", None, admin),
        ("DELETE", "/v1/calendar/overrides/2026-02-30", None, admin),
        ("PUT", "/v1/calendar/overrides", "null", admin),
        ("PUT", "/v1/calendar/overrides", '{"items": []}', admin),
        ("PUT", "/v1/calendar/overrides", '{"items": [{"date": "0001-01-01", "is_workday": true}]}', admin),
        ("PUT", "/v1/sla-policies", '{"items": [{"tier": "week", "duration": {"months": 1e300}}]}', admin),
        ("PUT", "/v1/sla-policies", '{"items": [{"tier": "week", "duration": {"\\ud800": 1}}]}', admin),
        ("PUT", "/v1/sla-policies", '{"items": [{"tier": "week", "duration": []}]}', admin),
        ("GET", "/v1/api-keys/0", None, admin),
        ("GET", "/v1/api-keys/99999999999999999999", None, admin),
        ("POST", "/v1/api-keys", '{"role": "admin", "name": "\\u0000"}', admin),
        ("POST", "/v1/api-keys", '{"role": "deputy", "deputy_id": -1}', admin),
        ("GET", "/v1/cases/-1", None, admin),
        ("GET", "/v1/cases?from=9999-12-31T23:59:59-23:59", None, admin),
        ("GET", "/v1/cases?department_id=99999999999999999999", None, admin),
        ("GET", "/v1/cases?category_code=%00", None, admin),
        ("GET", "/v1/cases?overdue=perhaps", None, admin),
        ("POST", "/v1/webhooks", '{"url": "http://[::1"}', integrator),
        ("POST", "/v1/webhooks", '{"url": "http://exa mple.com/"}', integrator),
        (
            "POST",
            "/v1/webhooks",
            '{"url": "https://93.184.216.34/", "event_types": "case.closed"}',
            integrator,
        ),
        ("PATCH", "/v1/webhooks/1", '{"enabled": null}', integrator),
        ("GET", "/v1/webhooks/1/deliveries?cursor=aWQ6LTE", None, integrator),
        ("POST", "/internal/events", "not json", {}),
    ]
    for method, path, body, headers in requests:
        content = body.encode() if body is not None else None
        response = await client.request(
            method, path, content=content, headers={"Content-Type": "application/json", **headers}
        )
        assert 400 <= response.status_code < 500, (method, path, body, response.status_code, response.text)
        assert set(response.json()["error"]) == {"code", "message", "details"}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tier=tiers, duration=durations)
async def test_generated_policies_never_answer_5xx(
    client: httpx.AsyncClient, world: World, tier: str, duration: Any
) -> None:
    response = await client.put(
        "/v1/sla-policies",
        json={"items": [{"tier": tier, "duration": duration}]},
        headers=world.auth("admin"),
    )
    assert response.status_code in (200, 422), (tier, duration, response.text)
    if response.status_code == 422:
        assert all(d["field"] and d["message"] for d in response.json()["error"]["details"])
    # Whatever was accepted must still compute.
    due = await client.get(
        "/v1/calendar/due",
        params={"from": "2026-09-30T10:00:00+08:00", "tier": tier or "week"},
        headers=world.auth("admin"),
    )
    assert due.status_code in (200, 422), due.text


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(start=queries, tier=queries, tracking_no=queries, category_code=queries)
async def test_generated_queries_never_answer_5xx(
    client: httpx.AsyncClient, world: World, start: str, tier: str, tracking_no: str, category_code: str
) -> None:
    due = await client.get(
        "/v1/calendar/due", params={"from": start, "tier": tier}, headers=world.auth("integrator")
    )
    assert due.status_code in (200, 422), due.text
    found = await client.get(
        "/v1/cases",
        params={"tracking_no": tracking_no, "category_code": category_code, "from": start},
        headers=world.auth("supervisor"),
    )
    assert found.status_code in (200, 422), found.text


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    url=st.one_of(st.text(max_size=30), st.sampled_from(["http://hooks.test/x", "https://93.184.216.34/"])),
    event_types=st.lists(st.sampled_from(["case.closed", "case.replied", "case.nope"]) | st.text(max_size=5)),
    description=json_values,
    enabled=json_values,
)
async def test_generated_webhooks_never_answer_5xx(
    client: httpx.AsyncClient,
    world: World,
    allow_hosts: Settings,
    url: str,
    event_types: list[str],
    description: Any,
    enabled: Any,
) -> None:
    body = {"url": url, "event_types": event_types, "description": description, "enabled": enabled}
    response = await client.post("/v1/webhooks", json=body, headers=world.auth("integrator"))
    assert response.status_code in (201, 422), (body, response.text)
