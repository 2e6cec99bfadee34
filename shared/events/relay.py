"""The relay: fans outbox rows out into deliveries and sends them as signed HTTP requests.

Any number of relays may run at once. Deliveries to our own services (kind internal) are retried until they
succeed, so no event is lost while a service is down. Rows are claimed with FOR UPDATE SKIP LOCKED; a delivery being sent is
leased (``locked_until``), so one whose worker died is sent again once the lease expires. Endpoints marked
``ordered`` get a case's events strictly in order: a delivery waits while an earlier one for the same case is
still pending.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db.engine import transaction
from shared.events.outbox import NOTIFY_CHANNEL, message_id
from shared.security.keys import derived_webhook_secret
from shared.security.pii import decrypt
from shared.security.urls import PinnedTarget, UrlRefused, pin_webhook_url
from shared.settings import Settings
from shared.webhooks import encode_body, signed_headers

log = structlog.get_logger("minyi.relay")

SECRET_PURPOSE = "webhook-secret"  # noqa: S105 (a key-derivation label, not a secret)

_FAN_OUT = text(
    """
    WITH batch AS (
        SELECT id, jurisdiction_id, case_id, type FROM outbox
        WHERE fanned_out_at IS NULL ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED
    ), fanned AS (
        INSERT INTO webhook_deliveries (endpoint_id, outbox_id, case_id, event_type, status, attempts,
                                        next_attempt_at)
        SELECT e.id, b.id, b.case_id, b.type, 'pending', 0, now()
        FROM batch b JOIN webhook_endpoints e
          ON (e.jurisdiction_id = b.jurisdiction_id OR e.kind = 'internal')
         AND (cardinality(e.event_types) = 0 OR b.type = ANY(e.event_types))
         AND e.enabled
        ON CONFLICT (endpoint_id, outbox_id) DO NOTHING
    )
    UPDATE outbox SET fanned_out_at = now() FROM batch WHERE outbox.id = batch.id
    RETURNING outbox.id
    """
)

_CLAIM = text(
    """
    UPDATE webhook_deliveries d SET locked_until = now() + make_interval(secs => :lease)
    FROM outbox o, webhook_endpoints e
    WHERE d.id IN (
        SELECT c.id FROM webhook_deliveries c JOIN webhook_endpoints ce ON ce.id = c.endpoint_id
        WHERE c.status = 'pending' AND c.next_attempt_at <= now()
          AND (c.locked_until IS NULL OR c.locked_until < now())
          AND ce.enabled
          AND (NOT ce.ordered OR c.case_id IS NULL OR NOT EXISTS (
                SELECT 1 FROM webhook_deliveries p
                WHERE p.endpoint_id = c.endpoint_id AND p.case_id = c.case_id
                  AND p.outbox_id < c.outbox_id AND p.status = 'pending'))
        ORDER BY c.next_attempt_at, c.id
        LIMIT :limit
        FOR UPDATE OF c SKIP LOCKED
    )
    AND o.id = d.outbox_id AND e.id = d.endpoint_id
    RETURNING d.id, d.attempts, d.locked_until, o.event_id, o.type, o.payload, o.occurred_at,
              e.id AS endpoint_id, e.kind, e.name, e.url, e.secret_enc
    """
)

_NEXT_DUE = text(
    """
    SELECT min(greatest(d.next_attempt_at, coalesce(d.locked_until, d.next_attempt_at)))
    FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
    WHERE d.status = 'pending' AND e.enabled
    """
)


@dataclass(frozen=True)
class Claimed:
    delivery_id: int
    attempts: int
    locked_until: datetime
    event_id: Any
    type: str
    payload: dict[str, Any]
    occurred_at: datetime
    endpoint_id: int
    endpoint_kind: str
    endpoint_name: str | None
    url: str
    secret_enc: bytes | None


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status_code: int | None
    error: str | None


def retry_delay(schedule: list[float], attempts: int, internal: bool, settings: Settings) -> float:
    """Seconds before the next try after ``attempts`` failed ones.

    Integrators follow the published schedule and then give up. Our own services never give up, and wait at
    most ``internal_retry_max_seconds``: a service that was down gets its backlog soon after it is back.
    """
    delay = schedule[min(attempts, len(schedule)) - 1] if schedule else settings.internal_retry_max_seconds
    return min(delay, settings.internal_retry_max_seconds) if internal else delay


def event_body(event_type: str, occurred_at: datetime, payload: dict[str, Any]) -> bytes:
    return encode_body(
        {"type": event_type, "timestamp": occurred_at.astimezone(UTC).isoformat(), "data": payload}
    )


class Relay:
    def __init__(
        self,
        engine: AsyncEngine,
        settings: Settings,
        client: httpx.AsyncClient,
        *,
        batch_size: int = 100,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.client = client
        self.batch_size = batch_size
        self.clock = clock
        self._wake = asyncio.Event()

    async def fan_out(self) -> int:
        async with transaction(self.engine) as session:
            result = await session.execute(_FAN_OUT, {"limit": self.batch_size})
            return len(result.all())

    async def claim(self) -> list[Claimed]:
        async with transaction(self.engine) as session:
            rows = await session.execute(
                _CLAIM, {"lease": self.settings.delivery_lease_seconds, "limit": self.batch_size}
            )
            return [
                Claimed(
                    delivery_id=r.id,
                    attempts=r.attempts,
                    locked_until=r.locked_until,
                    event_id=r.event_id,
                    type=r.type,
                    payload=r.payload,
                    occurred_at=r.occurred_at,
                    endpoint_id=r.endpoint_id,
                    endpoint_kind=r.kind,
                    endpoint_name=r.name,
                    url=r.url,
                    secret_enc=r.secret_enc,
                )
                for r in rows
            ]

    def _secret(self, claimed: Claimed) -> str | None:
        if claimed.endpoint_kind == "internal":
            return derived_webhook_secret(self.settings.secret_key, claimed.endpoint_name or "")
        return decrypt(claimed.secret_enc, SECRET_PURPOSE)

    async def send(self, claimed: Claimed) -> Outcome:
        secret = self._secret(claimed)
        if secret is None:
            return Outcome(False, None, "endpoint secret unreadable (MINYI_SECRET_KEY changed?)")
        target = PinnedTarget(claimed.url)
        if claimed.endpoint_kind != "internal":
            # Checked again at every attempt (DNS changes), and sent to the very address that was checked.
            try:
                target = await asyncio.to_thread(pin_webhook_url, claimed.url, self.settings.allow_hosts)
            except UrlRefused as exc:
                return Outcome(False, None, f"refused: {exc}")
        body = event_body(claimed.type, claimed.occurred_at, claimed.payload)
        headers = signed_headers(secret, message_id(claimed.event_id), body, self.clock())
        if target.host_header:
            headers["host"] = target.host_header
        try:
            response = await self.client.post(
                target.url,
                content=body,
                headers=headers,
                timeout=self.settings.webhook_timeout_seconds,
                extensions={"sni_hostname": target.sni_hostname} if target.sni_hostname else None,
            )
        except httpx.HTTPError as exc:
            return Outcome(False, None, f"{type(exc).__name__}: {exc}"[:500])
        ok = 200 <= response.status_code < 300
        return Outcome(ok, response.status_code, None if ok else response.text[:500])

    async def record(self, claimed: Claimed, outcome: Outcome) -> None:
        now = self.clock()
        attempts = claimed.attempts + 1
        schedule = self.settings.retry_schedule
        params: dict[str, Any] = {
            "id": claimed.delivery_id,
            "attempts": attempts,
            "now": now,
            "code": outcome.status_code,
            "error": outcome.error,
        }
        async with transaction(self.engine) as session:
            if outcome.ok:
                await session.execute(
                    text(
                        "UPDATE webhook_deliveries SET status = 'succeeded', attempts = :attempts,"
                        " delivered_at = :now, last_attempt_at = :now, last_status_code = :code,"
                        " last_error = NULL, locked_until = NULL WHERE id = :id AND status = 'pending'"
                    ),
                    params,
                )
                await session.execute(
                    text(
                        "UPDATE webhook_endpoints SET failing_since = NULL WHERE id = :e AND failing_since IS NOT NULL"
                    ),
                    {"e": claimed.endpoint_id},
                )
                return
            internal = claimed.endpoint_kind == "internal"
            gone = outcome.status_code == 410 and not internal
            final = gone or (attempts > len(schedule) and not internal)
            params["status"] = "failed" if final else "pending"
            params["next"] = (
                now
                if final
                else now + timedelta(seconds=retry_delay(schedule, attempts, internal, self.settings))
            )
            await session.execute(
                text(
                    "UPDATE webhook_deliveries SET status = :status, attempts = :attempts,"
                    " next_attempt_at = :next, last_attempt_at = :now, last_status_code = :code,"
                    " last_error = :error, locked_until = NULL WHERE id = :id AND status = 'pending'"
                ),
                params,
            )
            await session.execute(
                text(
                    "UPDATE webhook_endpoints SET failing_since = :now WHERE id = :e AND failing_since IS NULL"
                ),
                {"e": claimed.endpoint_id, "now": now},
            )
            if claimed.endpoint_kind == "internal":
                return
            cutoff = now - timedelta(days=self.settings.webhook_failure_disable_days)
            reason = "接收方返回 410 Gone，已停用" if gone else "连续失败超过规定天数，已自动停用"
            await session.execute(
                text(
                    "UPDATE webhook_endpoints SET enabled = false, disabled_reason = :reason"
                    " WHERE id = :e AND enabled AND (:gone OR failing_since < :cutoff)"
                ),
                {"e": claimed.endpoint_id, "reason": reason, "gone": gone, "cutoff": cutoff},
            )
        log.info(
            "delivery_failed",
            delivery_id=claimed.delivery_id,
            endpoint_id=claimed.endpoint_id,
            type=claimed.type,
            attempts=attempts,
            status_code=outcome.status_code,
            error=outcome.error,
            final=final,
        )

    async def deliver_due(self) -> int:
        claimed = await self.claim()
        if not claimed:
            return 0

        async def one(item: Claimed) -> None:
            outcome = await self.send(item)
            await self.record(item, outcome)

        await asyncio.gather(*(one(item) for item in claimed))
        return len(claimed)

    async def seconds_until_next_due(self) -> float | None:
        async with transaction(self.engine) as session:
            due: datetime | None = (await session.execute(_NEXT_DUE)).scalar_one_or_none()
        if due is None:
            return None
        return max((due - self.clock()).total_seconds(), 0.0)

    def wake(self) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Fans out and delivers until ``stop`` is set, sleeping on LISTEN/NOTIFY with a polling fallback."""
        async with self.engine.connect() as listen_conn:
            raw = await listen_conn.get_raw_connection()
            driver = raw.driver_connection
            assert driver is not None

            def on_notify(*_: object) -> None:
                self._wake.set()

            await driver.add_listener(NOTIFY_CHANNEL, on_notify)
            log.info("relay_started")
            while not stop.is_set():
                started = time.monotonic()
                # Cleared before the work, so a notification that arrives during it is not lost.
                self._wake.clear()
                try:
                    fanned = await self.fan_out()
                    sent = await self.deliver_due()
                except Exception:
                    log.exception("relay_iteration_failed")
                    fanned = sent = 0
                    await _sleep_or_stop(stop, self.settings.worker_poll_seconds)
                if fanned or sent:
                    continue
                timeout = self.settings.worker_poll_seconds
                with contextlib.suppress(Exception):
                    until_due = await self.seconds_until_next_due()
                    if until_due is not None:
                        timeout = min(timeout, until_due)
                waiter = asyncio.ensure_future(self._wake.wait())
                stopper = asyncio.ensure_future(stop.wait())
                await asyncio.wait({waiter, stopper}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
                stopper.cancel()
                log.debug("relay_idle", slept=time.monotonic() - started)
            await driver.remove_listener(NOTIFY_CHANNEL, on_notify)


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
