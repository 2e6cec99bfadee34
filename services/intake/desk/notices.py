"""The notices on a deputy's desk: a suggestion they wrote or co-signed was replied (written by supervision when
it hears the reply; read and marked read here)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Row, Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.desk.errors import NoticeNotFound
from services.intake.desk.schemas import NOTICE_KIND_LABELS, DeskNotice
from shared.db.models import Case, DeputyNotice

# A notice with its case's tracking number, title and kind.
_NoticeRow = tuple[DeputyNotice, str, str | None, str]


def _out(row: Row[_NoticeRow]) -> DeskNotice:
    notice, tracking_no, title, case_kind = row._tuple()
    return DeskNotice(
        id=notice.id,
        kind=notice.kind,
        kind_label=NOTICE_KIND_LABELS.get(notice.kind, notice.kind),
        round=notice.round,
        case_id=notice.case_id,
        tracking_no=tracking_no,
        title=title,
        case_kind=case_kind,
        created_at=notice.created_at,
        read=notice.read_at is not None,
        read_at=notice.read_at,
    )


def _query(jurisdiction_id: int, deputy_id: int) -> Select[_NoticeRow]:
    return (
        select(DeputyNotice, Case.tracking_no, Case.title, Case.kind)
        .join(Case, Case.id == DeputyNotice.case_id)
        .where(DeputyNotice.jurisdiction_id == jurisdiction_id, DeputyNotice.deputy_id == deputy_id)
    )


async def list_notices(
    session: AsyncSession,
    jurisdiction_id: int,
    deputy_id: int,
    *,
    unread: bool | None,
    limit: int,
    before_id: int | None = None,
) -> list[DeskNotice]:
    """Up to ``limit + 1`` of the deputy's notices, newest first."""
    query = _query(jurisdiction_id, deputy_id)
    if before_id is not None:
        query = query.where(DeputyNotice.id < before_id)
    if unread is not None:
        query = query.where(DeputyNotice.read_at.is_(None) if unread else DeputyNotice.read_at.is_not(None))
    rows = await session.execute(query.order_by(DeputyNotice.id.desc()).limit(limit + 1))
    return [_out(row) for row in rows]


async def mark_read(
    session: AsyncSession, jurisdiction_id: int, deputy_id: int, notice_id: int
) -> DeskNotice:
    """Marks the notice read (once: reading it again keeps the first time); another deputy's is a 404."""
    row = (
        await session.execute(
            _query(jurisdiction_id, deputy_id)
            .where(DeputyNotice.id == notice_id)
            .with_for_update(of=DeputyNotice)
        )
    ).first()
    if row is None:
        raise NoticeNotFound()
    notice = row[0]
    if notice.read_at is None:
        notice.read_at = datetime.now(UTC)
        await session.flush()
    return _out(row)
