"""What the public station page (/s/{code}) shows: the station, the grids it serves, its next contact days with
the deputies rostered (their names and levels are public; nothing else about them is shown) and the QR code of
the station's intake form. Nothing about any citizen or case."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from datetime import date, time

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake import repository as intake_repository
from services.intake.codes import form_url
from services.intake.contact import repository
from services.intake.contact.errors import StationPageNotFound
from services.intake.contact.rules import WEEKDAY_LABELS
from services.intake.contact.schedule import next_contact_days, station_rule
from services.intake.labels import STATION_KIND_LABELS
from services.intake.qr import qr_svg
from shared.db.enums import IntakeCodeOwner, IntakeCodeStatus
from shared.db.models import IntakeCode, Jurisdiction, Station

STATION_CODE = re.compile(r"^[A-Za-z0-9-]{2,40}$")
NEXT_DAYS = 3


@dataclass(frozen=True)
class PublicDeputy:
    name: str
    level_label: str


@dataclass(frozen=True)
class PublicContactDay:
    day: date
    weekday_label: str
    starts_at: time
    ends_at: time
    reason: str
    reason_label: str
    deputies: tuple[PublicDeputy, ...]


@dataclass(frozen=True)
class StationPage:
    code: str
    name: str
    kind_label: str
    address: str | None
    jurisdiction_name: str
    grids: tuple[str, ...]
    rule: str
    next_days: tuple[PublicContactDay, ...]
    intake_url: str | None
    # The QR code of intake_url as an SVG data: URI (digits and base64 only, nothing a page must escape).
    qr_data_uri: str | None


async def _active_station(session: AsyncSession, code: str) -> Station:
    if not STATION_CODE.match(code):
        raise StationPageNotFound()
    station: Station | None = await session.scalar(
        select(Station).where(Station.code == code, Station.active.is_(True))
    )
    if station is None:
        raise StationPageNotFound()
    return station


async def _intake_token(session: AsyncSession, station: Station) -> str | None:
    """The station's own active code; the oldest when there are several (the one most posters carry)."""
    token: str | None = await session.scalar(
        select(IntakeCode.token)
        .where(
            IntakeCode.station_id == station.id,
            IntakeCode.owner_type == IntakeCodeOwner.station,
            IntakeCode.status == IntakeCodeStatus.active,
        )
        .order_by(IntakeCode.id)
        .limit(1)
    )
    return token


def qr_data_uri(url: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(qr_svg(url)).decode("ascii")


async def station_page(session: AsyncSession, code: str) -> StationPage:
    """The page of an active station by its public code; any other code is a 404."""
    station = await _active_station(session, code)
    jurisdiction = await session.get(Jurisdiction, station.jurisdiction_id)
    assert jurisdiction is not None  # a foreign key
    grids = await intake_repository.station_grids_ordered(session, station.id)
    rule = await station_rule(session, station)
    days = await next_contact_days(session, station, NEXT_DAYS)
    roster = (
        await repository.rostered(session, station.id, days[0].day, days[-1].day, active_only=True)
        if days
        else {}
    )
    token = await _intake_token(session, station)
    url = form_url(token) if token is not None else None
    return StationPage(
        code=station.code,
        name=station.name,
        kind_label=STATION_KIND_LABELS.get(station.kind, "代表联络站"),
        address=station.address,
        jurisdiction_name=jurisdiction.name,
        grids=tuple(grid.name for grid in grids),
        rule=rule.description,
        next_days=tuple(
            PublicContactDay(
                day=day.day,
                weekday_label=WEEKDAY_LABELS[day.day.weekday()],
                starts_at=day.starts_at,
                ends_at=day.ends_at,
                reason=day.reason,
                reason_label=day.reason_label(),
                deputies=tuple(PublicDeputy(d.name, d.level_label) for d in roster.get(day.day, [])),
            )
            for day in days
        ),
        intake_url=url,
        qr_data_uri=qr_data_uri(url) if url is not None else None,
    )
