"""API keys: created (the key is shown once), listed and revoked; only a hash of the key is ever stored."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.supervision.errors import ApiKeyNotFound, FieldInvalid, LastAdminKey
from shared.db.enums import Role
from shared.db.models import ApiKey, Department, Deputy
from shared.security.keys import new_api_key


async def create_api_key(
    session: AsyncSession,
    jurisdiction_id: int,
    role: str,
    *,
    name: str | None = None,
    department_id: int | None = None,
    deputy_id: int | None = None,
) -> tuple[ApiKey, str]:
    """A new key of one role in one jurisdiction; returns the row and the whole key, which is not kept."""
    if role not in set(Role):
        raise FieldInvalid("role", f"未知的角色“{role}”，应为 {'、'.join(Role)}")
    if name is not None and len(name) > 100:
        raise FieldInvalid("name", "名称不能超过 100 个字")
    if role == Role.department:
        if department_id is None:
            raise FieldInvalid("department_id", "承办单位密钥须指定承办单位")
        found = await session.scalar(
            select(Department.id).where(
                Department.id == department_id, Department.jurisdiction_id == jurisdiction_id
            )
        )
        if found is None:
            raise FieldInvalid("department_id", "本辖区没有该承办单位")
    elif department_id is not None:
        raise FieldInvalid("department_id", "只有承办单位（department）密钥可以指定承办单位")
    if role == Role.deputy:
        if deputy_id is None:
            raise FieldInvalid("deputy_id", "代表密钥须指定人大代表")
        found = await session.scalar(
            select(Deputy.id).where(Deputy.id == deputy_id, Deputy.jurisdiction_id == jurisdiction_id)
        )
        if found is None:
            raise FieldInvalid("deputy_id", "本辖区没有该人大代表")
    elif deputy_id is not None:
        raise FieldInvalid("deputy_id", "只有代表（deputy）密钥可以指定人大代表")
    key = new_api_key()
    row = ApiKey(
        jurisdiction_id=jurisdiction_id,
        role=role,
        name=name,
        prefix=key.prefix,
        key_hash=key.key_hash,
        department_id=department_id,
        deputy_id=deputy_id,
    )
    session.add(row)
    await session.flush()
    await session.refresh(row)
    return row, key.secret


async def list_api_keys(
    session: AsyncSession, jurisdiction_id: int, *, limit: int, after_id: int | None = None
) -> list[ApiKey]:
    """Up to ``limit + 1`` keys of the jurisdiction, oldest first (the extra row tells there is more)."""
    query = select(ApiKey).where(ApiKey.jurisdiction_id == jurisdiction_id)
    if after_id is not None:
        query = query.where(ApiKey.id > after_id)
    rows = await session.execute(query.order_by(ApiKey.id).limit(limit + 1))
    return list(rows.scalars().all())


async def get_api_key(session: AsyncSession, jurisdiction_id: int, key_id: int) -> ApiKey:
    row = await session.scalar(
        select(ApiKey).where(ApiKey.id == key_id, ApiKey.jurisdiction_id == jurisdiction_id)
    )
    if row is None:
        raise ApiKeyNotFound()
    return row


async def revoke_api_key(session: AsyncSession, jurisdiction_id: int, key_id: int) -> ApiKey:
    """Revokes a key at once (its next request gets 401); revoking twice keeps the first time."""
    row = await session.scalar(
        select(ApiKey).where(ApiKey.id == key_id, ApiKey.jurisdiction_id == jurisdiction_id).with_for_update()
    )
    if row is None:
        raise ApiKeyNotFound()
    if row.revoked_at is not None:
        return row
    if row.role == Role.admin:
        # Lock the jurisdiction's admin keys so two concurrent revocations cannot both pass this check.
        admins = await session.execute(
            select(ApiKey.id)
            .where(
                ApiKey.jurisdiction_id == jurisdiction_id,
                ApiKey.role == Role.admin,
                ApiKey.revoked_at.is_(None),
            )
            .with_for_update()
        )
        if len(admins.all()) <= 1:
            raise LastAdminKey()
    row.revoked_at = datetime.now(UTC)
    await session.flush()
    return row
