"""What the mobile intake form at /c/{token} shows: who is asked, the choices, a fresh submission key."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from services.intake import codes, form_keys, repository
from services.intake.labels import DEPUTY_LEVEL_LABELS, REQUEST_TYPE_LABELS, URGENCY_LABELS
from services.intake.submission import active_code


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    children: list[Choice] = field(default_factory=list)


@dataclass(frozen=True)
class IntakeForm:
    token: str
    owner_type: str
    owner_name: str
    owner_title: str  # 区（县）人大代表, or the station's address
    station_name: str | None
    categories: list[Choice]  # top-level categories with their subcategories
    request_types: list[Choice]
    urgencies: list[Choice]
    grids: list[Choice]  # empty unless the station serves more than one grid
    submission_key: str


async def intake_form(session: AsyncSession, token: str, *, count_scan: bool) -> IntakeForm:
    """The form of an active code (404 unknown, 410 revoked); ``count_scan`` for an actual scan."""
    owner = await active_code(session, token)
    if count_scan:
        await codes.count_scan(session, owner.code.id)
    categories = await repository.active_categories(session, owner.code.jurisdiction_id)
    tops = [c for c in categories if c.parent_id is None]
    children: dict[int, list[Choice]] = {top.id: [] for top in tops}
    for category in categories:
        if category.parent_id is not None and category.parent_id in children:
            children[category.parent_id].append(Choice(category.code, category.name))
    if owner.deputy is not None:
        title = DEPUTY_LEVEL_LABELS.get(owner.deputy.level, "人大代表")
    else:
        title = (owner.station.address or "") if owner.station is not None else ""
    return IntakeForm(
        token=owner.code.token,
        owner_type=owner.code.owner_type,
        owner_name=owner.owner_name,
        owner_title=title,
        station_name=owner.station.name if owner.station is not None else None,
        categories=[Choice(top.code, top.name, children[top.id]) for top in tops],
        request_types=[Choice(value, label) for value, label in REQUEST_TYPE_LABELS.items()],
        urgencies=[Choice(value, label) for value, label in URGENCY_LABELS.items()],
        grids=[Choice(g.code, g.name) for g in owner.grids] if len(owner.grids) > 1 else [],
        submission_key=form_keys.issue_submission_key(),
    )
