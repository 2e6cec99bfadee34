"""Recording what happened to claimed deliveries: success, the next retry, or giving up; in one statement per
batch, and only for rows whose claim still holds (a lease lost to another relay is never overwritten).

Integrators follow the published retry schedule, then the delivery fails; a 410 or days of failure disable
the endpoint and raise a ``webhook.disabled`` event in the same transaction (the jurisdiction's admin
endpoints hear it, see shared.events.fanout). Our own services are retried without end, at most
``internal_retry_max_seconds`` apart, and an internal delivery pending longer than ``internal_stuck_seconds``
is logged as an error at every failure.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db.engine import transaction
from shared.events.claims import Claimed
from shared.events.fanout import ENDPOINT_DISABLED_EVENT
from shared.events.outbox import emit
from shared.events.redaction import snippet
from shared.events.transport import Outcome
from shared.observability.metrics import count_deliveries
from shared.settings import Settings

log = structlog.get_logger("minyi.relay")

# A receiver's Retry-After is honoured up to this many seconds (a day); a larger one waits this long.
RETRY_AFTER_CAP_SECONDS = 86400.0

_RECORD = text(
    """
    UPDATE webhook_deliveries d
    SET status = r.status, attempts = r.attempts, next_attempt_at = r.next_at, last_attempt_at = :now,
        last_status_code = r.code, last_error = r.error,
        delivered_at = CASE WHEN r.status = 'succeeded' THEN :now ELSE d.delivered_at END,
        locked_until = NULL, claim_token = NULL
    FROM unnest(CAST(:ids AS bigint[]), CAST(:tokens AS uuid[]), CAST(:statuses AS text[]),
                CAST(:attempts AS int[]), CAST(:next_at AS timestamptz[]), CAST(:codes AS int[]),
                CAST(:errors AS text[])) AS r(id, token, status, attempts, next_at, code, error)
    WHERE d.id = r.id AND d.claim_token = r.token AND d.status = 'pending'
    RETURNING d.id
    """
)

_ENDPOINTS_OK = text(
    "UPDATE webhook_endpoints SET failing_since = NULL"
    " WHERE id = ANY(CAST(:ids AS bigint[])) AND failing_since IS NOT NULL"
)
_ENDPOINTS_FAILING = text(
    "UPDATE webhook_endpoints SET failing_since = :now"
    " WHERE id = ANY(CAST(:ids AS bigint[])) AND failing_since IS NULL"
)
_DISABLE = text(
    """
    UPDATE webhook_endpoints SET enabled = false, disabled_reason = :reason, disabled_at = :now
    WHERE id = :id AND kind <> 'internal' AND enabled AND (:gone OR failing_since < :cutoff)
    RETURNING id, jurisdiction_id, url
    """
)
GONE_REASON = "接收方返回 410 Gone，已停用"
FAILING_REASON = "连续失败超过规定天数，已自动停用"


def public_url(url: str) -> str:
    """The URL as events may show it: without its query string (it may carry a token) or fragment."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(query="", fragment=""))


def retry_delay(schedule: list[float], attempts: int, internal: bool, settings: Settings) -> float:
    """Seconds before the next try after ``attempts`` failed ones.

    Integrators follow the published schedule and then give up. Our own services never give up, and wait at
    most ``internal_retry_max_seconds``: a service that was down gets its backlog soon after it is back.
    """
    delay = schedule[min(attempts, len(schedule)) - 1] if schedule else settings.internal_retry_max_seconds
    return min(delay, settings.internal_retry_max_seconds) if internal else delay


async def record(
    engine: AsyncEngine, settings: Settings, results: Sequence[tuple[Claimed, Outcome]], now: datetime
) -> int:
    """Records the outcomes; returns how many rows this relay still held (the others were re-claimed)."""
    if not results:
        return 0
    schedule = settings.retry_schedule
    names = ("ids", "tokens", "statuses", "attempts", "next_at", "codes", "errors")
    columns: dict[str, list[object]] = {name: [] for name in names}
    gone: set[int] = set()
    for claimed, outcome in results:
        attempts = claimed.attempts + 1
        is_gone = outcome.status_code == 410 and not claimed.internal
        final = not outcome.ok and not claimed.internal and (is_gone or attempts > len(schedule))
        if is_gone:
            gone.add(claimed.endpoint_id)
        status = "succeeded" if outcome.ok else "failed" if final else "pending"
        wait = 0.0 if outcome.ok or final else retry_delay(schedule, attempts, claimed.internal, settings)
        if not outcome.ok and not final and outcome.retry_after is not None:
            wait = max(wait, min(outcome.retry_after, RETRY_AFTER_CAP_SECONDS))
        columns["ids"].append(claimed.delivery_id)
        columns["tokens"].append(claimed.token)
        columns["statuses"].append(status)
        columns["attempts"].append(attempts)
        columns["next_at"].append(now + timedelta(seconds=wait))
        columns["codes"].append(outcome.status_code)
        # A snippet only: lanes redact our secrets from what the receiver answered; this caps the rest.
        columns["errors"].append(None if outcome.ok else snippet(outcome.error or ""))
    ok_endpoints = sorted({c.endpoint_id for c, o in results if o.ok})
    failing = sorted({c.endpoint_id for c, o in results if not o.ok})
    async with transaction(engine) as session:
        held = {row.id for row in await session.execute(_RECORD, {**columns, "now": now})}
        if ok_endpoints:
            await session.execute(_ENDPOINTS_OK, {"ids": ok_endpoints})
        if failing:
            await session.execute(_ENDPOINTS_FAILING, {"ids": failing, "now": now})
        cutoff = now - timedelta(days=settings.webhook_failure_disable_days)
        for endpoint_id in failing:
            is_gone = endpoint_id in gone
            reason = GONE_REASON if is_gone else FAILING_REASON
            disabled = (
                await session.execute(
                    _DISABLE,
                    {"id": endpoint_id, "reason": reason, "gone": is_gone, "cutoff": cutoff, "now": now},
                )
            ).one_or_none()
            if disabled is not None:
                log.error("endpoint_disabled", endpoint_id=endpoint_id, reason=reason)
                await emit(
                    session,
                    type=ENDPOINT_DISABLED_EVENT,
                    jurisdiction_id=disabled.jurisdiction_id,
                    case_id=None,
                    payload={
                        "endpoint_id": endpoint_id,
                        "url": public_url(disabled.url),
                        "reason": reason,
                        "disabled_at": now.isoformat(),
                    },
                    occurred_at=now,
                )
    _log_failures(settings, results, held, now)
    count_deliveries([claimed.internal for claimed, _ in results], columns["statuses"])
    return len(held)


def _log_failures(
    settings: Settings, results: Sequence[tuple[Claimed, Outcome]], held: set[int], now: datetime
) -> None:
    stuck_after = timedelta(seconds=settings.internal_stuck_seconds)
    for claimed, outcome in results:
        if claimed.delivery_id not in held:
            log.warning("delivery_lease_lost", delivery_id=claimed.delivery_id, ok=outcome.ok)
            continue
        if outcome.ok:
            continue
        fields = {
            "delivery_id": claimed.delivery_id,
            "endpoint_id": claimed.endpoint_id,
            "type": claimed.type,
            "attempts": claimed.attempts + 1,
            "status_code": outcome.status_code,
            "error": outcome.error,
        }
        if claimed.internal and now - claimed.created_at > stuck_after:
            # The operational alarm: our own service has not taken this event for too long.
            log.error(
                "internal_delivery_stuck",
                pending_seconds=int((now - claimed.created_at).total_seconds()),
                **fields,
            )
        else:
            log.info("delivery_failed", **fields)
