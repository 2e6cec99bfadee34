"""Queries routing shares between its modules: tenant-scoped loading, row locks, unique-code handling."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing.errors import DuplicateCode
from shared.db.models import Assignment, Case, Category, Committee, Department, Grid, Jurisdiction
from shared.errors import NotFound

Scoped = TypeVar("Scoped", Grid, Committee, Category, Department)

_UNIQUE_VIOLATION = "23505"


async def load_scoped(
    session: AsyncSession, model: type[Scoped], jurisdiction_id: int, id: int, not_found: type[NotFound]
) -> Scoped:
    """The row of this jurisdiction with this id, or the given 404: other tenants' ids do not exist."""
    row = await session.scalar(select(model).where(model.id == id, model.jurisdiction_id == jurisdiction_id))
    if row is None:
        raise not_found()
    return row


async def find_by_code(
    session: AsyncSession, model: type[Scoped], jurisdiction_id: int, code: str
) -> Scoped | None:
    row: Scoped | None = await session.scalar(
        select(model).where(model.jurisdiction_id == jurisdiction_id, model.code == code)
    )
    return row


async def ensure_code_free(
    session: AsyncSession,
    model: type[Scoped],
    jurisdiction_id: int,
    code: str,
    label: str,
    *,
    own_id: int | None = None,
) -> None:
    existing = await find_by_code(session, model, jurisdiction_id, code)
    if existing is not None and existing.id != own_id:
        raise DuplicateCode(label, code)


def is_unique_violation(exc: IntegrityError) -> bool:
    orig = exc.orig
    return getattr(orig, "sqlstate", None) == _UNIQUE_VIOLATION or getattr(orig, "pgcode", None) == (
        _UNIQUE_VIOLATION
    )


async def flush_unique(session: AsyncSession, label: str, code: str) -> None:
    """Flushes; a unique violation that slipped past the check (a concurrent insert) becomes a 409."""
    try:
        await session.flush()
    except IntegrityError as exc:
        if is_unique_violation(exc):
            raise DuplicateCode(label, code) from exc
        raise


async def lock_case(session: AsyncSession, case_id: int) -> Case | None:
    """The case, locked for this transaction and re-read, so concurrent changes to it happen one by one."""
    case: Case | None = await session.scalar(
        select(Case).where(Case.id == case_id).with_for_update().execution_options(populate_existing=True)
    )
    return case


async def lock_assignment(session: AsyncSession, assignment_id: int) -> Assignment:
    """Re-reads an assignment under a row lock; call after lock_case to keep one lock order."""
    return (
        await session.execute(
            select(Assignment)
            .where(Assignment.id == assignment_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one()


async def case_assignments(session: AsyncSession, case_id: int) -> list[Assignment]:
    rows = await session.execute(
        select(Assignment)
        .where(Assignment.case_id == case_id)
        .order_by(Assignment.id)
        .execution_options(populate_existing=True)
    )
    return list(rows.scalars().all())


async def department_names(session: AsyncSession, ids: Iterable[int]) -> dict[int, str]:
    wanted = set(ids)
    if not wanted:
        return {}
    rows = await session.execute(select(Department.id, Department.name).where(Department.id.in_(wanted)))
    return {id_: name for id_, name in rows.tuples()}


async def fallback_department_id(session: AsyncSession, jurisdiction_id: int) -> int | None:
    return await session.scalar(
        select(Jurisdiction.fallback_department_id).where(Jurisdiction.id == jurisdiction_id)
    )
