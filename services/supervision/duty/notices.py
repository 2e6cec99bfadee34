"""Notices on the deputies' desks (read by intake): a suggestion they wrote or co-signed was replied.

One notice per deputy, suggestion and reply round (the unique index behind ON CONFLICT DO NOTHING), so a
redelivered case.replied writes nothing more. The round is that of the case's latest reply, so a late
case.replied that arrives after the rework began still names the round that was replied.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.supervision.duty.writers import cosigners
from shared.db.enums import CaseKind, DeputyNoticeKind
from shared.db.models import Case, DeputyNotice, Reply


async def on_replied(session: AsyncSession, case: Case, data: Mapping[str, Any], at: datetime) -> None:
    """A replied deputy suggestion: a `replied` notice for its author and every co-signer."""
    if case.kind != CaseKind.deputy_suggestion:
        return
    deputies = await cosigners(session, case)
    if case.deputy_id is not None:
        deputies.add(case.deputy_id)
    if not deputies:
        return
    latest = await session.scalar(select(func.max(Reply.round)).where(Reply.case_id == case.id))
    round_ = case.rework_round if latest is None else latest
    await session.execute(
        pg_insert(DeputyNotice)
        .values(
            [
                {
                    "jurisdiction_id": case.jurisdiction_id,
                    "deputy_id": deputy_id,
                    "case_id": case.id,
                    "kind": DeputyNoticeKind.replied,
                    "round": round_,
                }
                for deputy_id in sorted(deputies)
            ]
        )
        .on_conflict_do_nothing(
            index_elements=[
                DeputyNotice.deputy_id,
                DeputyNotice.case_id,
                DeputyNotice.kind,
                DeputyNotice.round,
            ]
        )
    )
