"""Dependencies that make route signatures read like sentences: the admin key, objects loaded within the
key's jurisdiction (another jurisdiction's id is a 404), the citizen's case behind a tracking link."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from intake_api import lookups
from services.intake import codes, deputies, stations
from services.intake.desk import queries as desk
from services.intake.desk.errors import DeputyKeyWithoutDeputy
from services.intake.directory import Directory
from services.intake.scans import ScanCounter
from services.intake.tracking_numbers import TrackingNumbers
from shared.db.enums import Role
from shared.db.ids import MAX_ID
from shared.db.models import Case, Deputy, IntakeCode, Station
from shared.security.apikeys import Principal
from shared.web.auth import require_roles
from shared.web.db import Session

AdminKey = Annotated[Principal, Depends(require_roles(Role.admin))]
StationId = Annotated[int, Path(ge=1, le=MAX_ID, description="The station's id")]
DeputyId = Annotated[int, Path(ge=1, le=MAX_ID, description="The deputy's id")]
IntakeCodeId = Annotated[int, Path(ge=1, le=MAX_ID, description="The intake code's id")]


async def _station(station_id: StationId, admin: AdminKey, session: Session) -> Station:
    return await stations.get_station(session, admin.jurisdiction_id, station_id)


async def _deputy(deputy_id: DeputyId, admin: AdminKey, session: Session) -> Deputy:
    return await deputies.get_deputy(session, admin.jurisdiction_id, deputy_id)


async def _intake_code(code_id: IntakeCodeId, admin: AdminKey, session: Session) -> IntakeCode:
    return await codes.get_code(session, admin.jurisdiction_id, code_id)


DeskCaseId = Annotated[int, Path(ge=1, le=MAX_ID, description="The case's id")]
_deputy_role = require_roles(Role.deputy)


async def _deputy_key(principal: Annotated[Principal, Depends(_deputy_role)]) -> Principal:
    """A deputy key that names its deputy (a key without one may do nothing on the desk)."""
    if principal.deputy_id is None:
        raise DeputyKeyWithoutDeputy()
    return principal


DeputyKey = Annotated[Principal, Depends(_deputy_key)]


async def _current_deputy(key: DeputyKey, session: Session) -> Deputy:
    return await desk.current_deputy(session, key.jurisdiction_id, key.deputy_id)


async def _desk_case(case_id: DeskCaseId, key: DeputyKey, session: Session) -> Case:
    assert key.deputy_id is not None  # checked by DeputyKey
    return await desk.get_case(session, key.jurisdiction_id, key.deputy_id, case_id)


# The deputy the key speaks for, and one of that deputy's cases (any other id is a 404).
CurrentDeputy = Annotated[Deputy, Depends(_current_deputy)]
DeskCase = Annotated[Case, Depends(_desk_case)]

AdminStation = Annotated[Station, Depends(_station)]
AdminDeputy = Annotated[Deputy, Depends(_deputy)]
AdminIntakeCode = Annotated[IntakeCode, Depends(_intake_code)]

TrackingNo = Annotated[str, Path(description="受理编号, e.g. GS20261122-0042")]
AccessKey = Annotated[
    str | None,
    Query(alias="k", description="The access key from the receipt; a wrong or missing key answers 404"),
]


async def _public_case(
    request: Request, tracking_no: TrackingNo, session: Session, k: AccessKey = None
) -> Case:
    return await lookups.find_case(request, session, tracking_no, k)


async def _public_case_locked(
    request: Request, tracking_no: TrackingNo, session: Session, k: AccessKey = None
) -> Case:
    return await lookups.find_case(request, session, tracking_no, k, for_update=True)


PublicCase = Annotated[Case, Depends(_public_case)]
# Locked for the rest of the request, so that two ratings (or supplements) at once are taken one after the
# other, and a dispatcher's action at the same moment before or after.
PublicCaseForRating = Annotated[Case, Depends(_public_case_locked)]
PublicCaseForSupplement = Annotated[Case, Depends(_public_case_locked)]


def _tracking_numbers(request: Request) -> TrackingNumbers:
    numbers: TrackingNumbers = request.app.state.tracking_numbers
    return numbers


def _directory(request: Request) -> Directory:
    directory: Directory = request.app.state.directory
    return directory


def _scans(request: Request) -> ScanCounter:
    scans: ScanCounter = request.app.state.scans
    return scans


async def _autocommit(request: Request) -> AsyncIterator[AsyncConnection]:
    engine: AsyncEngine = request.app.state.autocommit_engine
    async with engine.connect() as connection:
        yield connection


async def forget_cached_codes(request: Request) -> AsyncIterator[None]:
    """For the admin routers: after a change to stations, deputies or codes has committed, this process
    reads codes afresh at once (other processes within the directory's few seconds)."""
    yield
    if request.method not in ("GET", "HEAD"):
        _directory(request).clear()


Numbers = Annotated[TrackingNumbers, Depends(_tracking_numbers)]
CodeDirectory = Annotated[Directory, Depends(_directory)]
Scans = Annotated[ScanCounter, Depends(_scans)]
# A connection whose every statement is its own transaction, for the citizens' one-statement paths.
Autocommit = Annotated[AsyncConnection, Depends(_autocommit, scope="function")]
