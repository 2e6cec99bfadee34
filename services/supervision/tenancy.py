"""Jurisdictions (辖区), the tenants: created by the CLI."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.supervision.errors import FieldInvalid, JurisdictionExists
from shared.db.models import Jurisdiction

CODE_PATTERN = re.compile(r"[A-Z0-9]{2,16}")


async def create_jurisdiction(session: AsyncSession, code: str, name: str) -> Jurisdiction:
    """A new tenant; ``code`` (2-16 uppercase letters or digits) starts its tracking numbers."""
    if not CODE_PATTERN.fullmatch(code):
        raise FieldInvalid("code", "辖区代码须为 2 至 16 位大写字母或数字，例如 GS")
    name = name.strip()
    if not name or len(name) > 100:
        raise FieldInvalid("name", "辖区名称须为 1 至 100 个字")
    jurisdiction_id = await session.scalar(
        pg_insert(Jurisdiction)
        .values(code=code, name=name)
        .on_conflict_do_nothing(index_elements=[Jurisdiction.code])
        .returning(Jurisdiction.id)
    )
    if jurisdiction_id is None:
        raise JurisdictionExists(f"辖区代码 {code} 已存在")
    return (
        await session.execute(select(Jurisdiction).where(Jurisdiction.id == jurisdiction_id))
    ).scalar_one()
