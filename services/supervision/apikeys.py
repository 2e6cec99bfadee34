"""API keys: created (the key is shown once), listed and revoked; only a hash of the key is ever stored."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.supervision.errors import ApiKeyNotFound, FieldInvalid, LastAdminKey
from shared.db.enums import IntakeCodeStatus, Role
from shared.db.models import ApiKey, Department, Deputy, IntakeCode, Station, WebhookEndpoint
from shared.security.keys import new_api_key


async def create_api_key(
    session: AsyncSession,
    jurisdiction_id: int,
    role: str,
    *,
    name: str | None = None,
    department_id: int | None = None,
    deputy_id: int | None = None,
    intake_code_id: int | None = None,
    station_id: int | None = None,
) -> tuple[ApiKey, str]:
    """A new key of one role in one jurisdiction; returns the row and the whole key, which is not kept. An
    integrator key may be bound to an active intake code or an active station of the jurisdiction (not
    both): its Open311 requests then open cases through that code (a station's: its own intake code)."""
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
    await _check_binding(session, jurisdiction_id, role, intake_code_id, station_id)
    key = new_api_key()
    row = ApiKey(
        jurisdiction_id=jurisdiction_id,
        role=role,
        name=name,
        prefix=key.prefix,
        key_hash=key.key_hash,
        department_id=department_id,
        deputy_id=deputy_id,
        intake_code_id=intake_code_id,
        station_id=station_id,
    )
    session.add(row)
    await session.flush()
    await session.refresh(row)
    return row, key.secret


async def _check_binding(
    session: AsyncSession, jurisdiction_id: int, role: str, intake_code_id: int | None, station_id: int | None
) -> None:
    """An Open311 binding: role integrator, one target, active and of the key's jurisdiction."""
    if intake_code_id is None and station_id is None:
        return
    field = "intake_code_id" if intake_code_id is not None else "station_id"
    if role != Role.integrator:
        raise FieldInvalid(field, "只有集成方（integrator）密钥可以绑定二维码或联络站")
    if intake_code_id is not None and station_id is not None:
        raise FieldInvalid("station_id", "二维码（intake_code_id）与联络站（station_id）只能绑定其一")
    if intake_code_id is not None:
        status = await session.scalar(
            select(IntakeCode.status).where(
                IntakeCode.id == intake_code_id, IntakeCode.jurisdiction_id == jurisdiction_id
            )
        )
        if status is None:
            raise FieldInvalid("intake_code_id", "本辖区没有该二维码")
        if status != IntakeCodeStatus.active:
            raise FieldInvalid("intake_code_id", "该二维码已停用，不能绑定")
    else:
        active = await session.scalar(
            select(Station.active).where(Station.id == station_id, Station.jurisdiction_id == jurisdiction_id)
        )
        if active is None:
            raise FieldInvalid("station_id", "本辖区没有该联络站")
        if not active:
            raise FieldInvalid("station_id", "该联络站已停用，不能绑定")


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
    """Revokes a key at once (its next request gets 401); revoking twice keeps the first time. The webhook
    endpoints the key created are disabled in the same transaction (and cannot be enabled again)."""
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
    await session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.created_by_key_id == row.id, WebhookEndpoint.enabled)
        .values(enabled=False, disabled_reason="创建该回调的密钥已被吊销", disabled_at=row.revoked_at)
    )
    await session.flush()
    return row
