"""/v1/routing-rules: (category, grid) → departments with roles; the most specific rule wins. Explain says which
rule applies to a category and grid, and why."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from routing_api.deps import AdminKey, DeskKey, Pagination, PathId
from services.routing import explain, rules
from services.routing.schemas import RoutingExplanation, RuleIn, RuleOut, RulePatch
from shared.web.db import Session
from shared.web.pagination import Page

router = APIRouter(prefix="/v1/routing-rules", tags=["routing rules"])

CODE = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"


@router.post("", status_code=201, summary="Create a routing rule")
async def create_rule(data: RuleIn, key: AdminKey, session: Session) -> RuleOut:
    return await rules.create_rule(session, key.jurisdiction_id, data)


@router.get("", summary="List routing rules (by id)")
async def list_rules(key: AdminKey, session: Session, paging: Pagination) -> Page[RuleOut]:
    rows = await rules.list_rules(session, key.jurisdiction_id, limit=paging.limit, after_id=paging.after_id)
    return paging.page_of(rows)


# Before /{rule_id}, which would take "explain" for an id.
@router.get("/explain", summary="Which rule applies to a category in a grid, and why")
async def explain_routing(
    key: DeskKey,
    session: Session,
    category_code: Annotated[str, Query(min_length=1, max_length=64, pattern=CODE)],
    grid_code: Annotated[
        str | None,
        Query(min_length=1, max_length=32, pattern=CODE, description="None: a case without a grid"),
    ] = None,
) -> RoutingExplanation:
    """The winning rule with its departments and tier, or the fallback department, or "waits for a
    dispatcher"; and every rule of the category and its parent in the order dispatch tries them, each with
    why it won or lost. Unknown codes are a 404."""
    return await explain.explain(session, key.jurisdiction_id, category_code, grid_code)


@router.get("/{rule_id}", summary="One routing rule")
async def get_rule(rule_id: PathId, key: AdminKey, session: Session) -> RuleOut:
    return await rules.get_rule(session, key.jurisdiction_id, rule_id)


@router.patch("/{rule_id}", summary="Change a rule; `assignments`, when sent, replaces the whole list")
async def update_rule(rule_id: PathId, data: RulePatch, key: AdminKey, session: Session) -> RuleOut:
    return await rules.update_rule(session, key.jurisdiction_id, rule_id, data)


@router.delete("/{rule_id}", status_code=204, summary="Delete a routing rule")
async def delete_rule(rule_id: PathId, key: AdminKey, session: Session) -> Response:
    await rules.delete_rule(session, key.jurisdiction_id, rule_id)
    return Response(status_code=204)
