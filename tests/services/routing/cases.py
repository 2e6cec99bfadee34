"""Arranging cases for routing tests: a case opened through the workflow, as intake would."""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.workflow import open_case
from shared.db.models import Case
from shared.security.pii import encrypt
from tests.factories import World

_numbers = itertools.count(1)


async def new_case(
    session: AsyncSession,
    world: World,
    *,
    category: str | None = "urban",
    grid: str | None = "G1",
    **fields: Any,
) -> Case:
    """A received case of the world's jurisdiction (flushed, not committed)."""
    name = fields.pop("submitter_name", None)
    phone = fields.pop("submitter_phone", None)
    case = Case(
        jurisdiction_id=world.jurisdiction.id,
        tracking_no=f"{world.jurisdiction.code}20261122-{next(_numbers):04d}",
        access_key_hash="x" * 64,
        description=fields.pop("description", "小区门口的路灯坏了一个多月"),
        category_id=world.categories[category].id if category else None,
        grid_id=world.grids[grid].id if grid else None,
        submitter_name_enc=encrypt(name),
        submitter_phone_enc=encrypt(phone),
        **fields,
    )
    return await open_case(session, case)
