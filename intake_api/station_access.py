"""Who may read and record a station's contact days and receptions: the station loaded within the key's
jurisdiction (another jurisdiction's id is a 404) for the roles each route allows."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from intake_api.deps import StationId
from services.intake import stations
from shared.db.enums import Role
from shared.db.models import Station
from shared.security.apikeys import Principal
from shared.web.auth import require_roles
from shared.web.db import Session

# Reading schedules, rosters and receptions: congress staff, and the deputies of the jurisdiction.
ReaderKey = Annotated[
    Principal, Depends(require_roles(Role.admin, Role.dispatcher, Role.supervisor, Role.deputy))
]
# Recording a reception: admins, supervisors, and a deputy who was there (checked against the body).
RecorderKey = Annotated[Principal, Depends(require_roles(Role.admin, Role.supervisor, Role.deputy))]


async def _reader_station(station_id: StationId, principal: ReaderKey, session: Session) -> Station:
    return await stations.get_station(session, principal.jurisdiction_id, station_id)


async def _recorder_station(station_id: StationId, principal: RecorderKey, session: Session) -> Station:
    return await stations.get_station(session, principal.jurisdiction_id, station_id)


ReaderStation = Annotated[Station, Depends(_reader_station)]
RecorderStation = Annotated[Station, Depends(_recorder_station)]
