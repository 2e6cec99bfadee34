"""Whose duty points a key may read: staff of the jurisdiction any deputy's, a deputy only their own."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.supervision.duty.errors import DeputyNotFound
from shared.db.enums import Role
from shared.db.models import Deputy
from shared.security.apikeys import Principal


async def jurisdiction_deputy(session: AsyncSession, jurisdiction_id: int, deputy_id: int) -> Deputy:
    deputy = (
        await session.execute(
            select(Deputy).where(Deputy.id == deputy_id, Deputy.jurisdiction_id == jurisdiction_id)
        )
    ).scalar_one_or_none()
    if deputy is None:
        raise DeputyNotFound()
    return deputy


async def readable_deputy(session: AsyncSession, principal: Principal, deputy_id: int) -> Deputy:
    """The deputy, if the caller may read their points and file: another deputy's id is a 404 to a deputy."""
    if principal.role == Role.deputy and principal.deputy_id != deputy_id:
        raise DeputyNotFound()
    return await jurisdiction_deputy(session, principal.jurisdiction_id, deputy_id)
