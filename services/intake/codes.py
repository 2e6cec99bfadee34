"""Intake codes (一人一码): one QR code per deputy or station, leading to the intake form at /c/{token}."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake import repository
from services.intake.deputies import get_deputy
from services.intake.errors import (
    DeputyNotFound,
    FieldErrors,
    IntakeCodeNotFound,
    IntakeCodeRevoked,
    StationNotFound,
)
from services.intake.schemas import IntakeCodeIn, IntakeCodeOut
from services.intake.stations import get_station
from shared.db.enums import IntakeCodeOwner, IntakeCodeStatus
from shared.db.models import IntakeCode, RetiredIntakeToken
from shared.security.keys import new_intake_token
from shared.settings import get_settings


def form_url(token: str) -> str:
    """The address a QR code encodes."""
    return f"{get_settings().public_url}/c/{token}"


def _out(row: repository.CodeRow) -> IntakeCodeOut:
    code = row.code
    owner_id = code.deputy_id if code.owner_type == IntakeCodeOwner.deputy else code.station_id
    assert owner_id is not None  # the one_owner check constraint guarantees it
    return IntakeCodeOut(
        id=code.id,
        token=code.token,
        url=form_url(code.token),
        status=code.status,
        owner_type=code.owner_type,
        owner_id=owner_id,
        owner_name=row.owner_name,
        scan_count=code.scan_count,
        last_scanned_at=code.last_scanned_at,
        submission_count=row.submission_count,
        created_at=code.created_at,
        revoked_at=code.revoked_at,
        rotated_at=row.rotated_at,
    )


async def get_code(session: AsyncSession, jurisdiction_id: int, code_id: int) -> IntakeCode:
    code = await session.get(IntakeCode, code_id)
    if code is None or code.jurisdiction_id != jurisdiction_id:
        raise IntakeCodeNotFound("未找到该二维码")
    return code


async def code_out(session: AsyncSession, code: IntakeCode) -> IntakeCodeOut:
    query = repository.codes_query(code.jurisdiction_id).where(IntakeCode.id == code.id)
    (row,) = await repository.code_rows(session, query)
    return _out(row)


async def create_code(session: AsyncSession, jurisdiction_id: int, data: IntakeCodeIn) -> IntakeCodeOut:
    """A new code for an active deputy or station of the jurisdiction; an owner may hold several codes."""
    errors = FieldErrors()
    code = IntakeCode(
        jurisdiction_id=jurisdiction_id,
        token=new_intake_token(),
        owner_type=data.owner_type,
        status=IntakeCodeStatus.active,
    )
    try:
        if data.owner_type == IntakeCodeOwner.deputy:
            deputy = await get_deputy(session, jurisdiction_id, data.owner_id)
            if not deputy.active:
                errors.add("owner_id", "该代表已停用，不能生成二维码")
            code.deputy_id = deputy.id
        else:
            station = await get_station(session, jurisdiction_id, data.owner_id)
            if not station.active:
                errors.add("owner_id", "该联络站已停用，不能生成二维码")
            code.station_id = station.id
    except (DeputyNotFound, StationNotFound) as exc:
        errors.add("owner_id", exc.detail_message)
    errors.raise_if_any()
    session.add(code)
    await session.flush()
    return await code_out(session, code)


async def list_codes(
    session: AsyncSession,
    jurisdiction_id: int,
    *,
    limit: int,
    after_id: int | None = None,
    status: IntakeCodeStatus | None = None,
    owner_type: IntakeCodeOwner | None = None,
    owner_id: int | None = None,
) -> list[IntakeCodeOut]:
    """Up to ``limit + 1`` codes by id, so the caller can tell whether another page follows."""
    query = repository.codes_query(jurisdiction_id)
    if after_id is not None:
        query = query.where(IntakeCode.id > after_id)
    if status is not None:
        query = query.where(IntakeCode.status == status)
    if owner_type is not None:
        query = query.where(IntakeCode.owner_type == owner_type)
        if owner_id is not None:
            owner_column = (
                IntakeCode.deputy_id if owner_type == IntakeCodeOwner.deputy else IntakeCode.station_id
            )
            query = query.where(owner_column == owner_id)
    rows = await repository.code_rows(session, query.order_by(IntakeCode.id).limit(limit + 1))
    return [_out(row) for row in rows]


async def revoke_code(session: AsyncSession, code: IntakeCode) -> IntakeCodeOut:
    """Revoking is final and idempotent: the code's page then says it is no longer in use."""
    if code.status != IntakeCodeStatus.revoked:
        code.status = IntakeCodeStatus.revoked
        code.revoked_at = datetime.now(UTC)
        await session.flush()
    return await code_out(session, code)


async def rotate_code(session: AsyncSession, code: IntakeCode) -> IntakeCodeOut:
    """A new token for the same code (a poster lost, or copied where it should not be): the id, the owner,
    the counts and the cases stay; the old token is kept as retired, so its scans are told politely that the
    code was replaced, and it accepts nothing. A revoked code cannot be rotated (409)."""
    # Locked: two rotations at once retire one token each, one after the other.
    await session.refresh(code, with_for_update=True)
    if code.status == IntakeCodeStatus.revoked:
        raise IntakeCodeRevoked()
    await session.execute(insert(RetiredIntakeToken).values(token=code.token, intake_code_id=code.id))
    code.token = new_intake_token()
    await session.flush()
    return await code_out(session, code)
