"""A deputy's suggestion (代表建议), joint (联名) or not: opened as a case of kind ``deputy_suggestion`` through
the workflow (so ``case.received`` goes out and routing dispatches it like any case, on the statutory
``deputy_suggestion`` tier), with its co-signers, its photos and a ``suggestion.submitted`` event.

An Idempotency-Key makes a retried submission find the suggestion it made. Suggestions come through no
intake code, so the cases table's (code, key) constraint cannot decide a race between two requests with the
same key: a transaction-scoped advisory lock on (deputy, key) makes the second wait for the first.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.desk import photos
from services.intake.desk.errors import DeputyInactive
from services.intake.desk.schemas import SuggestionIn, SuggestionOut
from services.intake.errors import FieldErrors, IdempotencyKeyReused
from services.intake.labels import STATUS_LABELS
from services.intake.submission import track_url
from services.intake.tracking_numbers import TrackingNumbers
from services.workflow import Actor, case_payload, jurisdiction_code, open_case
from shared.db.enums import CaseKind, RequestType, SuggestionSourceKind
from shared.db.models import (
    Case,
    CaseCosigner,
    Category,
    Deputy,
    Grid,
    SuggestionSource,
    deputy_stations,
    station_grids,
)
from shared.errors import Unprocessable
from shared.events.outbox import emit
from shared.security.keys import new_access_key, sha256_hex

SOURCE = "deputy"
SUBMITTED_EVENT = "suggestion.submitted"
_SUBMISSION_KEY = re.compile(r"^[\x21-\x7e]{1,64}$")
_UNKNOWN_CATEGORY = "问题分类不存在或已停用，请重新选择"


def deputy_actor(deputy_id: int) -> Actor:
    return Actor("deputy", deputy_id)


@dataclass(frozen=True)
class Draft:
    """A suggestion about to be opened. ``category_id`` and ``grid_id`` are known facts (an adopted case's)
    used when no code names another."""

    title: str
    description: str
    urgency: str
    category_code: str | None = None
    category_id: int | None = None
    grid_code: str | None = None
    grid_id: int | None = None
    location_text: str | None = None
    lat: float | None = None
    long: float | None = None
    cosigner_ids: list[int] = field(default_factory=list)
    photo_ids: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, data: SuggestionIn) -> Draft:
        return cls(
            title=data.title,
            description=data.description,
            urgency=data.urgency,
            category_code=data.category_code,
            grid_code=data.grid_code,
            location_text=data.location_text,
            lat=data.lat,
            long=data.long,
            cosigner_ids=list(data.cosigner_ids),
            photo_ids=list(data.photo_ids),
        )


def body_hash(data: SuggestionIn) -> str:
    canonical = json.dumps(
        data.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return sha256_hex(canonical)


def ensure_active(author: Deputy) -> None:
    if not author.active:
        raise DeputyInactive()


async def _earlier(
    session: AsyncSession, author: Deputy, hashed_key: str, hashed_body: str
) -> SuggestionOut | None:
    # Same-key requests queue here until the first one's transaction ends, then find its suggestion.
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))"),
        {"name": f"minyi.suggestion:{author.id}:{hashed_key}"},
    )
    earlier = await session.scalar(
        select(Case).where(
            Case.deputy_id == author.id,
            Case.kind == CaseKind.deputy_suggestion,
            Case.intake_code_id.is_(None),
            Case.submission_key == hashed_key,
        )
    )
    if earlier is None:
        return None
    if earlier.submission_body_hash != hashed_body:
        raise IdempotencyKeyReused()
    return SuggestionOut(
        id=earlier.id,
        tracking_no=earlier.tracking_no,
        status=earlier.status,
        status_label=STATUS_LABELS.get(earlier.status, earlier.status),
        access_key=None,
        track_url=None,
        replayed=True,
    )


async def submit(
    session: AsyncSession,
    numbers: TrackingNumbers,
    author: Deputy,
    data: SuggestionIn,
    *,
    submission_key: str | None = None,
) -> SuggestionOut:
    """POST /v1/deputy/cases: a new suggestion, or the one an earlier request with the same key made."""
    ensure_active(author)
    hashed_key = hashed_body = None
    if submission_key is not None:
        if not _SUBMISSION_KEY.match(submission_key):
            raise Unprocessable.field("Idempotency-Key", "Idempotency-Key 须为 1 至 64 个可见 ASCII 字符")
        hashed_key, hashed_body = sha256_hex(submission_key), body_hash(data)
        earlier = await _earlier(session, author, hashed_key, hashed_body)
        if earlier is not None:
            return earlier
    return await open_suggestion(
        session, numbers, author, Draft.of(data), submission_key=hashed_key, body_hash=hashed_body
    )


async def _category_id(session: AsyncSession, jurisdiction_id: int, code: str) -> int | None:
    found: int | None = await session.scalar(
        select(Category.id).where(
            Category.jurisdiction_id == jurisdiction_id, Category.code == code, Category.active
        )
    )
    return found


async def _grid_id(session: AsyncSession, jurisdiction_id: int, code: str) -> int | None:
    found: int | None = await session.scalar(
        select(Grid.id).where(Grid.jurisdiction_id == jurisdiction_id, Grid.code == code)
    )
    return found


async def _first_station(session: AsyncSession, deputy_id: int) -> int | None:
    found: int | None = await session.scalar(
        select(deputy_stations.c.station_id)
        .where(deputy_stations.c.deputy_id == deputy_id)
        .order_by(deputy_stations.c.position, deputy_stations.c.station_id)
        .limit(1)
    )
    return found


async def _first_grid(session: AsyncSession, station_id: int | None) -> int | None:
    if station_id is None:
        return None
    found: int | None = await session.scalar(
        select(station_grids.c.grid_id)
        .where(station_grids.c.station_id == station_id)
        .order_by(station_grids.c.position, station_grids.c.grid_id)
        .limit(1)
    )
    return found


async def checked_cosigners(
    session: AsyncSession, author: Deputy, ids: list[int], errors: FieldErrors
) -> list[int]:
    """The co-signers in the order given (repeats dropped): active deputies of the author's jurisdiction."""
    ordered = list(dict.fromkeys(ids))
    if author.id in ordered:
        errors.add("cosigner_ids", "联名代表不能包含建议人本人")
        ordered.remove(author.id)
    if not ordered:
        return []
    known = set(
        (
            await session.execute(
                select(Deputy.id).where(
                    Deputy.id.in_(ordered), Deputy.jurisdiction_id == author.jurisdiction_id, Deputy.active
                )
            )
        ).scalars()
    )
    unknown = [str(i) for i in ordered if i not in known]
    if unknown:
        errors.add("cosigner_ids", f"联名代表不存在或已停用：{'、'.join(unknown)}")
    return ordered


async def open_suggestion(
    session: AsyncSession,
    numbers: TrackingNumbers,
    author: Deputy,
    draft: Draft,
    *,
    adopted: Case | None = None,
    submission_key: str | None = None,
    body_hash: str | None = None,
) -> SuggestionOut:
    """Checks the draft against the database (422 with one detail per field), then opens the suggestion with
    its co-signers, photos and adoption link, and emits ``suggestion.submitted``. The caller commits."""
    jid = author.jurisdiction_id
    errors = FieldErrors()
    category_id = draft.category_id
    if draft.category_code is not None:
        category_id = await _category_id(session, jid, draft.category_code)
        if category_id is None:
            errors.add("category_code", _UNKNOWN_CATEGORY)
    station_id = await _first_station(session, author.id)
    grid_id = draft.grid_id
    if draft.grid_code is not None:
        grid_id = await _grid_id(session, jid, draft.grid_code)
        if grid_id is None:
            errors.add("grid_code", "网格不存在")
    elif grid_id is None:
        grid_id = await _first_grid(session, station_id)
    cosigners = await checked_cosigners(session, author, draft.cosigner_ids, errors)
    errors.raise_if_any()
    photo_ids = await photos.usable(session, author.id, draft.photo_ids)

    access_key = new_access_key()
    case = Case(
        jurisdiction_id=jid,
        tracking_no=await numbers.next(jid, await jurisdiction_code(session, jid)),
        access_key_hash=sha256_hex(access_key),
        kind=CaseKind.deputy_suggestion,
        category_id=category_id,
        request_type=RequestType.suggestion,
        urgency=draft.urgency,
        title=draft.title,
        description=draft.description,
        location_text=draft.location_text,
        lat=draft.lat,
        long=draft.long,
        confidential=False,
        source=SOURCE,
        submission_key=submission_key,
        submission_body_hash=body_hash,
        station_id=station_id,
        deputy_id=author.id,
        grid_id=grid_id,
        rework_round=0,
    )
    await open_case(session, case, deputy_actor(author.id))
    if cosigners:
        await session.execute(
            insert(CaseCosigner),
            [{"case_id": case.id, "deputy_id": d, "position": i} for i, d in enumerate(cosigners)],
        )
    if adopted is not None:
        await session.execute(
            insert(SuggestionSource).values(
                suggestion_id=case.id, case_id=adopted.id, kind=SuggestionSourceKind.adopted
            )
        )
    await photos.attach(session, photo_ids, case.id)
    payload = await case_payload(session, case)
    payload.update(
        {
            "deputy_id": author.id,
            "cosigner_ids": cosigners,
            "adopted_case_id": adopted.id if adopted is not None else None,
        }
    )
    await emit(
        session,
        type=SUBMITTED_EVENT,
        jurisdiction_id=jid,
        case_id=case.id,
        payload=payload,
        occurred_at=datetime.now(UTC),
    )
    return SuggestionOut(
        id=case.id,
        tracking_no=case.tracking_no,
        status=case.status,
        status_label=STATUS_LABELS.get(case.status, case.status),
        access_key=access_key,
        track_url=track_url(case.tracking_no, access_key),
        adopted_case_id=adopted.id if adopted is not None else None,
    )
