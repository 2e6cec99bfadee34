"""Similar cases (疑似重复件) for the dispatcher: the same jurisdiction's cases created within 90 days before
or after the case, found by the words they share and ranked in Python by words, place, category and distance.

The search has to stay fast with millions of cases, and common words ("小区", "物业") are in a good share of
them. So SQL is asked only for cases holding a *pair* of the case's rarer words (any pair of up to six),
which few unrelated cases do, and returns at most ``FETCH`` of them, nearest in time first; everything else
is scored on those rows. A case that shares no pair of distinctive words is not found.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import combinations
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing.duplicates.frequencies import WordFrequencies, word_frequencies
from services.routing.duplicates.schemas import SimilarCase, SimilarCases, SimilarVia, SimilarWhy
from services.routing.duplicates.terms import indexed_words, text_words
from shared.db.enums import CaseStatus
from shared.db.models import Case

WINDOW = timedelta(days=90)
FETCH = 200  # candidate rows ranked in Python
QUERY_WORDS = 6  # the rarest words of the case that the SQL query pairs up
COMMON = 0.05  # a word in more than this share of cases is not used to look up others (unless nothing rarer)
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

# The pair query runs on case_search_terms alone (the GIN index, then the window); only the rows it keeps
# are joined to their cases. Rejected cases are dropped after the LIMIT: they are few.
_NEAR = text(
    f"""
    WITH near AS (
        SELECT case_id, terms
        FROM case_search_terms
        WHERE terms @@ CAST(:query AS tsquery)
          AND jurisdiction_id = :jurisdiction_id
          AND created_at BETWEEN :since AND :until
          AND case_id <> :case_id
        ORDER BY abs(extract(epoch FROM created_at - CAST(:at AS timestamptz)))
        LIMIT :fetch
    )
    SELECT {_COLUMNS}, tsvector_to_array(near.terms) AS words, NULL AS title, NULL AS description,
           NULL AS location_text
    FROM near
    JOIN cases c ON c.id = near.case_id
    LEFT JOIN categories cat ON cat.id = c.category_id
    LEFT JOIN grids g ON g.id = c.grid_id
    WHERE c.status <> 'rejected'
    """  # noqa: S608 (column list is a constant)
)

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


def query_words(own: list[str], freqs: WordFrequencies) -> list[str]:
    """The case's rarest words (longer first among equals), leaving out common ones while rarer remain."""
    ranked = sorted(dict.fromkeys(own), key=lambda w: (freqs.of(w), -len(w)))
    rare = [w for w in ranked if freqs.of(w) <= COMMON][:QUERY_WORDS]
    if len(rare) >= 2 or len(ranked) < 2:
        return rare
    return ranked[:2]


def _lexeme(word: str) -> str:
    """A word as a quoted tsquery lexeme, taken as it is (no parser, no configuration)."""
    return "'" + word.replace("\\", "\\\\").replace("'", "\\'") + "'"


def tsquery(found: list[str]) -> str | None:
    """Cases holding any pair of the words (or the one word, when there is one)."""
    if not found:
        return None
    if len(found) == 1:
        return _lexeme(found[0])
    return " | ".join(f"({_lexeme(a)} & {_lexeme(b)})" for a, b in combinations(found, 2))


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance (haversine) in metres between two (lat, long) points."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def _point(lat: float | None, long: float | None) -> tuple[float, float] | None:
    return (lat, long) if lat is not None and long is not None else None


class _Scorer:
    """Scores candidates against one case."""

    def __init__(self, case: Case, own: list[str], freqs: WordFrequencies) -> None:
        self.case = case
        self.freqs = freqs
        self.own = set(own)
        self.own_weight = sum(freqs.weight(w) for w in self.own)
        self.point = _point(case.lat, case.long)

    def score(self, row: _Row) -> tuple[float, SimilarWhy]:
        weight = self.freqs.weight
        shared = sorted((w for w in set(row.words) if w in self.own), key=lambda w: (-weight(w), w))
        total = self.own_weight + sum(weight(w) for w in set(row.words))
        words = 2 * sum(weight(w) for w in shared) / total if total > 0 else 0.0
        case = self.case
        same_category = case.category_id is not None and case.category_id == row.category_id
        same_grid = case.grid_id is not None and case.grid_id == row.grid_id
        same_station = case.station_id is not None and case.station_id == row.station_id
        other = _point(row.lat, row.long)
        distance = distance_m(self.point, other) if self.point and other else None
        nearness = max(0.0, 1 - distance / NEAR_M) if distance is not None else 0.0
        place = 1.0 if same_grid else 0.5 if same_station else 0.0
        score = TEXT * words + CATEGORY * same_category + PLACE * place + NEARNESS * nearness
        why = SimilarWhy(
            shared_words=shared[:SHOWN_WORDS],
            same_grid=same_grid,
            same_station=same_station,
            same_category=same_category,
            distance_m=round(distance) if distance is not None else None,
        )
        return min(1.0, round(score, 3)), why


async def _fetch(session: AsyncSession, case: Case, query: str) -> list[_Row]:
    params = {
        "query": query,
        "jurisdiction_id": case.jurisdiction_id,
        "since": case.created_at - WINDOW,
        "until": case.created_at + WINDOW,
        "case_id": case.id,
        "at": case.created_at,
        "fetch": FETCH,
    }
    return [_Row.of(r) for r in await session.execute(_NEAR, params)]


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
    query = tsquery(query_words(own, freqs))
    result = SimilarCases(case_id=case.id, tracking_no=case.tracking_no, window_days=WINDOW.days, items=[])
    if query is None:
        return result
    rows = await _fetch(session, case, query)
    direct = {r.id: r for r in rows if r.status != CaseStatus.merged}
    merged = [r for r in rows if r.status == CaseStatus.merged and r.duplicate_of_id not in (None, case.id)]
    wanted = {r.duplicate_of_id for r in merged if r.duplicate_of_id is not None} - direct.keys()
    mains = direct | await _mains(session, case, wanted)
    scorer = _Scorer(case, own, freqs)
    best: dict[int, tuple[float, SimilarWhy, _Row | None]] = {}
    for row in direct.values():
        best[row.id] = (*scorer.score(row), None)
    for row in merged:
        main_id = row.duplicate_of_id
        if main_id is None or main_id not in mains:
            continue  # its main case was rejected or merged on: nothing to merge into
        if main_id not in best:
            best[main_id] = (*scorer.score(mains[main_id]), None)
        score, why = scorer.score(row)
        if score > best[main_id][0]:
            best[main_id] = (score, why, row)
    ranked = sorted(
        best.items(),
        key=lambda item: (-item[1][0], abs((mains[item[0]].created_at - case.created_at).total_seconds())),
    )
    result.items = [_item(mains[main_id], score, why, via) for main_id, (score, why, via) in ranked[:limit]]
    return result
