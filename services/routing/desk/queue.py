"""The dispatch queue (交办队列): the cases waiting for a person, most urgent first and then the longest
waiting, each with why it waits — every decline with its reason and suggestion, departments' flags, the
classifier's best three guesses, the question a case was returned to its citizen with. Cases waiting for
their citizen's answer come after those a dispatcher can act on."""

from __future__ import annotations

import base64
import binascii
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, literal, select, tuple_
from sqlalchemy import case as sql_case
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from services.routing.desk.schemas import (
    CandidateOut,
    DeclineNote,
    FlagNote,
    QueueItem,
    QueuePage,
    ReturnNote,
)
from shared.db.enums import AssignmentStatus, CaseStatus, QueueReason
from shared.db.ids import MAX_ID
from shared.db.models import Assignment, Case, CaseClassification, CaseEvent, Category, Department, Grid
from shared.errors import Unprocessable

REASON_LABELS = {
    "no_rule": "无匹配的交办规则",
    "declined": "承办单位均已退回",
    "low_confidence": "自动分类把握不足",
    "flagged": "承办单位提请处理",
    "awaiting_citizen": "已退回群众补充",
}
# Queued cases that left the handling states (merged, rejected, replied) no longer wait for anyone.
_WAITING = (CaseStatus.received, CaseStatus.dispatched, CaseStatus.in_progress)
_URGENCY_RANK = sql_case({"critical": 0, "urgent": 1}, value=Case.urgency, else_=2)
# 0-2: waiting for a dispatcher, by urgency; 3-5: waiting for the citizen's answer, by urgency.
_RANK = _URGENCY_RANK + sql_case((Case.queue_reason == QueueReason.awaiting_citizen, 3), else_=0)


def _encode(rank: int, queued_at: datetime, case_id: int) -> str:
    raw = f"q:{rank}:{queued_at.isoformat()}:{case_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[int, datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, rank, rest = raw.split(":", 2)
        at, case_id = rest.rsplit(":", 1)
        if prefix != "q" or not 0 <= int(rank) <= 5 or not 0 < int(case_id) <= MAX_ID:
            raise ValueError(raw)
        moment = datetime.fromisoformat(at)
        if moment.tzinfo is None:
            raise ValueError(at)
        return int(rank), moment, int(case_id)
    except (ValueError, UnicodeDecodeError, binascii.Error) as exc:
        raise Unprocessable.field("cursor", "分页游标无效") from exc


def _waiting(jurisdiction_id: int) -> list[ColumnElement[bool]]:
    return [
        Case.jurisdiction_id == jurisdiction_id,
        Case.queue_reason.is_not(None),
        Case.status.in_(_WAITING),
    ]


async def queue_counts(session: AsyncSession, jurisdiction_id: int) -> dict[str, int]:
    rows = await session.execute(
        select(Case.queue_reason, func.count()).where(*_waiting(jurisdiction_id)).group_by(Case.queue_reason)
    )
    counts = dict.fromkeys(REASON_LABELS, 0)
    counts.update({str(reason): int(n) for reason, n in rows.tuples()})
    return counts


async def _declines(session: AsyncSession, case_ids: Sequence[int]) -> dict[int, list[DeclineNote]]:
    suggested = aliased(Department)
    rows = await session.execute(
        select(Assignment, Department.name, suggested.name)
        .join(Department, Department.id == Assignment.department_id)
        .outerjoin(suggested, suggested.id == Assignment.suggested_department_id)
        .where(Assignment.case_id.in_(case_ids), Assignment.status == AssignmentStatus.declined)
        .order_by(Assignment.declined_at, Assignment.id)
    )
    found: dict[int, list[DeclineNote]] = defaultdict(list)
    for a, name, suggested_name in rows.tuples():
        found[a.case_id].append(
            DeclineNote(
                department_id=a.department_id,
                department_name=name,
                reason=a.decline_reason,
                suggested_department_id=a.suggested_department_id,
                suggested_department_name=suggested_name,
                at=a.declined_at,
            )
        )
    return found


async def _flags(session: AsyncSession, cases: Sequence[Case]) -> dict[int, list[FlagNote]]:
    """The flags of each case's current stay in the queue."""
    since = {c.id: c.queued_at for c in cases}
    rows = await session.scalars(
        select(CaseEvent)
        .where(CaseEvent.case_id.in_(since), CaseEvent.type == "queued")
        .order_by(CaseEvent.id)
    )
    found: dict[int, list[FlagNote]] = defaultdict(list)
    for event in rows:
        data: dict[str, Any] = event.data
        started = since.get(event.case_id)
        if data.get("reason") != "flagged" or (started is not None and event.at < started):
            continue
        found[event.case_id].append(
            FlagNote(
                department_id=data.get("department_id"),
                department_name=data.get("department_name"),
                reason=str(data.get("text", "")),
                at=event.at,
            )
        )
    return found


async def _returned(session: AsyncSession, case_ids: Sequence[int]) -> dict[int, ReturnNote]:
    """The question each case waiting for its citizen was returned with (the latest, if asked again)."""
    if not case_ids:
        return {}
    rows = await session.scalars(
        select(CaseEvent)
        .where(CaseEvent.case_id.in_(case_ids), CaseEvent.type == "returned")
        .order_by(CaseEvent.id)
    )
    return {e.case_id: ReturnNote(message=str(e.data.get("text", "")), at=e.at) for e in rows}


async def _candidates(session: AsyncSession, case_ids: Sequence[int]) -> dict[int, list[CandidateOut]]:
    rows = await session.scalars(select(CaseClassification).where(CaseClassification.case_id.in_(case_ids)))
    return {
        row.case_id: [
            CandidateOut(
                category_code=str(c.get("category_code")),
                name=str(c.get("name", "")),
                score=float(c.get("score", 0.0)),
                matched=[str(w) for w in c.get("matched", [])],
            )
            for c in row.candidates[:3]
        ]
        for row in rows
    }


async def dispatch_queue(
    session: AsyncSession, jurisdiction_id: int, *, reason: str | None, limit: int, cursor: str | None
) -> QueuePage:
    where = _waiting(jurisdiction_id)
    if reason is not None:
        where.append(Case.queue_reason == reason)
    if cursor is not None:
        rank, at, case_id = _decode(cursor)
        where.append(
            tuple_(_RANK, Case.queued_at, Case.id) > tuple_(literal(rank), literal(at), literal(case_id))
        )
    rows = (
        (
            await session.execute(
                select(Case, _RANK, Category.code, Grid.code)
                .outerjoin(Category, Category.id == Case.category_id)
                .outerjoin(Grid, Grid.id == Case.grid_id)
                .where(*where)
                .order_by(_RANK, Case.queued_at, Case.id)
                .limit(limit + 1)
            )
        )
        .tuples()
        .all()
    )
    page = rows[:limit]
    cases = [row[0] for row in page]
    ids = [c.id for c in cases]
    declines = await _declines(session, ids) if ids else {}
    flags = await _flags(session, cases) if ids else {}
    candidates = await _candidates(session, ids) if ids else {}
    returned = await _returned(
        session, [c.id for c in cases if c.queue_reason == QueueReason.awaiting_citizen]
    )
    items = [
        QueueItem(
            case_id=c.id,
            tracking_no=c.tracking_no,
            status=c.status,
            kind=c.kind,
            reason=str(c.queue_reason),
            reason_label=REASON_LABELS.get(str(c.queue_reason), str(c.queue_reason)),
            queued_at=c.queued_at or c.created_at,
            created_at=c.created_at,
            urgency=c.urgency,
            request_type=c.request_type,
            category_code=category_code,
            category_source=c.category_source,
            classification_score=c.classification_score,
            title=c.title,
            description=c.description,
            location_text=c.location_text,
            grid_code=grid_code,
            station_id=c.station_id,
            deputy_id=c.deputy_id,
            declines=declines.get(c.id, []),
            flags=flags.get(c.id, []),
            candidates=candidates.get(c.id, []),
            returned=returned.get(c.id),
        )
        for c, _rank, category_code, grid_code in page
    ]
    next_cursor = None
    if len(rows) > limit:
        last, rank, _, _ = page[-1]
        next_cursor = _encode(int(rank), last.queued_at or last.created_at, last.id)
    return QueuePage(
        items=items, next_cursor=next_cursor, counts=await queue_counts(session, jurisdiction_id)
    )
