"""Drill: an integrator's endpoint is down for a minute while events keep coming, then comes back.

The endpoint is ordered (a case's events one at a time, in order). For the first half of the minute nothing
listens on its port (connection refused), for the second half it answers 503. Meanwhile citizens submit cases,
routing dispatches them and the lead department accepts each: three events per case. With a short retry
schedule that gives nothing up within the minute, everything must arrive soon after the endpoint is back,
each case's events in order, applied by webhook-id exactly the events emitted, and the endpoint still enabled.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.faults.conftest import Integrator, Processes, bearer, endpoint_deliveries, eventually

pytestmark = [pytest.mark.e2e, pytest.mark.faults]

DOWN_SECONDS = 60.0
NEW_CASE_EVERY = 8.0
EVENT_TYPES = ["case.received", "case.dispatched", "case.accepted"]
# Retries 1, 2, 4 s apart, then every 8 s: 20 tries (143 s) outlast the minute, so nothing is given up.
RETRY_SCHEDULE = ",".join(["1", "2", "4"] + ["8"] * 17)


class Citizens:
    """Submits cases through one intake code and has each dispatched case accepted by its lead department."""

    def __init__(self, stack: Processes, keys: dict[str, Any]) -> None:
        self.intake, self.routing, self.supervision = (
            stack.client(s) for s in ("intake", "routing", "supervision")
        )
        self.supervisor = bearer(keys["supervisor"])
        self.departments = {d["department_id"]: d["key"] for d in keys["departments"].values()}
        codes = self.intake.get("/v1/intake-codes", headers=bearer(keys["admin"])).json()["items"]
        self.token = codes[0]["token"]
        self.cases: dict[str, int | None] = {}  # tracking number -> case id, once known
        self.accepted: set[str] = set()

    def submit(self) -> None:
        n = len(self.cases) + 1
        submitted = self.intake.post(
            f"/v1/public/codes/{self.token}/cases",
            json={
                "category_code": "urban.sanitation",
                "description": f"接收方停机演练：第 {n} 处垃圾桶满溢无人清运",
            },
        )
        assert submitted.status_code == 201, submitted.text
        self.cases[submitted.json()["tracking_no"]] = None

    def accept_dispatched(self) -> None:
        for tracking_no in sorted(set(self.cases) - self.accepted):
            view = self._view(tracking_no)
            if view["status"] != "dispatched":
                continue
            lead = next(a for a in view["assignments"] if a["role"] == "lead")
            accepted = self.routing.post(
                f"/v1/assignments/{lead['id']}/accept",
                headers=bearer(self.departments[lead["department_id"]]),
            )
            assert accepted.status_code == 200, accepted.text
            self.accepted.add(tracking_no)

    def _view(self, tracking_no: str) -> dict[str, Any]:
        if self.cases[tracking_no] is None:
            found = self.supervision.get(
                "/v1/cases", params={"tracking_no": tracking_no}, headers=self.supervisor
            )
            self.cases[tracking_no] = found.json()["items"][0]["id"]
        view: dict[str, Any] = self.supervision.get(
            f"/v1/cases/{self.cases[tracking_no]}", headers=self.supervisor
        ).json()
        return view


def test_events_wait_for_an_integrator_down_for_a_minute(
    shared_database: str, make_processes: Callable[..., Processes], integrator: Integrator
) -> None:
    stack = make_processes(shared_database, MINYI_WEBHOOK_RETRY_SCHEDULE=RETRY_SCHEDULE)
    stack.start("intake", "routing", "supervision", wait=False)  # they boot while the demo loads
    keys = stack.demo_keys()
    stack.start("worker")
    supervision = stack.client("supervision")
    created = supervision.post(
        "/v1/webhooks",
        json={"url": integrator.url, "event_types": EVENT_TYPES, "ordered": True},
        headers=bearer(keys["integrator"]),
    )
    assert created.status_code == 201, created.text
    endpoint_id = created.json()["id"]
    citizens = Citizens(stack, keys)

    # Down: first nothing listens (connection refused), then it answers 503; cases keep coming meanwhile.
    integrator.go_offline()
    went_down = time.monotonic()
    answering_503 = False
    while (elapsed := time.monotonic() - went_down) < DOWN_SECONDS:
        if not answering_503 and elapsed >= DOWN_SECONDS / 2:
            integrator.refusing = True
            integrator.go_online()
            answering_503 = True
        if elapsed < DOWN_SECONDS - 15 and len(citizens.cases) * NEW_CASE_EVERY <= elapsed:
            citizens.submit()
        citizens.accept_dispatched()
        time.sleep(0.5)
    eventually(
        lambda: (citizens.accept_dispatched(), citizens.accepted == set(citizens.cases))[1],
        timeout=30,
        what="every case dispatched and accepted",
    )
    assert integrator.refused > 0, "the endpoint was never tried while it answered 503"
    assert not integrator.log, "an event was applied while the endpoint was down"
    tried = endpoint_deliveries(supervision, keys["integrator"], endpoint_id)
    assert any(d["attempts"] >= 2 for d in tried), tried
    assert all(d["status"] == "pending" for d in tried), "a delivery was given up during the minute"

    back = time.monotonic()
    integrator.refusing = False

    def all_delivered() -> list[dict[str, Any]] | None:
        deliveries = endpoint_deliveries(supervision, keys["integrator"], endpoint_id)
        ours = [d for d in deliveries if d["case_id"] in set(citizens.cases.values())]
        done = all(d["status"] == "succeeded" for d in deliveries) and len(ours) == 3 * len(citizens.cases)
        return deliveries if done else None

    deliveries = eventually(
        all_delivered, timeout=60, every=0.5, what="every delivery succeeded after the outage"
    )
    print(  # noqa: T201 (the drill's figures, shown with -s)
        f"{len(citizens.cases)} cases, {len(deliveries)} events delivered {time.monotonic() - back:.1f}s after "
        f"the endpoint came back; {integrator.refused} attempts answered 503"
    )

    # Applied by webhook-id: exactly the events emitted, none missing, none twice.
    applied = integrator.applied()
    assert set(applied) == {d["webhook_id"] for d in deliveries}
    for tracking_no in citizens.cases:
        types = sorted(
            body["type"] for body in applied.values() if body["data"].get("tracking_no") == tracking_no
        )
        assert types == sorted(EVENT_TYPES), (tracking_no, types)

    # Each case's events arrived in the order they happened (the order of their deliveries).
    first_arrival = {
        webhook_id: i for i, webhook_id in enumerate(dict.fromkeys(w for w, _ in integrator.log))
    }
    by_case: dict[int, list[dict[str, Any]]] = {}
    for delivery in deliveries:
        if delivery["case_id"] is not None:
            by_case.setdefault(delivery["case_id"], []).append(delivery)
    for case_id, events in by_case.items():
        happened = [d["webhook_id"] for d in sorted(events, key=lambda d: d["id"])]
        arrived = sorted(happened, key=first_arrival.__getitem__)
        assert arrived == happened, f"case {case_id}: {[d['event_type'] for d in events]}"
    for tracking_no, case_id in citizens.cases.items():
        assert [d["event_type"] for d in sorted(by_case[case_id], key=lambda d: d["id"])] == EVENT_TYPES, (
            tracking_no
        )

    # A minute of failures does not disable the endpoint (that takes MINYI_WEBHOOK_FAILURE_DISABLE_DAYS).
    endpoint = supervision.get(f"/v1/webhooks/{endpoint_id}", headers=bearer(keys["integrator"])).json()
    assert endpoint["enabled"] is True and endpoint["disabled_reason"] is None, endpoint
    assert endpoint["failing_since"] is None, endpoint  # cleared by the first success
