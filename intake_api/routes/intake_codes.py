"""Admin: intake codes (一人一码), their counts, QR images, rotation and revocation."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from starlette.concurrency import run_in_threadpool

from intake_api.deps import AdminIntakeCode, AdminKey, forget_cached_codes
from intake_api.openapi import ADMIN_ERRORS, ADMIN_OBJECT_ERRORS, errors
from services.intake import codes, posters, qr
from services.intake.schemas import IntakeCodeIn, IntakeCodeOut
from shared.db.enums import IntakeCodeOwner, IntakeCodeStatus
from shared.db.ids import MAX_ID
from shared.web.db import Session
from shared.web.pagination import Page, Pagination

router = APIRouter(
    prefix="/v1/intake-codes", tags=["intake codes"], dependencies=[Depends(forget_cached_codes)]
)


@router.post(
    "",
    status_code=201,
    summary="Create a QR code for a deputy or a station",
    description="`url` is what the QR code encodes: the public intake form `/c/{token}`.",
    responses=ADMIN_ERRORS,
)
async def create_code(body: IntakeCodeIn, admin: AdminKey, session: Session) -> IntakeCodeOut:
    return await codes.create_code(session, admin.jurisdiction_id, body)


@router.get("", summary="List intake codes with scan and submission counts", responses=ADMIN_ERRORS)
async def list_codes(
    admin: AdminKey,
    session: Session,
    page: Pagination,
    status: IntakeCodeStatus | None = None,
    owner_type: IntakeCodeOwner | None = None,
    owner_id: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="With owner_type: that deputy's or station's codes")
    ] = None,
) -> Page[IntakeCodeOut]:
    items = await codes.list_codes(
        session,
        admin.jurisdiction_id,
        limit=page.limit,
        after_id=page.after_id,
        status=status,
        owner_type=owner_type,
        owner_id=owner_id,
    )
    return page.page_of(items)


@router.get("/{code_id}", summary="One intake code", responses=ADMIN_OBJECT_ERRORS)
async def get_code(code: AdminIntakeCode, session: Session) -> IntakeCodeOut:
    return await codes.code_out(session, code)


@router.post(
    "/{code_id}/revoke",
    summary="Revoke an intake code",
    description="Final and idempotent. The code's page then says politely that it is no longer in use (410).",
    responses=ADMIN_OBJECT_ERRORS,
)
async def revoke_code(code: AdminIntakeCode, session: Session) -> IntakeCodeOut:
    return await codes.revoke_code(session, code)


@router.post(
    "/{code_id}/rotate",
    summary="Give an intake code a new token",
    description=(
        "For a poster lost or copied where it should not be: the code keeps its id, owner, counts and cases "
        "and gets a new token (and `url`); print it again. The old token's page then says that the code was "
        "replaced (410 `intake_code_replaced`) and accepts nothing. A revoked code answers 409."
    ),
    responses={**ADMIN_OBJECT_ERRORS, **errors(409)},
)
async def rotate_code(code: AdminIntakeCode, session: Session) -> IntakeCodeOut:
    return await codes.rotate_code(session, code)


@router.get(
    "/{code_id}/qr.png",
    summary="The QR code as PNG",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}, **ADMIN_OBJECT_ERRORS},
)
async def qr_png(
    code: AdminIntakeCode,
    box_size: Annotated[int, Query(ge=1, le=40, description="Pixels per module")] = 10,
    size: Annotated[
        int | None,
        Query(
            ge=qr.MIN_PNG_SIZE,
            le=qr.MAX_PNG_SIZE,
            description="Pixels along a side, quiet zone included; wins over box_size",
        ),
    ] = None,
) -> Response:
    # Drawing the symbol is CPU work: keep it off the event loop.
    image = await run_in_threadpool(qr.qr_png, codes.form_url(code.token), box_size=box_size, size=size)
    return Response(
        image,
        media_type="image/png",
        headers={"Content-Disposition": f'inline; filename="intake-code-{code.id}.png"'},
    )


@router.get(
    "/{code_id}/qr.svg",
    summary="The QR code as SVG (vector, for printing at any size)",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}}, **ADMIN_OBJECT_ERRORS},
)
async def qr_svg(code: AdminIntakeCode) -> Response:
    image = await run_in_threadpool(qr.qr_svg, codes.form_url(code.token))
    return Response(
        image,
        media_type="image/svg+xml",
        headers={"Content-Disposition": f'inline; filename="intake-code-{code.id}.svg"'},
    )


@router.get(
    "/{code_id}/poster.pdf",
    summary="A printable A4 poster of the code",
    description=(
        "A4 portrait: the owner (deputy: name, level, station; station: name and kind), the grids served, the "
        "contact day, three steps in Chinese, the QR code as vector graphics and its URL. A revoked code "
        "answers 409."
    ),
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}, **ADMIN_OBJECT_ERRORS, **errors(409)},
)
async def poster_pdf(code: AdminIntakeCode, session: Session) -> Response:
    poster = await posters.code_poster(session, code)
    document = await run_in_threadpool(posters.posters_pdf, [poster], title=f"二维码张贴 {poster.owner_name}")
    return Response(
        document,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="intake-code-{code.id}-poster.pdf"'},
    )
