"""Citizens' submissions through an intake code: where the case belongs, its tracking number and access key.

A submission may carry a submission key (the JSON API's Idempotency-Key header, the form's hidden field).
The same key on the same code finds the case it made instead of making another, even when both requests
race: the unique (intake_code_id, submission_key) constraint decides, and the loser reads the winner's case.
The key is bound to the body it first came with (a hash of the canonical body is kept with the case): a JSON
client repeating a key with another body is refused (422) and nothing is made, rather than being told an
earlier, different submission's tracking number.

A submission is one statement (``services.workflow.intake``) built from the code's cached facts; that
statement, not the cache, decides whether the code still accepts.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.intake import form_keys
from services.intake.directory import CategoryRef, Directory
from services.intake.errors import FieldErrors, IdempotencyKeyReused
from services.intake.schemas import SubmissionIn, SubmissionOut
from services.intake.tracking_numbers import TrackingNumbers
from services.workflow.intake import EarlierCase, ReceivedCase, open_case_through_code
from shared.db.enums import CaseStatus
from shared.db.models import Case
from shared.errors import Unprocessable
from shared.security.keys import hash_matches, new_access_key, sha256_hex
from shared.security.pii import encrypt
from shared.settings import get_settings

# open311: an integrator's request through intake_api's Open311 endpoint; idempotent like "api".
Source = Literal["api", "form", "open311"]

_SUBMISSION_KEY = re.compile(r"^[\x21-\x7e]{1,64}$")
_UNKNOWN_CATEGORY = "问题分类不存在或已停用，请重新选择"


def track_url(tracking_no: str, access_key: str, *, new: bool = False) -> str:
    """The case's public progress page; the access key in it is the citizen's only way in."""
    return f"{get_settings().public_url}{track_path(tracking_no, access_key, new=new)}"


def track_path(tracking_no: str, access_key: str, *, new: bool = False) -> str:
    return f"/t/{tracking_no}?k={access_key}" + ("&new=1" if new else "")


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


async def _earlier(connection: AsyncConnection, code_id: int, key: str) -> EarlierCase | None:
    row = (
        await connection.execute(
            select(Case.tracking_no, Case.status, Case.access_key_hash, Case.submission_body_hash).where(
                Case.intake_code_id == code_id, Case.submission_key == sha256_hex(key)
            )
        )
    ).one_or_none()
    if row is None:
        return None
    return EarlierCase(row.tracking_no, row.status, row.access_key_hash, row.submission_body_hash)


def body_hash(data: SubmissionIn, submitter_email: str | None = None) -> str:
    """The SHA-256 of the body's canonical JSON (fields sorted, defaults filled in), so the same submission
    hashes the same however its JSON was spelled. An e-mail (Open311 only) is part of the body when given."""
    body = data.model_dump(mode="json")
    if submitter_email is not None:
        body["submitter_email"] = submitter_email
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return sha256_hex(canonical)


def _repeat(case: EarlierCase, derived_key: str | None, source: Source, body: str) -> Submitted:
    # Only a JSON (or Open311) client chooses its key, so only there can one key carry two bodies. A form's
    # key is issued to one page and cannot be guessed: a citizen who goes back, edits and sends again sees
    # their own receipt, as before. Cases from before bodies were bound (no hash) replay as before.
    if source != "form" and case.body_hash is not None and case.body_hash != body:
        raise IdempotencyKeyReused()
    # A form's derived key opens the same receipt again; a JSON client's key was shown once and is gone.
    shown = derived_key if derived_key and hash_matches(derived_key, case.access_key_hash) else None
    return Submitted(tracking_no=case.tracking_no, status=case.status, access_key=shown, created=False)


async def _category(directory: Directory, jurisdiction_id: int, code: str) -> CategoryRef | None:
    found = (await directory.categories(jurisdiction_id)).by_code.get(code)
    if found is None:
        # Perhaps added since the list was read: look once more before refusing.
        directory.forget_categories(jurisdiction_id)
        found = (await directory.categories(jurisdiction_id)).by_code.get(code)
    return found


async def submit_case(
    connection: AsyncConnection,
    directory: Directory,
    numbers: TrackingNumbers,
    token: str,
    data: SubmissionIn,
    *,
    source: Source,
    submission_key: str | None = None,
    submitter_email: str | None = None,
) -> Submitted:
    """Opens a received case for the code's jurisdiction, station, deputy and grid (event and outbox row
    included) in one statement. For the form, only keys this server issued are honoured, and they derive
    the access key. ``submitter_email`` (Open311) is stored encrypted like the name and phone.
    ``connection`` should be in autocommit mode: the case is committed when this returns."""
    route = await directory.route(token)
    derived_key: str | None = None
    if source == "form":
        if submission_key is not None and form_keys.is_issued(submission_key):
            derived_key = form_keys.derived_access_key(route.code_id, submission_key)
        else:
            submission_key = None
    elif submission_key is not None and not _SUBMISSION_KEY.match(submission_key):
        raise Unprocessable.field("Idempotency-Key", "Idempotency-Key 须为 1 至 64 个可见 ASCII 字符")

    hashed_body = body_hash(data, submitter_email)
    errors = FieldErrors()
    category: CategoryRef | None = None
    if data.category_code is not None:
        category = await _category(directory, route.jurisdiction_id, data.category_code)
        if category is None:
            errors.add("category_code", _UNKNOWN_CATEGORY)
    grid = route.grids[0] if route.grids else None
    if data.grid_code is not None:
        grid = next((g for g in route.grids if g.code == data.grid_code), None)
        if grid is None:
            errors.add("grid_code", "所选网格不在本联络站的服务范围内")
    if errors.details and submission_key is not None:
        # A repeat finds its case even if what it repeats would no longer pass.
        earlier = await _earlier(connection, route.code_id, submission_key)
        if earlier is not None:
            return _repeat(earlier, derived_key, source, hashed_body)
    errors.raise_if_any()

    tracking_no = await numbers.next(route.jurisdiction_id, route.jurisdiction_code)
    access_key = derived_key or new_access_key()
    received = ReceivedCase(
        jurisdiction_id=route.jurisdiction_id,
        jurisdiction_code=route.jurisdiction_code,
        intake_code_id=route.code_id,
        intake_code_token=route.token,
        tracking_no=tracking_no,
        access_key_hash=sha256_hex(access_key),
        description=data.description,
        source=source,
        category_id=category.id if category is not None else None,
        category_code=category.code if category is not None else None,
        request_type=data.request_type,
        urgency=data.urgency,
        title=data.title,
        location_text=data.location_text,
        lat=data.lat,
        long=data.long,
        submitter_name_enc=encrypt(data.submitter_name),
        submitter_phone_enc=encrypt(data.submitter_phone),
        submitter_email_enc=encrypt(submitter_email),
        confidential=data.confidential,
        # Hashed: a form's key, replayed, opens the receipt again, so the plain key must not sit in a table.
        submission_key=sha256_hex(submission_key) if submission_key is not None else None,
        submission_body_hash=hashed_body if submission_key is not None else None,
        station_id=route.station_id,
        deputy_id=route.deputy_id,
        grid_id=grid.id if grid is not None else None,
    )
    opening = await open_case_through_code(connection, received, datetime.now(UTC))
    if not opening.code_open:
        raise await directory.why_closed(token)
    if opening.earlier is not None:
        return _repeat(opening.earlier, derived_key, source, hashed_body)
    if not opening.category_open:
        directory.forget_categories(route.jurisdiction_id)
        raise Unprocessable.field("category_code", _UNKNOWN_CATEGORY)
    if opening.case_id is None:
        # A concurrent request with the same key won the race; its case is now committed and visible.
        assert submission_key is not None  # without a key nothing can conflict
        earlier = await _earlier(connection, route.code_id, submission_key)
        if earlier is None:
            raise RuntimeError("a submission key conflicted, but its case is not there")
        return _repeat(earlier, derived_key, source, hashed_body)
    return Submitted(tracking_no=tracking_no, status=CaseStatus.received, access_key=access_key, created=True)
