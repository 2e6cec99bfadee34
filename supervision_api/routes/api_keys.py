"""API keys of the jurisdiction: the key itself is shown once, when it is created."""

from __future__ import annotations

from fastapi import APIRouter

from services.supervision import apikeys
from services.supervision.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyOut
from shared.web.pagination import Page
from supervision_api.deps import Admin, JurisdictionKey, Pagination, Session

router = APIRouter(tags=["api-keys"])


@router.post(
    "/v1/api-keys",
    status_code=201,
    summary="Create a key (shown only in this answer)",
    description=(
        "An integrator key that submits Open311 requests (intake_api `/open311/v2/requests`) is bound to an "
        "active intake code (`intake_code_id`) or an active station (`station_id`, whose own intake code "
        "then takes its requests) of the jurisdiction; not both, and only for role integrator."
    ),
)
async def create_key(principal: Admin, session: Session, body: ApiKeyCreate) -> ApiKeyCreated:
    row, key = await apikeys.create_api_key(
        session,
        principal.jurisdiction_id,
        body.role,
        name=body.name,
        department_id=body.department_id,
        deputy_id=body.deputy_id,
        intake_code_id=body.intake_code_id,
        station_id=body.station_id,
    )
    return ApiKeyCreated.model_validate({**ApiKeyOut.model_validate(row).model_dump(), "key": key})


@router.get("/v1/api-keys", summary="The jurisdiction's keys (never the key itself)")
async def list_keys(principal: Admin, session: Session, page: Pagination) -> Page[ApiKeyOut]:
    rows = await apikeys.list_api_keys(
        session, principal.jurisdiction_id, limit=page.limit, after_id=page.after_id
    )
    return page.page_of([ApiKeyOut.model_validate(row) for row in rows])


@router.get("/v1/api-keys/{key_id}", summary="One key")
async def get_key(key: JurisdictionKey) -> ApiKeyOut:
    return ApiKeyOut.model_validate(key)


@router.post("/v1/api-keys/{key_id}/revoke", summary="Revoke a key: it gets 401 from now on")
async def revoke_key(principal: Admin, key: JurisdictionKey, session: Session) -> ApiKeyOut:
    return ApiKeyOut.model_validate(await apikeys.revoke_api_key(session, principal.jurisdiction_id, key.id))


@router.delete("/v1/api-keys/{key_id}", summary="Revoke a key (the same as POST .../revoke)")
async def delete_key(principal: Admin, key: JurisdictionKey, session: Session) -> ApiKeyOut:
    return ApiKeyOut.model_validate(await apikeys.revoke_api_key(session, principal.jurisdiction_id, key.id))
