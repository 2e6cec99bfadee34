"""The taxonomy and the units of a jurisdiction: grids, committees, two-level categories, departments and the
fallback department. Every function is scoped to the caller's jurisdiction."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from services.routing.classifier import mark_stale
from services.routing.errors import CategoryNotFound, CommitteeNotFound, DepartmentNotFound, GridNotFound
from services.routing.repository import ensure_code_free, find_by_code, flush_unique, load_scoped
from services.routing.schemas import (
    CategoryIn,
    CategoryOut,
    CategoryPatch,
    CommitteeIn,
    CommitteeOut,
    CommitteePatch,
    DepartmentIn,
    DepartmentOut,
    DepartmentPatch,
    FallbackIn,
    FallbackOut,
    GridIn,
    GridOut,
    GridPatch,
)
from shared.db.models import Category, Committee, Department, Grid, Jurisdiction
from shared.errors import Unprocessable

# --- grids -------------------------------------------------------------------------------------------------


def _grid_out(grid: Grid) -> GridOut:
    return GridOut(id=grid.id, code=grid.code, name=grid.name, created_at=grid.created_at)


async def create_grid(session: AsyncSession, jurisdiction_id: int, data: GridIn) -> GridOut:
    await ensure_code_free(session, Grid, jurisdiction_id, data.code, "网格")
    grid = Grid(jurisdiction_id=jurisdiction_id, code=data.code, name=data.name)
    session.add(grid)
    await flush_unique(session, "网格", data.code)
    await session.refresh(grid)
    return _grid_out(grid)


async def get_grid(session: AsyncSession, jurisdiction_id: int, grid_id: int) -> GridOut:
    return _grid_out(await load_scoped(session, Grid, jurisdiction_id, grid_id, GridNotFound))


async def list_grids(
    session: AsyncSession, jurisdiction_id: int, *, limit: int, after_id: int | None
) -> list[GridOut]:
    """Up to ``limit + 1`` grids by id, so the caller can tell whether another page follows."""
    query = select(Grid).where(Grid.jurisdiction_id == jurisdiction_id)
    if after_id is not None:
        query = query.where(Grid.id > after_id)
    rows = await session.scalars(query.order_by(Grid.id).limit(limit + 1))
    return [_grid_out(grid) for grid in rows]


async def update_grid(session: AsyncSession, jurisdiction_id: int, grid_id: int, data: GridPatch) -> GridOut:
    grid = await load_scoped(session, Grid, jurisdiction_id, grid_id, GridNotFound)
    if data.code is not None and data.code != grid.code:
        await ensure_code_free(session, Grid, jurisdiction_id, data.code, "网格", own_id=grid.id)
        grid.code = data.code
    if data.name is not None:
        grid.name = data.name
    await flush_unique(session, "网格", grid.code)
    return _grid_out(grid)


# --- committees --------------------------------------------------------------------------------------------


def _committee_out(committee: Committee) -> CommitteeOut:
    return CommitteeOut(
        id=committee.id, code=committee.code, name=committee.name, created_at=committee.created_at
    )


async def create_committee(session: AsyncSession, jurisdiction_id: int, data: CommitteeIn) -> CommitteeOut:
    await ensure_code_free(session, Committee, jurisdiction_id, data.code, "对口委办")
    committee = Committee(jurisdiction_id=jurisdiction_id, code=data.code, name=data.name)
    session.add(committee)
    await flush_unique(session, "对口委办", data.code)
    await session.refresh(committee)
    return _committee_out(committee)


async def get_committee(session: AsyncSession, jurisdiction_id: int, committee_id: int) -> CommitteeOut:
    return _committee_out(
        await load_scoped(session, Committee, jurisdiction_id, committee_id, CommitteeNotFound)
    )


async def list_committees(
    session: AsyncSession, jurisdiction_id: int, *, limit: int, after_id: int | None
) -> list[CommitteeOut]:
    query = select(Committee).where(Committee.jurisdiction_id == jurisdiction_id)
    if after_id is not None:
        query = query.where(Committee.id > after_id)
    rows = await session.scalars(query.order_by(Committee.id).limit(limit + 1))
    return [_committee_out(committee) for committee in rows]


async def update_committee(
    session: AsyncSession, jurisdiction_id: int, committee_id: int, data: CommitteePatch
) -> CommitteeOut:
    committee = await load_scoped(session, Committee, jurisdiction_id, committee_id, CommitteeNotFound)
    if data.code is not None and data.code != committee.code:
        await ensure_code_free(
            session, Committee, jurisdiction_id, data.code, "对口委办", own_id=committee.id
        )
        committee.code = data.code
    if data.name is not None:
        committee.name = data.name
    await flush_unique(session, "对口委办", committee.code)
    return _committee_out(committee)


# --- categories --------------------------------------------------------------------------------------------


async def _category_rows(
    session: AsyncSession,
    jurisdiction_id: int,
    where: ColumnElement[bool],
    *,
    limit: int | None = None,
) -> list[CategoryOut]:
    parent = aliased(Category)
    query = (
        select(Category, parent.code, Committee.code)
        .outerjoin(parent, parent.id == Category.parent_id)
        .outerjoin(Committee, Committee.id == Category.committee_id)
        .where(Category.jurisdiction_id == jurisdiction_id, where)
        .order_by(Category.id)
    )
    if limit is not None:
        query = query.limit(limit)
    rows = await session.execute(query)
    return [
        CategoryOut(
            id=category.id,
            code=category.code,
            name=category.name,
            parent_code=parent_code,
            committee_code=committee_code,
            default_tier=category.default_tier,
            active=category.active,
            follow_up=category.follow_up,
            created_at=category.created_at,
        )
        for category, parent_code, committee_code in rows.tuples()
    ]


async def _category_out(session: AsyncSession, jurisdiction_id: int, category_id: int) -> CategoryOut:
    rows = await _category_rows(session, jurisdiction_id, Category.id == category_id)
    if not rows:
        raise CategoryNotFound()
    return rows[0]


async def _resolve_parent(
    session: AsyncSession, jurisdiction_id: int, parent_code: str, category: Category | None
) -> int:
    parent = await find_by_code(session, Category, jurisdiction_id, parent_code)
    if parent is None:
        raise Unprocessable.field("parent_code", f"上级分类“{parent_code}”不存在")
    if category is not None and parent.id == category.id:
        raise Unprocessable.field("parent_code", "分类不能以自己为上级分类")
    if parent.parent_id is not None:
        raise Unprocessable.field("parent_code", "分类最多两级：上级分类必须是一级分类")
    if category is not None:
        has_children = await session.scalar(
            select(Category.id).where(Category.parent_id == category.id).limit(1)
        )
        if has_children is not None:
            raise Unprocessable.field("parent_code", "该分类下已有子分类，不能再设置上级分类")
    return parent.id


async def _resolve_committee(session: AsyncSession, jurisdiction_id: int, committee_code: str) -> int:
    committee = await find_by_code(session, Committee, jurisdiction_id, committee_code)
    if committee is None:
        raise Unprocessable.field("committee_code", f"对口委办“{committee_code}”不存在")
    return committee.id


async def create_category(session: AsyncSession, jurisdiction_id: int, data: CategoryIn) -> CategoryOut:
    await ensure_code_free(session, Category, jurisdiction_id, data.code, "问题分类")
    category = Category(
        jurisdiction_id=jurisdiction_id,
        code=data.code,
        name=data.name,
        parent_id=(
            await _resolve_parent(session, jurisdiction_id, data.parent_code, None)
            if data.parent_code
            else None
        ),
        committee_id=(
            await _resolve_committee(session, jurisdiction_id, data.committee_code)
            if data.committee_code
            else None
        ),
        default_tier=data.default_tier,
        active=data.active,
        follow_up=data.follow_up,
    )
    session.add(category)
    await flush_unique(session, "问题分类", data.code)
    await mark_stale(session, jurisdiction_id)  # the classifier learns the new category's name
    return await _category_out(session, jurisdiction_id, category.id)


async def get_category(session: AsyncSession, jurisdiction_id: int, category_id: int) -> CategoryOut:
    return await _category_out(session, jurisdiction_id, category_id)


async def list_categories(
    session: AsyncSession, jurisdiction_id: int, *, limit: int, after_id: int | None
) -> list[CategoryOut]:
    where = Category.id > after_id if after_id is not None else true()
    return await _category_rows(session, jurisdiction_id, where, limit=limit + 1)


async def update_category(
    session: AsyncSession, jurisdiction_id: int, category_id: int, data: CategoryPatch
) -> CategoryOut:
    category = await load_scoped(session, Category, jurisdiction_id, category_id, CategoryNotFound)
    given = data.model_fields_set
    if data.code is not None and data.code != category.code:
        await ensure_code_free(session, Category, jurisdiction_id, data.code, "问题分类", own_id=category.id)
        category.code = data.code
    if data.name is not None:
        category.name = data.name
    if "parent_code" in given:
        category.parent_id = (
            await _resolve_parent(session, jurisdiction_id, data.parent_code, category)
            if data.parent_code
            else None
        )
    if "committee_code" in given:
        category.committee_id = (
            await _resolve_committee(session, jurisdiction_id, data.committee_code)
            if data.committee_code
            else None
        )
    if data.default_tier is not None:
        category.default_tier = data.default_tier
    if data.active is not None:
        category.active = data.active
    if data.follow_up is not None:
        category.follow_up = data.follow_up
    await flush_unique(session, "问题分类", category.code)
    await mark_stale(session, jurisdiction_id)  # names, places in the tree and activity are what it learns
    return await _category_out(session, jurisdiction_id, category.id)


# --- departments -------------------------------------------------------------------------------------------


def department_out(department: Department) -> DepartmentOut:
    return DepartmentOut(
        id=department.id,
        code=department.code,
        name=department.name,
        active=department.active,
        created_at=department.created_at,
    )


async def create_department(session: AsyncSession, jurisdiction_id: int, data: DepartmentIn) -> DepartmentOut:
    await ensure_code_free(session, Department, jurisdiction_id, data.code, "承办单位")
    department = Department(
        jurisdiction_id=jurisdiction_id, code=data.code, name=data.name, active=data.active
    )
    session.add(department)
    await flush_unique(session, "承办单位", data.code)
    await session.refresh(department)
    return department_out(department)


async def get_department(session: AsyncSession, jurisdiction_id: int, department_id: int) -> DepartmentOut:
    return department_out(
        await load_scoped(session, Department, jurisdiction_id, department_id, DepartmentNotFound)
    )


async def list_departments(
    session: AsyncSession, jurisdiction_id: int, *, limit: int, after_id: int | None
) -> list[DepartmentOut]:
    query = select(Department).where(Department.jurisdiction_id == jurisdiction_id)
    if after_id is not None:
        query = query.where(Department.id > after_id)
    rows = await session.scalars(query.order_by(Department.id).limit(limit + 1))
    return [department_out(department) for department in rows]


async def update_department(
    session: AsyncSession, jurisdiction_id: int, department_id: int, data: DepartmentPatch
) -> DepartmentOut:
    department = await load_scoped(session, Department, jurisdiction_id, department_id, DepartmentNotFound)
    if data.code is not None and data.code != department.code:
        await ensure_code_free(
            session, Department, jurisdiction_id, data.code, "承办单位", own_id=department.id
        )
        department.code = data.code
    if data.name is not None:
        department.name = data.name
    if data.active is not None:
        department.active = data.active
    await flush_unique(session, "承办单位", department.code)
    return department_out(department)


async def departments_in_jurisdiction(
    session: AsyncSession, jurisdiction_id: int, ids: Sequence[int]
) -> dict[int, Department]:
    rows = await session.scalars(
        select(Department).where(Department.jurisdiction_id == jurisdiction_id, Department.id.in_(set(ids)))
    )
    return {department.id: department for department in rows}


# --- the fallback department -------------------------------------------------------------------------------


async def get_fallback(session: AsyncSession, jurisdiction_id: int) -> FallbackOut:
    department = await session.scalar(
        select(Department)
        .join(Jurisdiction, Jurisdiction.fallback_department_id == Department.id)
        .where(Jurisdiction.id == jurisdiction_id)
    )
    if department is None:
        return FallbackOut(department_id=None, department=None)
    return FallbackOut(department_id=department.id, department=department_out(department))


async def set_fallback(session: AsyncSession, jurisdiction_id: int, data: FallbackIn) -> FallbackOut:
    jurisdiction = (
        await session.execute(
            select(Jurisdiction).where(Jurisdiction.id == jurisdiction_id).with_for_update()
        )
    ).scalar_one()
    if data.department_id is None:
        jurisdiction.fallback_department_id = None
        await session.flush()
        return FallbackOut(department_id=None, department=None)
    department = (await departments_in_jurisdiction(session, jurisdiction_id, [data.department_id])).get(
        data.department_id
    )
    if department is None:
        raise Unprocessable.field("department_id", "承办单位不存在")
    if not department.active:
        raise Unprocessable.field("department_id", "该承办单位已停用，不能作为兜底承办单位")
    jurisdiction.fallback_department_id = department.id
    await session.flush()
    return FallbackOut(department_id=department.id, department=department_out(department))
