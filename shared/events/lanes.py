"""The relay's two lanes: deliveries to our own services (batched) and to integrators (one event a request).

Each lane claims only its own deliveries and sends them on its own connection pool with bounded concurrency,
so a slow or hostile integrator holds at most ``relay_endpoint_concurrency`` requests of this relay for at
most one deadline each, and never delays dispatch, deadlines or another integrator beyond that share. A lane
does not wait for what it sent before claiming more: a finished request frees its slot and wakes the lane.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from itertools import groupby
from typing import Any

import httpx
import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.events import batches
from shared.events.claims import Claimed, claim, next_due
from shared.events.outbox import message_id
from shared.events.outcomes import record
from shared.events.redaction import signature_parts, snippet
from shared.events.transport import Outcome, post
from shared.security.keys import derived_webhook_secret
from shared.security.pii import decrypt
from shared.security.urls import PinnedTarget, UrlRefused, parse_ports, pin_webhook_targets_async
from shared.settings import Settings
from shared.webhooks import encode_body, signed_headers

log = structlog.get_logger("minyi.relay")

SECRET_PURPOSE = "webhook-secret"  # noqa: S105 (a key-derivation label, not a secret)
INTERNAL_MAX_ANSWER = 1 << 20  # a batch's results: a few dozen bytes per event

Group = list[Claimed]


def event_body(event_type: str, occurred_at: datetime, payload: dict[str, object]) -> bytes:
    """An integrator's webhook body: one event."""
    return encode_body(
        {"type": event_type, "timestamp": occurred_at.astimezone(UTC).isoformat(), "data": payload}
    )


def payload_for(claimed: Claimed) -> dict[str, Any]:
    """The event's data as this endpoint may see it: a department's endpoint is told of no other department
    on the case (``department_ids`` holds its own id, if it is still on the case, or nothing)."""
    payload = claimed.payload
    if claimed.department_id is None or not isinstance(payload.get("department_ids"), list):
        return payload
    return {**payload, "department_ids": [d for d in payload["department_ids"] if d == claimed.department_id]}


def answer_snippet(outcome: Outcome, secrets: list[str], headers: dict[str, str]) -> Outcome:
    """The outcome with its error cut to a short snippet that shows none of the secrets or signatures of the
    request (a receiver may echo the request back)."""
    if outcome.ok:
        return outcome
    text = outcome.error
    if outcome.status_code is not None and outcome.body:
        text = outcome.body.decode("utf-8", errors="replace")  # all of it: redacted before it is cut
    hidden = signature_parts(secrets, headers.get("webhook-signature", ""))
    return dataclasses.replace(outcome, error=snippet(text or f"HTTP {outcome.status_code}", hidden))


class Lane:
    """Claims, sends and records one kind of delivery; subclasses say how deliveries are grouped into
    requests and how a request is sent."""

    internal: bool
    name: str

    def __init__(
        self,
        engine: AsyncEngine,
        settings: Settings,
        client: httpx.AsyncClient,
        clock: Callable[[], datetime],
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.client = client
        self.clock = clock
        self.wake = asyncio.Event()
        self.in_flight: Counter[int] = Counter()  # endpoint id -> requests (internal) or deliveries in flight
        self.tasks: set[asyncio.Task[None]] = set()

    # What to claim, and how claimed rows become requests.
    def plan(self) -> tuple[int, int, dict[int, int]]:
        """(rows to claim at most, rows per endpoint at most, room left per busy endpoint)."""
        raise NotImplementedError

    def groups(self, claimed: list[Claimed]) -> list[Group]:
        raise NotImplementedError

    async def send(self, group: Group) -> list[tuple[Claimed, Outcome]]:
        raise NotImplementedError

    def units(self, group: Group) -> int:
        raise NotImplementedError

    async def claim_due(self) -> list[Claimed]:
        """Claims what is due and this lane has room for."""
        limit, per_endpoint, room = self.plan()
        return await claim(
            self.engine,
            internal=self.internal,
            limit=limit,
            per_endpoint=per_endpoint,
            room=room,
            lease_seconds=self.settings.delivery_lease_seconds,
        )

    async def dispatch_once(self) -> int:
        """Claims what is due and there is room for, and starts sending it; returns the rows claimed."""
        claimed = await self.claim_due()
        for group in self.groups(claimed):
            endpoint_id = group[0].endpoint_id
            self.in_flight[endpoint_id] += self.units(group)
            task = asyncio.create_task(self._deliver(endpoint_id, group))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        return len(claimed)

    async def _deliver(self, endpoint_id: int, group: Group) -> None:
        try:
            results = await self.send(group)
            await record(self.engine, self.settings, results, self.clock())
        except Exception:
            # Nothing recorded: the lease runs out and the deliveries are sent again (receivers deduplicate).
            log.exception("delivery_round_failed", lane=self.name, endpoint_id=endpoint_id, size=len(group))
        finally:
            self.in_flight[endpoint_id] -= self.units(group)
            if self.in_flight[endpoint_id] <= 0:
                del self.in_flight[endpoint_id]
            self.wake.set()

    async def drain(self) -> None:
        """Waits for every request this lane has under way."""
        while self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)

    async def run(self, stop: asyncio.Event) -> None:
        poll = self.settings.worker_poll_seconds
        while not stop.is_set():
            # Cleared before the work, so a wake-up that arrives during it is not lost.
            self.wake.clear()
            try:
                claimed = await self.dispatch_once()
            except Exception:
                log.exception("lane_iteration_failed", lane=self.name)
                await wait_any(stop, None, poll)
                continue
            if claimed and self.plan()[0] > 0:
                continue
            timeout = poll
            if not claimed and not self.tasks:
                with contextlib.suppress(Exception):
                    due = await next_due(self.engine, internal=self.internal)
                    until = (due - self.clock()).total_seconds() if due is not None else poll
                    # Due already but not claimed: held behind a predecessor; a wake-up or the poll retries.
                    timeout = min(poll, until) if until > 0 else poll
            await wait_any(stop, self.wake, timeout)
        await self._finish()

    async def _finish(self) -> None:
        """On stop: lets requests under way finish within their deadline; the rest are retried by lease."""
        if not self.tasks:
            return
        _, pending = await asyncio.wait(self.tasks, timeout=self.settings.webhook_timeout_seconds)
        for task in pending:
            task.cancel()


class InternalLane(Lane):
    """Our own services: due events go in signed batches, a few batches at once per service, so one batch's
    commit never waits for a long queue behind it."""

    internal = True
    name = "internal"
    max_endpoints = 8

    def plan(self) -> tuple[int, int, dict[int, int]]:
        size, concurrency = self.settings.relay_batch_size, self.settings.relay_internal_concurrency
        room = {endpoint_id: (concurrency - n) * size for endpoint_id, n in self.in_flight.items()}
        busy = sum(self.in_flight.values())
        return size * (concurrency * self.max_endpoints - busy), size * concurrency, room

    def groups(self, claimed: list[Claimed]) -> list[Group]:
        size = self.settings.relay_batch_size
        by_endpoint = sorted(claimed, key=lambda c: (c.endpoint_id, c.outbox_id))
        groups: list[Group] = []
        for _, rows in groupby(by_endpoint, key=lambda c: c.endpoint_id):
            items = list(rows)
            groups += [items[start : start + size] for start in range(0, len(items), size)]
        return groups

    def units(self, group: Group) -> int:
        return 1

    async def send(self, group: Group) -> list[tuple[Claimed, Outcome]]:
        first = group[0]
        # Signed under every configured key: during a key rotation, a service not yet restarted with the new
        # key still verifies the batch (by the old key's signature).
        secrets = [
            derived_webhook_secret(key, first.endpoint_name or "") for key in self.settings.secret_keys
        ]
        body = batches.encode_batch(
            [
                batches.wire_event(message_id(c.event_id), c.type, c.occurred_at, c.payload, c.request_id)
                for c in group
            ]
        )
        headers = signed_headers(secrets, batches.batch_id(), body, self.clock())
        outcome = await post(
            self.client,
            PinnedTarget(first.url),
            body,
            headers,
            deadline=self.settings.internal_timeout_seconds,
            max_body=INTERNAL_MAX_ANSWER,
        )
        if not outcome.ok:
            return [(c, outcome) for c in group]
        results = batches.read_results(outcome.body)
        answered: list[tuple[Claimed, Outcome]] = []
        for c in group:
            status, error = results.get(message_id(c.event_id), ("missing", "no result for this event"))
            done = status in batches.DONE
            answered.append((c, Outcome(done, outcome.status_code, None if done else f"{status}: {error}")))
        return answered


class IntegratorLane(Lane):
    """Integrators' endpoints: one event per request, as Standard Webhooks says, a bounded number at once."""

    internal = False
    name = "integrators"

    def plan(self) -> tuple[int, int, dict[int, int]]:
        per_endpoint = self.settings.relay_endpoint_concurrency
        room = {endpoint_id: per_endpoint - n for endpoint_id, n in self.in_flight.items()}
        return self.settings.relay_integrator_slots - sum(self.in_flight.values()), per_endpoint, room

    def groups(self, claimed: list[Claimed]) -> list[Group]:
        return [[c] for c in claimed]

    def units(self, group: Group) -> int:
        return len(group)

    async def send(self, group: Group) -> list[tuple[Claimed, Outcome]]:
        (c,) = group
        secret = decrypt(c.secret_enc, SECRET_PURPOSE)
        if secret is None:
            return [(c, Outcome(False, None, "endpoint secret unreadable (MINYI_SECRET_KEY changed?)"))]
        secrets = [secret]
        previous = decrypt(c.previous_secret_enc, SECRET_PURPOSE)
        if previous is not None:
            secrets.append(previous)  # a rotation's grace period: the receiver may still hold the old one
        try:
            # Checked again at every attempt (DNS changes), and sent to the very addresses that were checked.
            targets = await pin_webhook_targets_async(
                c.url,
                self.settings.allow_hosts,
                dns_seconds=self.settings.dns_timeout_seconds,
                ports=parse_ports(self.settings.webhook_allowed_ports),
            )
        except UrlRefused as exc:
            return [(c, Outcome(False, None, f"refused: {exc}"))]
        body = event_body(c.type, c.occurred_at, payload_for(c))
        headers = signed_headers(secrets, message_id(c.event_id), body, self.clock())
        if c.request_id:
            headers["x-request-id"] = c.request_id
        outcome = await post(
            self.client,
            targets,
            body,
            headers,
            deadline=self.settings.webhook_timeout_seconds,
            max_body=self.settings.webhook_max_response_bytes,
        )
        return [(c, answer_snippet(outcome, secrets, headers))]


async def wait_any(stop: asyncio.Event, wake: asyncio.Event | None, seconds: float) -> None:
    waiters = {asyncio.ensure_future(stop.wait())}
    if wake is not None:
        waiters.add(asyncio.ensure_future(wake.wait()))
    await asyncio.wait(waiters, timeout=max(seconds, 0.0), return_when=asyncio.FIRST_COMPLETED)
    for waiter in waiters:
        waiter.cancel()
