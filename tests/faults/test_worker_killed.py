"""Drill: a worker is killed with SIGKILL while its webhook requests are in flight.

The integrator holds every request 1.5 s. Worker A (lease 5 s) starts on a backlog of events; once the
integrator has requests in flight, A is SIGKILLed. Worker B then takes A's claimed rows over when their
lease runs out. Every delivery must end succeeded, the integrator must have every event, and applied by
webhook-id each event exactly once: copies on the wire are allowed only for what A held at its death.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pytest
from sqlalchemy import text

from tests.faults.conftest import (
    Integrator,
    Processes,
    bearer,
    count,
    endpoint_deliveries,
    eventually,
    sync_engine,
)

pytestmark = [pytest.mark.e2e, pytest.mark.faults]

CASES = 20
LEASE = "5"


def test_deliveries_of_a_killed_worker_are_taken_over(
    shared_database: str, make_processes: Callable[..., Processes], integrator: Integrator
) -> None:
    stack = make_processes(shared_database, MINYI_DELIVERY_LEASE_SECONDS=LEASE)
    stack.start("intake", "routing", "supervision", wait=False)  # they boot while the demo loads
    keys = stack.demo_keys()
    stack.wait_ready()
    intake, supervision = stack.client("intake"), stack.client("supervision")
    integrator.hold = 1.5

    created = supervision.post(
        "/v1/webhooks",
        json={"url": integrator.url, "event_types": ["case.received", "case.dispatched"]},
        headers=bearer(keys["integrator"]),
    )
    assert created.status_code == 201, created.text
    endpoint_id = created.json()["id"]
    token = intake.get("/v1/intake-codes", headers=bearer(keys["admin"])).json()["items"][0]["token"]
    tracking_numbers = set()
    for i in range(CASES):
        submitted = intake.post(
            f"/v1/public/codes/{token}/cases",
            json={
                "category_code": "urban.greening",
                "description": f"工人进程被杀演练：第 {i + 1} 处树木倒伏",
            },
        )
        assert submitted.status_code == 201, submitted.text
        tracking_numbers.add(submitted.json()["tracking_no"])

    stack.start("worker-a")
    eventually(
        lambda: integrator.in_flight >= 2, timeout=60, every=0.05, what="requests in flight at the integrator"
    )
    stack.kill("worker-a")

    # What A held at its death: its claimed rows keep their claim until the lease runs out. Only these may
    # reach the integrator twice (A may have sent them, or even had its answer, without recording it).
    engine = sync_engine(shared_database)
    try:
        with engine.connect() as conn:
            held = set(
                conn.scalars(
                    text(
                        "SELECT 'msg_' || replace(o.event_id::text, '-', '') FROM webhook_deliveries d"
                        " JOIN outbox o ON o.id = d.outbox_id"
                        " WHERE d.endpoint_id = :endpoint AND d.status = 'pending' AND d.claim_token IS NOT NULL"
                    ),
                    {"endpoint": endpoint_id},
                )
            )
        assert held, "worker A held nothing when killed: the drill killed it too late"
        in_flight_at_kill = {webhook_id for webhook_id in integrator.counts() if webhook_id in held}

        stack.start("worker-b")

        def settled() -> bool:
            pending = count(engine, "SELECT count(*) FROM webhook_deliveries WHERE status <> 'succeeded'")
            dispatched = count(
                engine,
                "SELECT count(*) FROM cases WHERE tracking_no = ANY(:nos) AND status = 'dispatched'",
                nos=sorted(tracking_numbers),
            )
            return pending == 0 and dispatched == CASES

        eventually(settled, timeout=90, every=0.5, what="every delivery succeeded and every case dispatched")
    finally:
        engine.dispose()
    assert stack.alive("worker-b")

    deliveries = endpoint_deliveries(supervision, keys["integrator"], endpoint_id)
    assert {d["status"] for d in deliveries} == {"succeeded"}
    events = {d["webhook_id"] for d in deliveries}
    ours = Counter(
        body["type"]
        for body in integrator.applied().values()
        if body["data"].get("tracking_no") in tracking_numbers
    )
    assert ours == Counter({"case.received": CASES, "case.dispatched": CASES})

    # Applied by webhook-id, the integrator has each event exactly once.
    counts = integrator.counts()
    assert set(counts) == events
    duplicates = {webhook_id: n for webhook_id, n in counts.items() if n > 1}
    assert set(duplicates) <= held, f"copies of events worker A did not hold: {set(duplicates) - held}"
    assert sum(n - 1 for n in duplicates.values()) <= len(held)
    print(  # noqa: T201 (the drill's figures, shown with -s)
        f"{len(events)} events; A held {len(held)} at its death ({len(in_flight_at_kill)} already received); "
        f"{len(duplicates)} delivered twice"
    )
