"""Per-process caches of what an intake code leads to (its owner, station, grids, jurisdiction) and of each
jurisdiction's active categories, so a scan or a submission need not look them up every time.

Nothing here decides whether a code still accepts: the cached facts only build the statement, and every
submission (and every form page, through ``code_is_open``) asks the database at that moment whether the
code still has the token (it may have been rotated), whether it, its deputy or station, and the chosen
category are active. What may lag by up to ``ttl`` seconds is
what an admin edits rarely: an owner's name, a deputy's stations, a station's grids, the category list
shown on the form. Failed lookups (404, 410) are not cached.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from services.intake import repository
from services.intake.errors import IntakeCodeGone, IntakeCodeNotFound, IntakeCodeReplaced
from services.intake.labels import DEPUTY_LEVEL_LABELS
from services.workflow import jurisdiction_code
from shared.db.enums import IntakeCodeOwner, IntakeCodeStatus
from shared.db.models import Deputy, Station

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True)
class GridRef:
    id: int
    code: str
    name: str


@dataclass(frozen=True)
class CodeRoute:
    """An intake code as it was when last read: where its cases go and what its form shows."""

    code_id: int
    token: str
    jurisdiction_id: int
    jurisdiction_code: str
    owner_type: str
    owner_name: str
    owner_title: str  # 区（县）人大代表, or the station's address
    deputy_id: int | None
    station_id: int | None
    station_name: str | None
    grids: tuple[GridRef, ...]  # in order; the first is the default


@dataclass(frozen=True)
class CategoryRef:
    id: int
    code: str
    name: str
    parent_id: int | None


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: one object per read of the list
class Categories:
    """A jurisdiction's active categories, by id order, and by code."""

    ordered: tuple[CategoryRef, ...]
    by_code: dict[str, CategoryRef]


class _TtlCache(Generic[K, V]):
    """Entries expire ``ttl`` seconds after loading. Concurrent misses of one key share one load, run as a
    task of its own so that a requester giving up (a client gone) cancels nothing the others wait for."""

    def __init__(self, ttl: float, clock: Callable[[], float]) -> None:
        self._ttl = ttl
        self._clock = clock
        self._entries: dict[K, tuple[float, V]] = {}
        self._loading: dict[K, asyncio.Task[V]] = {}

    async def get(self, key: K, load: Callable[[], Coroutine[Any, Any, V]]) -> V:
        entry = self._entries.get(key)
        if entry is not None and entry[0] > self._clock():
            return entry[1]
        task = self._loading.get(key)
        if task is None:
            task = asyncio.create_task(load())
            self._loading[key] = task
            task.add_done_callback(lambda done: self._loaded(key, done))
        return await asyncio.shield(task)

    def _loaded(self, key: K, task: asyncio.Task[V]) -> None:
        del self._loading[key]
        # Failures (unknown or gone codes) are not kept: the next request asks the database again.
        if not task.cancelled() and task.exception() is None:
            self._entries[key] = (self._clock() + self._ttl, task.result())

    def forget(self, key: K) -> None:
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()


class Directory:
    """One per process (kept on the app's state); reads what it caches through ``engine``."""

    def __init__(
        self, engine: AsyncEngine, ttl: float = 5.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._engine = engine
        self._routes: _TtlCache[str, CodeRoute] = _TtlCache(ttl, clock)
        self._categories: _TtlCache[int, Categories] = _TtlCache(ttl, clock)

    async def route(self, token: str) -> CodeRoute:
        """The code behind a token: unknown → 404; revoked, or its deputy or station deactivated → 410."""
        if not _TOKEN.match(token):
            raise IntakeCodeNotFound()
        return await self._routes.get(token, lambda: _load_route(self._engine, token))

    async def categories(self, jurisdiction_id: int) -> Categories:
        return await self._categories.get(
            jurisdiction_id, lambda: _load_categories(self._engine, jurisdiction_id)
        )

    def forget_route(self, token: str) -> None:
        """After the database said the code no longer accepts: the next request reads it afresh."""
        self._routes.forget(token)

    async def why_closed(self, token: str) -> IntakeCodeGone | IntakeCodeNotFound:
        """After the database refused a cached code: forgets it and reads it afresh, so the citizen hears
        why (rotated, revoked, owner deactivated). Raise what this returns."""
        self.forget_route(token)
        try:
            await self.route(token)
        except (IntakeCodeGone, IntakeCodeNotFound) as exc:
            return exc
        return IntakeCodeGone()  # reopened in between: refuse this request all the same

    def forget_categories(self, jurisdiction_id: int) -> None:
        self._categories.forget(jurisdiction_id)

    def clear(self) -> None:
        """After this process changed stations, deputies or codes."""
        self._routes.clear()
        self._categories.clear()


_CODE_IS_OPEN = text(
    """
SELECT EXISTS (
    SELECT 1 FROM intake_codes c
    WHERE c.id = CAST(:code_id AS bigint) AND c.token = CAST(:token AS text) AND c.status = 'active'
      AND CASE WHEN c.owner_type = 'deputy'
               THEN EXISTS (SELECT 1 FROM deputies d WHERE d.id = c.deputy_id AND d.active)
               ELSE EXISTS (SELECT 1 FROM stations s WHERE s.id = c.station_id AND s.active) END
)
"""
)


async def code_is_open(connection: AsyncConnection, code_id: int, token: str) -> bool:
    """Whether the code accepts now through ``token`` (the same test the submission statement makes)."""
    params = {"code_id": code_id, "token": token}
    return bool((await connection.execute(_CODE_IS_OPEN, params)).scalar_one())


async def _load_route(engine: AsyncEngine, token: str) -> CodeRoute:
    async with AsyncSession(engine) as session:
        code = await repository.code_by_token(session, token)
        if code is None:
            if await repository.token_was_retired(session, token):
                raise IntakeCodeReplaced()
            raise IntakeCodeNotFound()
        if code.status != IntakeCodeStatus.active:
            raise IntakeCodeGone()
        deputy: Deputy | None = None
        station: Station | None
        if code.owner_type == IntakeCodeOwner.deputy and code.deputy_id is not None:
            deputy = await session.get(Deputy, code.deputy_id)
            if deputy is None or not deputy.active:
                raise IntakeCodeGone()
            # The deputy's first station by position, preferring active ones, receives the deputy's cases.
            station = await repository.first_station_of(session, deputy.id)
        else:
            station = await session.get(Station, code.station_id) if code.station_id is not None else None
            if station is None or not station.active:
                raise IntakeCodeGone()
        grids = await repository.station_grids_ordered(session, station.id) if station is not None else []
        if deputy is not None:
            owner_name, title = deputy.name, DEPUTY_LEVEL_LABELS.get(deputy.level, "人大代表")
        else:
            owner_name = station.name if station is not None else ""
            title = (station.address or "") if station is not None else ""
        return CodeRoute(
            code_id=code.id,
            token=code.token,
            jurisdiction_id=code.jurisdiction_id,
            jurisdiction_code=await jurisdiction_code(session, code.jurisdiction_id),
            owner_type=code.owner_type,
            owner_name=owner_name,
            owner_title=title,
            deputy_id=deputy.id if deputy is not None else None,
            station_id=station.id if station is not None else None,
            station_name=station.name if station is not None else None,
            grids=tuple(GridRef(g.id, g.code, g.name) for g in grids),
        )


async def _load_categories(engine: AsyncEngine, jurisdiction_id: int) -> Categories:
    async with AsyncSession(engine) as session:
        rows = await repository.active_categories(session, jurisdiction_id)
    ordered = tuple(CategoryRef(c.id, c.code, c.name, c.parent_id) for c in rows)
    return Categories(ordered, {c.code: c for c in ordered})
