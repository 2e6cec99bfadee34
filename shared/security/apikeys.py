"""Looking up the caller behind an API key."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db.models import ApiKey
from shared.security.keys import api_key_prefix, hash_matches


@dataclass(frozen=True)
class Principal:
    key_id: int
    role: str
    jurisdiction_id: int
    department_id: int | None
    deputy_id: int | None


async def authenticate(session: AsyncSession, key: str) -> Principal | None:
    prefix = api_key_prefix(key)
    if prefix is None:
        return None
    row = (
        await session.execute(select(ApiKey).where(ApiKey.prefix == prefix, ApiKey.revoked_at.is_(None)))
    ).scalar_one_or_none()
    if row is None or not hash_matches(key, row.key_hash):
        return None
    return Principal(
        key_id=row.id,
        role=row.role,
        jurisdiction_id=row.jurisdiction_id,
        department_id=row.department_id,
        deputy_id=row.deputy_id,
    )
