"""Citizens' submissions through an intake code: where the case belongs, its tracking number and access key.

A submission may carry a submission key (the JSON API's Idempotency-Key header, the form's hidden field).
The same key on the same code finds the case it made instead of making another, even when both requests
race: the unique (intake_code_id, submission_key) constraint decides, and the loser reads the winner's case.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake import form_keys, repository
from services.intake.errors import FieldErrors, IntakeCodeGone, IntakeCodeNotFound
from services.intake.schemas import SubmissionIn, SubmissionOut
from services.intake.tracking_numbers import TrackingNumbers
from services.workflow import jurisdiction_code, open_case
from services.workflow.actors import CITIZEN
from shared.db.enums import CaseKind, IntakeCodeOwner, IntakeCodeStatus
from shared.db.models import Case, Deputy, Grid, IntakeCode, Station
from shared.errors import Unprocessable
from shared.security.keys import hash_matches, new_access_key, sha256_hex
from shared.security.pii import encrypt
from shared.settings import get_settings

Source = Literal["api", "form"]

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_SUBMISSION_KEY = re.compile(r"^[\x21-\x7e]{1,64}$")
_UNIQUE_SUBMISSION = "uq_cases_intake_code_id_submission_key"


def track_url(tracking_no: str, access_key: str, *, new: bool = False) -> str:
    """The case's public progress page; the access key in it is the citizen's only way in."""
    return f"{get_settings().public_url}{track_path(tracking_no, access_key, new=new)}"


def track_path(tracking_no: str, access_key: str, *, new: bool = False) -> str:
    return f"/t/{tracking_no}?k={access_key}" + ("&new=1" if new else "")


@dataclass(frozen=True)
class CodeOwner:
    """An active intake code with the deputy or station behind it and where its cases belong."""

    code: IntakeCode
    deputy: Deputy | None
    station: Station | None
    grids: list[Grid]

    @property
    def owner_name(self) -> str:
        if self.deputy is not None:
            return self.deputy.name
        return self.station.name if self.station is not None else ""


async def active_code(session: AsyncSession, token: str) -> CodeOwner:
    """The code behind a token: unknown → 404; revoked, or its deputy or station deactivated → 410."""
    code = await repository.code_by_token(session, token) if _TOKEN.match(token) else None
    if code is None:
        raise IntakeCodeNotFound()
    if code.status != IntakeCodeStatus.active:
        raise IntakeCodeGone()
    deputy: Deputy | None = None
    station: Station | None
    if code.owner_type == IntakeCodeOwner.deputy and code.deputy_id is not None:
        deputy = await session.get(Deputy, code.deputy_id)
        if deputy is None or not deputy.active:
            raise IntakeCodeGone()
        station = await repository.first_station_of(session, deputy.id)
    else:
        station = await session.get(Station, code.station_id) if code.station_id is not None else None
        if station is None or not station.active:
            raise IntakeCodeGone()
    grids = await repository.station_grids_ordered(session, station.id) if station is not None else []
    return CodeOwner(code=code, deputy=deputy, station=station, grids=grids)


@dataclass(frozen=True)
class Submitted:
    tracking_no: str
    status: str
    access_key: str | None  # None when a repeat found a case whose key cannot be shown again
    created: bool

    def out(self) -> SubmissionOut:
        return SubmissionOut(
            tracking_no=self.tracking_no,
            access_key=self.access_key,
            status=self.status,
            track_url=track_url(self.tracking_no, self.access_key) if self.access_key else None,
            replayed=not self.created,
        )


async def _by_submission_key(session: AsyncSession, code_id: int, key: str) -> Case | None:
    return (
        await session.execute(
            select(Case).where(Case.intake_code_id == code_id, Case.submission_key == sha256_hex(key))
        )
    ).scalar_one_or_none()


def _repeat(case: Case, derived_key: str | None) -> Submitted:
    # A form's derived key opens the same receipt again; a JSON client's key was shown once and is gone.
    shown = derived_key if derived_key and hash_matches(derived_key, case.access_key_hash) else None
    return Submitted(tracking_no=case.tracking_no, status=case.status, access_key=shown, created=False)


async def submit_case(
    session: AsyncSession,
    numbers: TrackingNumbers,
    token: str,
    data: SubmissionIn,
    *,
    source: Source,
    submission_key: str | None = None,
) -> Submitted:
    """Opens a received case for the code's jurisdiction, station, deputy and grid (event and outbox row
    included). For the form, only keys this server issued are honoured, and they derive the access key."""
    owner = await active_code(session, token)
    code = owner.code
    derived_key: str | None = None
    if source == "form":
        if submission_key is not None and form_keys.is_issued(submission_key):
            derived_key = form_keys.derived_access_key(code.id, submission_key)
        else:
            submission_key = None
    elif submission_key is not None and not _SUBMISSION_KEY.match(submission_key):
        raise Unprocessable.field("Idempotency-Key", "Idempotency-Key 须为 1 至 64 个可见 ASCII 字符")

    if submission_key is not None:
        existing = await _by_submission_key(session, code.id, submission_key)
        if existing is not None:
            return _repeat(existing, derived_key)

    errors = FieldErrors()
    category_id: int | None = None
    if data.category_code is not None:
        category = await repository.active_category(session, code.jurisdiction_id, data.category_code)
        if category is None:
            errors.add("category_code", "问题分类不存在或已停用，请重新选择")
        else:
            category_id = category.id
    grid = owner.grids[0] if owner.grids else None
    if data.grid_code is not None:
        grid = next((g for g in owner.grids if g.code == data.grid_code), None)
        if grid is None:
            errors.add("grid_code", "所选网格不在本联络站的服务范围内")
    errors.raise_if_any()

    tracking_no = await numbers.next(
        code.jurisdiction_id, await jurisdiction_code(session, code.jurisdiction_id)
    )
    access_key = derived_key or new_access_key()
    case = Case(
        jurisdiction_id=code.jurisdiction_id,
        tracking_no=tracking_no,
        access_key_hash=sha256_hex(access_key),
        kind=CaseKind.citizen,
        category_id=category_id,
        request_type=data.request_type,
        urgency=data.urgency,
        title=data.title,
        description=data.description,
        location_text=data.location_text,
        lat=data.lat,
        long=data.long,
        submitter_name_enc=encrypt(data.submitter_name),
        submitter_phone_enc=encrypt(data.submitter_phone),
        confidential=data.confidential,
        source=source,
        intake_code_id=code.id,
        # Hashed: a form's key, replayed, opens the receipt again, so the plain key must not sit in a table.
        submission_key=sha256_hex(submission_key) if submission_key is not None else None,
        station_id=owner.station.id if owner.station is not None else None,
        deputy_id=owner.deputy.id if owner.deputy is not None else None,
        grid_id=grid.id if grid is not None else None,
    )
    if submission_key is None:
        await open_case(session, case, CITIZEN)
    else:
        try:
            async with session.begin_nested():
                await open_case(session, case, CITIZEN)
        except IntegrityError as exc:
            # A concurrent request with the same key won the race; its case is now committed and visible.
            existing = await _by_submission_key(session, code.id, submission_key)
            if _UNIQUE_SUBMISSION not in str(exc.orig) or existing is None:
                raise
            return _repeat(existing, derived_key)
    return Submitted(tracking_no=case.tracking_no, status=case.status, access_key=access_key, created=True)
