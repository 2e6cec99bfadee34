"""The rows of one chunk of cases: each case walks the real lifecycle (received, dispatched, accepted,
replied, rated, reworked, closed...) as far as its age makes plausible, leaving the assignments, events,
deadlines, replies and feedback that the services would have written on the way.

Rows are plain tuples in the tables' column order (see ``COLUMNS``), ready for a binary COPY. Everything is
derived from (seed, chunk index), so chunks can be built in any process in any order.
"""

from __future__ import annotations

import json
import random
from bisect import bisect
from datetime import UTC, date, datetime
from hashlib import sha256
from itertools import accumulate, count
from typing import Any

from bench.dataset.texts import Texts
from bench.dataset.world import (
    COMMENTS,
    DECLINE_REASONS,
    OPINION_TEXTS,
    PROGRESS_TEXTS,
    REPLY_TEXTS,
    SHANGHAI_OFFSET,
    TITLES,
    World,
)

COLUMNS: dict[str, tuple[str, ...]] = {
    "cases": (
        "id", "jurisdiction_id", "tracking_no", "access_key_hash", "status", "kind", "category_id",
        "request_type", "urgency", "title", "description", "location_text", "lat", "long",
        "submitter_name_enc", "submitter_phone_enc", "confidential", "source", "intake_code_id",
        "submission_key", "station_id", "deputy_id", "grid_id", "tier", "rework_round", "duplicate_of_id",
        "close_reason", "created_at", "updated_at", "dispatched_at", "replied_at", "closed_at",
        "supervision_level", "lead_supervisor",
    ),
    "assignments": (
        "id", "jurisdiction_id", "case_id", "department_id", "role", "status", "dispatched_at", "accepted_at",
        "declined_at", "decline_reason", "suggested_department_id", "replied_at", "updated_at",
    ),
    "case_events": (
        "id", "jurisdiction_id", "case_id", "type", "at", "actor_type", "actor_id", "public", "from_status",
        "to_status", "data",
    ),
    "deadlines": (
        "id", "jurisdiction_id", "case_id", "assignment_id", "kind", "round", "tier", "starts_at", "due_at",
        "met_at", "superseded_at", "created_at", "due_soon_at", "overdue_at", "due_soon_raised_at",
        "overdue_raised_at",
    ),
    "replies": (
        "id", "jurisdiction_id", "case_id", "assignment_id", "department_id", "reply_class", "text", "round",
        "created_at",
    ),
    "feedback": ("id", "jurisdiction_id", "case_id", "source", "rating", "comment", "round", "created_at"),
    "supervision_changes": (
        "id", "jurisdiction_id", "case_id", "level", "previous_level", "lead_supervisor", "note", "source",
        "actor_type", "actor_id", "created_at",
    ),
    "case_search_terms": ("case_id", "jurisdiction_id", "created_at", "terms"),
}  # fmt: skip

# The most rows one case can have in each child table: every chunk owns a block of ids this many per case.
PER_CASE = {"assignments": 4, "case_events": 64, "deadlines": 16, "replies": 4, "feedback": 4}
PER_CASE["supervision_changes"] = 2

HOUR, DAY = 3600.0, 86400.0
# Calendar approximations of the working-day tiers (services.workflow.deadlines has the real calendar).
TIER_SECONDS = {"immediate": 2 * DAY, "week": 7 * DAY, "month": 42 * DAY, "critical": DAY}
TIER_SECONDS |= {"deputy_suggestion": 42 * DAY, "rework": 7 * DAY}
ACCEPT, DECLINE, RATING = DAY * 1.4, DAY * 4.2, DAY * 7

# Final status by age: young cases are still moving, old ones closed (a few stuck, which is what the overdue
# scan finds). Weights per status, in STATUSES order.
STATUSES = ("received", "dispatched", "in_progress", "replied", "rework", "closed", "rejected", "merged")
_BY_AGE = (
    (2 * DAY, (5, 25, 40, 15, 0, 8, 4, 3)),
    (14 * DAY, (0.5, 4, 30, 20, 4, 36, 3, 2.5)),
    (60 * DAY, (0.1, 0.6, 5, 3, 1.5, 85, 3, 1.8)),
    (float("inf"), (0.02, 0.1, 0.6, 0.2, 0.2, 93.1, 3.5, 2.3)),
)
STATUS_TABLES = tuple((limit, tuple(accumulate(w))) for limit, w in _BY_AGE)
# Typical time from receipt to each status; younger cases have their steps squeezed into their age.
NOMINAL = {"received": 0, "dispatched": 4 * HOUR, "in_progress": 2 * DAY, "replied": 8 * DAY}
NOMINAL |= {"rework": 12 * DAY, "closed": 14 * DAY, "rejected": DAY, "merged": DAY}
REQUEST_TYPES = (("complaint", 30), ("help", 25), ("suggestion", 20), ("enquiry", 15), ("report", 10))
RATINGS = ("satisfied",) * 7 + ("basically_satisfied",) * 2 + ("dissatisfied",)


# Event data as JSON text by shape, kept across the chunks a process builds.
_JSON: dict[tuple[Any, ...], str] = {}


def access_key(tracking_no: str) -> str:
    """The citizen's access key of a generated case (real ones are random); the hot reads use it."""
    return f"bench-{tracking_no}"


def _weighted(pairs: tuple[tuple[str, int], ...]) -> tuple[tuple[str, ...], tuple[float, ...]]:
    return tuple(p[0] for p in pairs), tuple(accumulate(p[1] for p in pairs))


class ChunkBuilder:
    """Builds the rows of cases [k * size, (k + 1) * size) of the world."""

    def __init__(self, world: World, k: int, size: int) -> None:
        self.w = world
        self.rng = random.Random(world.seed * 1_000_003 + k)
        self.lo, self.hi = k * size, min(world.cases, (k + 1) * size)
        self.rows: dict[str, list[tuple[Any, ...]]] = {t: [] for t in COLUMNS}
        self.ids = {t: count(world.bases[t] + k * size * n) for t, n in PER_CASE.items()}
        self._json = _JSON
        # Bound once: events and deadlines are most of the rows, and attribute chains cost per row.
        self.jid = world.jurisdiction_id
        self._events, self._event_ids = self.rows["case_events"], self.ids["case_events"]
        self._deadlines, self._deadline_ids = self.rows["deadlines"], self.ids["deadlines"]
        self._day_first: dict[int, int] = {}
        self._days: dict[int, date] = {}
        self.request_types = _weighted(REQUEST_TYPES)
        rng = random.Random(world.seed)
        # Some categories and some units get far more cases than others.
        self.category_weights = tuple(accumulate(rng.paretovariate(1.2) for _ in world.categories))
        self.texts = Texts(world.seed)

    # --- helpers -------------------------------------------------------------------------------------------

    def _data(self, key: tuple[Any, ...], build: Any) -> str:
        """Event data as JSON text, cached: the same few shapes repeat millions of times."""
        found = self._json.get(key)
        if found is None:
            found = self._json[key] = json.dumps(build(), ensure_ascii=False)
        return found

    def _created(self, i: int) -> float:
        # Evenly spread, with a deterministic jitter so any process can tell case i's time and day.
        return self.start + self.w.span_seconds * (i + (i * 0.6180339887) % 1.0) / self.w.cases

    def _first_of_day(self, day_number: int) -> int:
        """The index of the first case of a local day (days counted from the epoch)."""
        found = self._day_first.get(day_number)
        if found is None:
            day_start = day_number * DAY - SHANGHAI_OFFSET.total_seconds()
            i = max(0, int((day_start - self.start) / self.w.span_seconds * self.w.cases) - 1)
            while self._created(i) < day_start:
                i += 1
            found = self._day_first[day_number] = i
        return found

    def event(
        self,
        case_id: int,
        type_: str,
        at: float,
        actor: tuple[str, int | None],
        public: bool,
        change: tuple[str | None, str | None],
        data: str,
    ) -> None:
        self._events.append(
            (
                next(self._event_ids),
                self.jid,
                case_id,
                type_,
                at,
                actor[0],
                actor[1],
                public,
                change[0],
                change[1],
                data,
            )
        )

    def deadline(
        self,
        case_id: int,
        assignment_id: int | None,
        kind: str,
        round_: int,
        tier: str | None,
        starts: float,
        due: float,
        met: float | None = None,
        superseded: float | None = None,
    ) -> list[Any]:
        row = [
            next(self._deadline_ids),
            self.jid,
            case_id,
            assignment_id,
            kind,
            round_,
            tier,
            starts,
            due,
            met,
            superseded,
            starts,
        ]
        # Lists: met_at is filled in later, and the alarm columns once the case is walked (bench.dataset.alarms).
        self._deadlines.append(row)  # type: ignore[arg-type]
        return row

    def build(self) -> dict[str, list[tuple[Any, ...]]]:
        from bench.dataset.lifecycle import walk

        self.start = self.w.start.timestamp()
        self.now = self.w.now.timestamp()
        for i in range(self.lo, self.hi):
            walk(self, i)
        # Deadlines were kept as lists so a later step could settle them; COPY wants tuples.
        self.rows["deadlines"] = [tuple(r) for r in self.rows["deadlines"]]
        return self.rows

    # --- the case row --------------------------------------------------------------------------------------

    def case_basics(self, i: int) -> dict[str, Any]:
        """Who sent case i, about what, and when; the lifecycle fills in the rest."""
        rng, w = self.rng, self.w
        created = self._created(i)
        local_day = int((created + SHANGHAI_OFFSET.total_seconds()) // DAY)
        day = self._days.get(local_day)
        if day is None:
            day = self._days[local_day] = datetime.fromtimestamp(local_day * DAY, UTC).date()
        suffix = i - self._first_of_day(local_day) + 1 + w.day_offsets.get(day, 0)
        tracking_no = f"{w.code}{day:%Y%m%d}-{suffix:04d}"
        leaf = w.categories[bisect(self.category_weights, rng.random() * self.category_weights[-1])]
        code = w.codes[int(rng.random() * len(w.codes))]
        grids = w.station_grids.get(code.station_id, ())
        names, cumulative = self.request_types
        return {
            "i": i,
            "id": w.case_base + i,
            "created": created,
            "day": day,
            "suffix": suffix,
            "tracking_no": tracking_no,
            "access_key_hash": sha256(access_key(tracking_no).encode()).hexdigest(),
            "leaf": leaf,
            "code": code,
            "grid_id": grids[int(rng.random() * len(grids))] if grids else None,
            "request_type": names[bisect(cumulative, rng.random() * cumulative[-1])],
            "title": TITLES[leaf.top][int(rng.random() * len(TITLES[leaf.top]))]
            if leaf.top in TITLES
            else None,
        }

    def case_row(self, c: dict[str, Any], s: dict[str, Any]) -> None:
        rng, w = self.rng, self.w
        code = c["code"]
        form = rng.random() < 0.75  # most cases come through a QR code's form, the rest through the API
        pii = w.pii[int(rng.random() * len(w.pii))] if rng.random() < 0.05 else (None, None)
        updated = s.get("updated", c["created"])
        text = self.texts.compose(rng, c["i"], c["leaf"].top, c["title"])
        lat, long = text["point"]
        self.rows["case_search_terms"].append((c["id"], w.jurisdiction_id, c["created"], text["terms"]))
        self.rows["cases"].append(
            (
                c["id"],
                w.jurisdiction_id,
                c["tracking_no"],
                c["access_key_hash"],
                s["status"],
                s["kind"],
                c["leaf"].id,
                c["request_type"],
                s["urgency"],
                c["title"],
                text["description"],
                text["location_text"],
                lat if form else None,
                long if form else None,
                pii[0],
                pii[1],
                rng.random() < 0.02,
                "form" if form else "api",
                code.id if form else None,
                f"{c['id']:x}-{c['suffix']}" if form else None,
                code.station_id,
                code.deputy_id,
                c["grid_id"],
                s.get("tier"),
                s.get("round", 0),
                s.get("duplicate_of"),
                s.get("close_reason"),
                c["created"],
                updated,
                None if s.get("dispatched") is None else s["dispatched"],
                None if s.get("replied") is None else s["replied"],
                None if s.get("closed") is None else s["closed"],
                s.get("supervision_level"),
                None,
            )
        )


# Shared by the lifecycle module: the texts events carry.
TEXTS: dict[str, list[Any]] = {
    "reply": REPLY_TEXTS,
    "progress": PROGRESS_TEXTS,
    "opinion": OPINION_TEXTS,
    "decline": DECLINE_REASONS,
    "comment": COMMENTS,
}
