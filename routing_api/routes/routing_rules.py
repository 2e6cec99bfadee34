"""/v1/routing-rules: (category, grid) → departments with roles; the most specific rule wins."""

from __future__ import annotations

from fastapi import APIRouter, Response

from routing_api.deps import AdminKey, Pagination, PathId
from services.routing import rules
from services.routing.schemas import RuleIn, RuleOut, RulePatch
from shared.web.db import Session
from shared.web.pagination import Page

router = APIRouter(prefix="/v1/routing-rules", tags=["routing rules"])


@router.post("", status_code=201, summary="Create a routing rule")
async def create_rule(data: RuleIn, key: AdminKey, session: Session) -> RuleOut:
    return await rules.create_rule(session, key.jurisdiction_id, data)


@router.get("", summary="List routing rules (by id)")
async def list_rules(key: AdminKey, session: Session, paging: Pagination) -> Page[RuleOut]:
    rows = await rules.list_rules(session, key.jurisdiction_id, limit=paging.limit, after_id=paging.after_id)
    return paging.page_of(rows)


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
