"""What the mobile intake form at /c/{token} shows: who is asked, the choices, a fresh submission key.

A form is immutable and hashable (tuples throughout), so the page layer can render the same form once and
only fill in each scan's submission key.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy.ext.asyncio import AsyncConnection

from services.intake import form_keys
from services.intake.directory import Categories, Directory, code_is_open
from services.intake.labels import REQUEST_TYPE_LABELS, URGENCY_LABELS
from services.intake.scans import ScanCounter


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    children: tuple[Choice, ...] = ()


@dataclass(frozen=True)
class IntakeForm:
    token: str
    owner_type: str
    owner_name: str
    owner_title: str  # 区（县）人大代表, or the station's address
    station_name: str | None
    categories: tuple[Choice, ...]  # top-level categories with their subcategories
    request_types: tuple[Choice, ...]
    urgencies: tuple[Choice, ...]
    grids: tuple[Choice, ...]  # empty unless the station serves more than one grid
    submission_key: str


async def open_form(
    connection: AsyncConnection, directory: Directory, token: str, *, scans: ScanCounter | None = None
) -> IntakeForm:
    """The form of a code that accepts now (404 unknown, 410 revoked or rotated away); ``scans`` counts an
    actual scan."""
    route = await directory.route(token)
    if not await code_is_open(connection, route.code_id, token):
        raise await directory.why_closed(token)
    if scans is not None:
        scans.count(route.code_id)
    categories = await directory.categories(route.jurisdiction_id)
    return IntakeForm(
        token=route.token,
        owner_type=route.owner_type,
        owner_name=route.owner_name,
        owner_title=route.owner_title,
        station_name=route.station_name,
        categories=_category_choices(categories),
        request_types=_REQUEST_TYPES,
        urgencies=_URGENCIES,
        grids=tuple(Choice(g.code, g.name) for g in route.grids) if len(route.grids) > 1 else (),
        submission_key=form_keys.issue_submission_key(),
    )


_REQUEST_TYPES = tuple(Choice(value, label) for value, label in REQUEST_TYPE_LABELS.items())
_URGENCIES = tuple(Choice(value, label) for value, label in URGENCY_LABELS.items())


# Keyed by the identity of the directory's cached list: built once per list it reads, not once per scan.
@lru_cache(maxsize=64)
def _category_choices(categories: Categories) -> tuple[Choice, ...]:
    """Top-level categories with their subcategories (a subcategory of an inactive parent is left out)."""
    tops = [c for c in categories.ordered if c.parent_id is None]
    children: dict[int, list[Choice]] = {top.id: [] for top in tops}
    for category in categories.ordered:
        if category.parent_id is not None and category.parent_id in children:
            children[category.parent_id].append(Choice(category.code, category.name))
    return tuple(Choice(top.code, top.name, tuple(children[top.id])) for top in tops)
