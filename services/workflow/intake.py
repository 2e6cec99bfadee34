"""Opening a received case through an intake code in one statement: the hot path of every citizen submission.

``open_case`` (service.py) takes several round trips through the ORM; a citizen's submission takes one. The
statement re-checks, in the database and at that moment, that the code is active and its deputy or station
too, so a caller may build it from cached facts and a revoked code still stops accepting at once. It writes
the case, its public ``received`` event and the ``case.received`` outbox row (the same thin payload as
``case_payload``), and wakes the relay, all in one implicit transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.workflow.actors import CITIZEN
from shared.db.enums import CaseKind, CaseStatus
from shared.events.outbox import NOTIFY_CHANNEL
from shared.logs import current_request_id

# Unknown-typed parameters in an INSERT ... SELECT list are not coerced to the target columns, hence the
# casts. Every CTE the answer depends on is referenced by the final SELECT: PostgreSQL runs data-modifying
# CTEs regardless, but skips a plain SELECT CTE (the pg_notify) that nothing reads.
_OPEN_THROUGH_CODE = text(
    """
WITH code AS (
    SELECT c.id FROM intake_codes c
    WHERE c.id = CAST(:intake_code_id AS bigint) AND c.status = 'active'
      -- A token the caller cached may have been rotated away since: the old one accepts nothing.
      AND (CAST(:intake_code_token AS text) IS NULL OR c.token = CAST(:intake_code_token AS text))
      AND CASE WHEN c.owner_type = 'deputy'
               THEN EXISTS (SELECT 1 FROM deputies d WHERE d.id = c.deputy_id AND d.active)
               ELSE EXISTS (SELECT 1 FROM stations s WHERE s.id = c.station_id AND s.active) END
), category AS (
    SELECT CAST(:category_id AS bigint) IS NULL
        OR EXISTS (SELECT 1 FROM categories WHERE id = CAST(:category_id AS bigint) AND active) AS open
), earlier AS (
    SELECT tracking_no, status, access_key_hash, submission_body_hash FROM cases
    WHERE intake_code_id = CAST(:intake_code_id AS bigint) AND submission_key = CAST(:submission_key AS text)
), new_case AS (
    INSERT INTO cases (
        jurisdiction_id, tracking_no, access_key_hash, status, kind, category_id, request_type, urgency,
        title, description, location_text, lat, long, submitter_name_enc, submitter_phone_enc,
        submitter_email_enc, confidential, source, intake_code_id, submission_key, submission_body_hash,
        station_id, deputy_id, grid_id, rework_round
    )
    SELECT CAST(:jurisdiction_id AS bigint), CAST(:tracking_no AS text), CAST(:access_key_hash AS text),
        CAST(:status AS text), CAST(:kind AS text), CAST(:category_id AS bigint), CAST(:request_type AS text),
        CAST(:urgency AS text), CAST(:title AS text), CAST(:description AS text),
        CAST(:location_text AS text), CAST(:lat AS double precision), CAST(:long AS double precision),
        CAST(:submitter_name_enc AS bytea), CAST(:submitter_phone_enc AS bytea),
        CAST(:submitter_email_enc AS bytea), CAST(:confidential AS boolean), CAST(:source AS text), code.id,
        CAST(:submission_key AS text), CAST(:submission_body_hash AS text),
        CAST(:station_id AS bigint), CAST(:deputy_id AS bigint), CAST(:grid_id AS bigint), 0
    FROM code, category
    WHERE category.open AND NOT EXISTS (SELECT 1 FROM earlier)
    -- A concurrent request with the same key: wait for it, then insert nothing (the caller reads its case).
    ON CONFLICT ON CONSTRAINT uq_cases_intake_code_id_submission_key DO NOTHING
    RETURNING id, tracking_no
), event AS (
    INSERT INTO case_events (
        jurisdiction_id, case_id, type, at, actor_type, actor_id, public, from_status, to_status, data
    )
    SELECT CAST(:jurisdiction_id AS bigint), id, 'received', CAST(:at AS timestamptz), CAST(:actor_type AS text),
        NULL, true, NULL, CAST(:status AS text), '{}'::jsonb
    FROM new_case
    RETURNING id
), outbox_row AS (
    INSERT INTO outbox (event_id, jurisdiction_id, case_id, type, payload, occurred_at, request_id)
    SELECT gen_random_uuid(), CAST(:jurisdiction_id AS bigint), id, 'case.received',
        jsonb_build_object(
            'case_id', id, 'tracking_no', tracking_no, 'jurisdiction', CAST(:jurisdiction_code AS text),
            'status', CAST(:status AS text), 'category_code', CAST(:category_code AS text),
            'department_ids', '[]'::jsonb
        ),
        CAST(:at AS timestamptz), CAST(:request_id AS text)
    FROM new_case
    RETURNING id
), notified AS (
    -- Delivered when (and if) the statement's transaction commits; repeated notifies coalesce.
    SELECT pg_notify(CAST(:channel AS text), '') FROM outbox_row
)
SELECT EXISTS (SELECT 1 FROM code) AS code_open,
    (SELECT open FROM category) AS category_open,
    (SELECT id FROM new_case) AS case_id,
    (SELECT count(*) FROM event) + (SELECT count(*) FROM notified) AS written,
    earlier.tracking_no AS earlier_tracking_no,
    earlier.status AS earlier_status,
    earlier.access_key_hash AS earlier_access_key_hash,
    earlier.submission_body_hash AS earlier_body_hash
FROM (SELECT 1) AS one LEFT JOIN earlier ON true
"""
)


@dataclass(frozen=True)
class ReceivedCase:
    """Everything a citizen's case is opened with; ids come from the caller's (possibly cached) lookups."""

    jurisdiction_id: int
    jurisdiction_code: str
    intake_code_id: int
    tracking_no: str
    access_key_hash: str
    description: str
    source: str
    category_id: int | None = None
    category_code: str | None = None
    request_type: str = "suggestion"
    urgency: str = "normal"
    title: str | None = None
    location_text: str | None = None
    lat: float | None = None
    long: float | None = None
    submitter_name_enc: bytes | None = None
    submitter_phone_enc: bytes | None = None
    submitter_email_enc: bytes | None = None  # an Open311 request's e-mail
    confidential: bool = False
    submission_key: str | None = None  # already hashed
    submission_body_hash: str | None = None  # the canonical body's hash, kept with the key
    station_id: int | None = None
    deputy_id: int | None = None
    grid_id: int | None = None
    intake_code_token: str | None = None  # the token submitted through; refused once rotated away


@dataclass(frozen=True)
class EarlierCase:
    """The case a submission key already made on the same code."""

    tracking_no: str
    status: str
    access_key_hash: str
    body_hash: str | None  # None for cases made before bodies were bound to their keys


@dataclass(frozen=True)
class Opening:
    """What the statement found: exactly one of ``case_id`` and ``earlier`` is set when the code was open
    and the category active, unless a concurrent request with the same key won (then neither; read it)."""

    code_open: bool
    category_open: bool
    case_id: int | None
    earlier: EarlierCase | None


async def open_case_through_code(connection: AsyncConnection, case: ReceivedCase, at: datetime) -> Opening:
    """Opens a received case if the code (and its deputy or station) is active and the category still
    active, unless the submission key already made a case on this code; one round trip.

    The connection should be in autocommit mode: the statement is then its own transaction and commits
    (with its notify) before this returns. In a caller's transaction it commits with that transaction."""
    params = {
        **vars(case),
        "status": CaseStatus.received.value,
        "kind": CaseKind.citizen.value,
        "actor_type": CITIZEN.type,
        "at": at,
        "channel": NOTIFY_CHANNEL,
        "request_id": current_request_id(),  # the submission's X-Request-ID, followed through the services
    }
    row = (await connection.execute(_OPEN_THROUGH_CODE, params)).one()
    earlier = None
    if row.earlier_tracking_no is not None:
        earlier = EarlierCase(
            row.earlier_tracking_no, row.earlier_status, row.earlier_access_key_hash, row.earlier_body_hash
        )
    return Opening(
        code_open=bool(row.code_open),
        category_open=bool(row.category_open),
        case_id=row.case_id,
        earlier=earlier,
    )
