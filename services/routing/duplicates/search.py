"""Similar cases (疑似重复件) for the dispatcher: the same jurisdiction's cases created within 90 days before
or after the case, found by the words they share and ranked in Python by words, place, category and distance.

The search has to stay fast with millions of cases, and common words ("小区", "物业") are in a good share of
them: SQL is asked only for cases sharing a pair of the case's rarer words (see lookup.py), returns at most
``FETCH`` of them, nearest in time first, and Python ranks those by words, place, category and distance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing.duplicates.frequencies import WordFrequencies, word_frequencies
from services.routing.duplicates.lookup import ANCHORS, clause_groups, lookups
from services.routing.duplicates.schemas import SimilarCase, SimilarCases, SimilarVia, SimilarWhy
from services.routing.duplicates.terms import indexed_words, text_words
from shared.db.enums import CaseStatus
from shared.db.models import Case

WINDOW = timedelta(days=90)
FETCH = 200  # candidate rows ranked in Python
SHOWN_WORDS = 8
DEFAULT_LIMIT = 10
MAX_LIMIT = 50
# Score weights (they add up to 1): shared words, category, grid (a shared station counts half) and nearness.
TEXT, CATEGORY, PLACE, NEARNESS = 0.6, 0.15, 0.1, 0.15
NEAR_M = 1000.0  # nearness falls from 1 at the same spot to 0 at this distance
EARTH_RADIUS_M = 6_371_000.0

_COLUMNS = """
    c.id, c.tracking_no, c.status, c.duplicate_of_id, c.created_at, c.category_id, cat.code AS category_code,
    c.grid_id, g.code AS grid_code, c.station_id, c.lat, c.long
"""

# The lookups run on case_search_terms alone, one GIN scan each (ORed); only the rows they keep are joined
# to their cases. The window is applied to the matched rows, not through the (jurisdiction, created_at)
# index: the planner likes to AND the GIN result with that index's range, which at a million cases is a
# quarter of the table, read to spare a few thousand heap rows. MATERIALIZED keeps the two apart. Rejected
# cases are dropped after the LIMIT: they are few.
_NEAR = """
    WITH matched AS MATERIALIZED (
        SELECT case_id, jurisdiction_id, created_at, terms
        FROM case_search_terms
        WHERE {matches}
    ), near AS (
        SELECT case_id, terms
        FROM matched
        WHERE jurisdiction_id = :jurisdiction_id
          AND created_at BETWEEN :since AND :until
          AND case_id <> :case_id
        ORDER BY abs(extract(epoch FROM created_at - CAST(:at AS timestamptz)))
        LIMIT :fetch
    )
    SELECT {columns}, tsvector_to_array(near.terms) AS words, NULL AS title, NULL AS description,
           NULL AS location_text
    FROM near
    JOIN cases c ON c.id = near.case_id
    LEFT JOIN categories cat ON cat.id = c.category_id
    LEFT JOIN grids g ON g.id = c.grid_id
    WHERE c.status <> 'rejected'
"""
_NEAR_QUERIES = {
    n: text(
        _NEAR.format(
            columns=_COLUMNS,
            matches=" OR ".join(f"terms @@ CAST(:query{k} AS tsquery)" for k in range(n)),
        )
    )
    for n in range(1, ANCHORS + 1)
}

# The main cases that matched cases were merged into, when they did not match themselves.
_MAINS = text(
    f"""
    SELECT {_COLUMNS}, tsvector_to_array(t.terms) AS words, c.title, c.description, c.location_text
    FROM cases c
    LEFT JOIN case_search_terms t ON t.case_id = c.id
    LEFT JOIN categories cat ON cat.id = c.category_id
    LEFT JOIN grids g ON g.id = c.grid_id
    WHERE c.id = ANY(CAST(:ids AS bigint[])) AND c.jurisdiction_id = :jurisdiction_id
      AND c.status NOT IN ('rejected', 'merged')
    """  # noqa: S608 (column list is a constant)
)


@dataclass(frozen=True)
class _Row:
    id: int
    tracking_no: str
    status: str
    duplicate_of_id: int | None
    created_at: datetime
    category_id: int | None
    category_code: str | None
    grid_id: int | None
    grid_code: str | None
    station_id: int | None
    lat: float | None
    long: float | None
    words: tuple[str, ...]

    @classmethod
    def of(cls, row: Any) -> _Row:
        found = row.words
        if found is None:  # a main case from before the index: its words from its text
            found = text_words(row.title, row.description, row.location_text)
        return cls(
            id=row.id,
            tracking_no=row.tracking_no,
            status=row.status,
            duplicate_of_id=row.duplicate_of_id,
            created_at=row.created_at,
            category_id=row.category_id,
            category_code=row.category_code,
            grid_id=row.grid_id,
            grid_code=row.grid_code,
            station_id=row.station_id,
            lat=row.lat,
            long=row.long,
            words=tuple(found),
        )


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance (haversine) in metres between two (lat, long) points."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def _point(lat: float | None, long: float | None) -> tuple[float, float] | None:
    return (lat, long) if lat is not None and long is not None else None


class _Scorer:
    """Scores candidates against one case; ``why`` spells out the signals of the few that are shown."""

    def __init__(self, case: Case, own: list[str], freqs: WordFrequencies) -> None:
        self.case = case
        self.weight = {w: freqs.weight(w) for w in own}
        self.own_weight = sum(self.weight.values())
        self.all_weights, self.unknown_weight = freqs.weights, freqs.unknown_weight
        self.point = _point(case.lat, case.long)

    def _distance(self, row: _Row) -> float | None:
        other = _point(row.lat, row.long)
        return distance_m(self.point, other) if self.point and other else None

    def score(self, row: _Row) -> float:
        weight, case = self.weight, self.case
        shared = sum(weight[w] for w in row.words if w in weight)
        known, unknown = self.all_weights, self.unknown_weight
        total = self.own_weight + sum(known.get(w, unknown) for w in row.words)
        words = 2 * shared / total if total > 0 else 0.0
        distance = self._distance(row)
        nearness = max(0.0, 1 - distance / NEAR_M) if distance is not None else 0.0
        same_grid = case.grid_id is not None and case.grid_id == row.grid_id
        same_station = case.station_id is not None and case.station_id == row.station_id
        place = 1.0 if same_grid else 0.5 if same_station else 0.0
        same_category = case.category_id is not None and case.category_id == row.category_id
        return min(
            1.0, round(TEXT * words + CATEGORY * same_category + PLACE * place + NEARNESS * nearness, 3)
        )

    def why(self, row: _Row) -> SimilarWhy:
        case, weight = self.case, self.weight
        distance = self._distance(row)
        shared = sorted((w for w in row.words if w in weight), key=lambda w: (-weight[w], w))
        return SimilarWhy(
            shared_words=shared[:SHOWN_WORDS],
            same_grid=case.grid_id is not None and case.grid_id == row.grid_id,
            same_station=case.station_id is not None and case.station_id == row.station_id,
            same_category=case.category_id is not None and case.category_id == row.category_id,
            distance_m=round(distance) if distance is not None else None,
        )


async def _fetch(session: AsyncSession, case: Case, queries: list[str]) -> list[_Row]:
    params: dict[str, Any] = {f"query{k}": q for k, q in enumerate(queries)}
    params |= {
        "jurisdiction_id": case.jurisdiction_id,
        "since": case.created_at - WINDOW,
        "until": case.created_at + WINDOW,
        "case_id": case.id,
        "at": case.created_at,
        "fetch": FETCH,
    }
    return [_Row.of(r) for r in await session.execute(_NEAR_QUERIES[len(queries)], params)]


async def _mains(session: AsyncSession, case: Case, ids: set[int]) -> dict[int, _Row]:
    if not ids:
        return {}
    rows = await session.execute(_MAINS, {"ids": sorted(ids), "jurisdiction_id": case.jurisdiction_id})
    return {r.id: r for r in map(_Row.of, rows)}


def _item(row: _Row, score: float, why: SimilarWhy, via: _Row | None) -> SimilarCase:
    return SimilarCase(
        case_id=row.id,
        tracking_no=row.tracking_no,
        status=row.status,
        created_at=row.created_at,
        category_code=row.category_code,
        grid_code=row.grid_code,
        station_id=row.station_id,
        score=score,
        why=why,
        via=SimilarVia(case_id=via.id, tracking_no=via.tracking_no) if via else None,
    )


async def similar(session: AsyncSession, case: Case, *, limit: int = DEFAULT_LIMIT) -> SimilarCases:
    """Up to ``limit`` cases that may raise the same matter, best first. Never the case itself or a rejected
    case; a case already merged into another stands for its main case (which is shown even if it is older
    than the window), and one merged into this case is left out."""
    own = await indexed_words(session, case)
    freqs = await word_frequencies(session)
    queries = lookups(own, clause_groups(case.title, case.description, case.location_text), freqs)
    result = SimilarCases(case_id=case.id, tracking_no=case.tracking_no, window_days=WINDOW.days, items=[])
    if not queries:
        return result
    rows = await _fetch(session, case, queries)
    direct = {r.id: r for r in rows if r.status != CaseStatus.merged}
    merged = [r for r in rows if r.status == CaseStatus.merged and r.duplicate_of_id not in (None, case.id)]
    wanted = {r.duplicate_of_id for r in merged if r.duplicate_of_id is not None} - direct.keys()
    mains = direct | await _mains(session, case, wanted)
    scorer = _Scorer(case, own, freqs)
    # main case id -> (score, the row that scored it: the main case or a case merged into it)
    best = {row.id: (scorer.score(row), row) for row in direct.values()}
    for row in merged:
        main_id = row.duplicate_of_id
        if main_id is None or main_id not in mains:
            continue  # its main case was rejected or merged on: nothing to merge into
        if main_id not in best:
            best[main_id] = (scorer.score(mains[main_id]), mains[main_id])
        score = scorer.score(row)
        if score > best[main_id][0]:
            best[main_id] = (score, row)
    at = case.created_at
    ranked = sorted(
        best.items(), key=lambda i: (-i[1][0], abs((mains[i[0]].created_at - at).total_seconds()))
    )
    result.items = [
        _item(mains[main_id], score, scorer.why(row), row if row.id != main_id else None)
        for main_id, (score, row) in ranked[:limit]
    ]
    return result
