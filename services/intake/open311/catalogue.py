"""The service list and service definitions: every active category of the jurisdiction is a service, its
code the service_code; each definition offers the request type (诉求类型) and urgency (紧急程度)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from services.intake.labels import REQUEST_TYPE_LABELS, URGENCY_LABELS
from services.intake.open311.errors import ServiceNotFound
from services.intake.open311.schemas import Attribute, AttributeValue, Service, ServiceDefinition
from shared.db.enums import RequestType, Urgency
from shared.db.models import Category

# Every category takes the same two attributes, so every service has a definition (metadata true).
ATTRIBUTES = [
    Attribute(
        code="request_type",
        required=False,
        datatype_description="不填时按“建议”处理",
        order=1,
        description="诉求类型",
        values=[AttributeValue(key=value, name=REQUEST_TYPE_LABELS[value]) for value in RequestType],
    ),
    Attribute(
        code="urgency",
        required=False,
        datatype_description="不填时按“一般”处理",
        order=2,
        description="紧急程度",
        values=[AttributeValue(key=value, name=URGENCY_LABELS[value]) for value in Urgency],
    ),
]

_parent = aliased(Category)


def _service(code: str, name: str, parent_name: str | None) -> Service:
    group = parent_name or name
    return Service(
        service_code=code,
        service_name=name,
        description=f"{group} - {name}方面的问题"
        if parent_name
        else f"{name}方面的问题（不确定具体小类时选择）",
        metadata=True,
        keywords=",".join(dict.fromkeys([group, name])),
        group=group,
    )


async def services(session: AsyncSession, jurisdiction_id: int) -> list[Service]:
    """The active categories, each top-level one followed by its subcategories."""
    rows = await session.execute(
        select(Category.code, Category.name, _parent.name.label("parent_name"))
        .outerjoin(_parent, _parent.id == Category.parent_id)
        .where(Category.jurisdiction_id == jurisdiction_id, Category.active)
        .order_by(
            func.coalesce(Category.parent_id, Category.id), Category.parent_id.nulls_first(), Category.id
        )
    )
    return [_service(row.code, row.name, row.parent_name) for row in rows]


async def definition(session: AsyncSession, jurisdiction_id: int, service_code: str) -> ServiceDefinition:
    found = await session.scalar(
        select(Category.code).where(
            Category.jurisdiction_id == jurisdiction_id, Category.code == service_code, Category.active
        )
    )
    if found is None:
        raise ServiceNotFound()
    return ServiceDefinition(service_code=found, attributes=ATTRIBUTES)
