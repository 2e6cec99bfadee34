"""Joining a hot spot by text: a case of the hot spot's grid, received within the window, whose top-level
category differs or is missing (unclassified, or the classifier chose elsewhere) joins when its words are very
like those of one of the cluster's cases.

The words are the dispatcher's duplicate-search index (case_search_terms: each case's jieba words as a
tsvector, written by routing when the case arrives), read here with our own SQL since services.supervision
does not import services.routing. The candidates are few (one grid's unclustered cases of one window) and so
are the cluster's cases compared (its latest ``REFERENCE_CASES``), so the comparison runs in Python on plain
word sets, without the duplicate search's GIN lookups: the Dice coefficient of the two sets, at least
``SIMILAR`` with at least ``MIN_SHARED`` words in common. A case nobody indexed (none should be left) is not
compared. Similar cases only join open hot spots; they never open one.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.supervision.hotspots.members import join_cases

SIMILAR = 0.6  # e.g. "平江路垃圾桶满溢三天无人清运" and "平江路垃圾桶满了好几天没人清运，臭味很大": 0.62
MIN_SHARED = 3
REFERENCE_CASES = 50

# Unclustered cases of the window in a grid with an open hot spot of another (or no) category, with words.
# The window's cases are read through the (jurisdiction_id, created_at) index first (MATERIALIZED): left to
# itself the planner may walk the whole cases table by id to meet case_search_terms in a merge join.
_CANDIDATES = text(
    """
    WITH window_cases AS MATERIALIZED (
        SELECT c.id, c.grid_id, c.created_at, c.category_id
        FROM cases c
        WHERE c.jurisdiction_id = :jurisdiction_id
          AND c.created_at > :since AND c.created_at <= :now
          AND c.kind = 'citizen' AND c.status NOT IN ('merged', 'rejected')
          AND c.grid_id IS NOT NULL
    ), open_grids AS MATERIALIZED (
        SELECT DISTINCT grid_id FROM hotspots
        WHERE jurisdiction_id = :jurisdiction_id AND status = 'open'
    )
    SELECT w.id, w.grid_id, w.created_at, coalesce(cat.parent_id, cat.id) AS category_id,
           tsvector_to_array(t.terms) AS words
    FROM window_cases w
    JOIN open_grids g ON g.grid_id = w.grid_id
    JOIN case_search_terms t ON t.case_id = w.id
    LEFT JOIN categories cat ON cat.id = w.category_id
    WHERE NOT EXISTS (SELECT 1 FROM hotspot_cases hc WHERE hc.case_id = w.id)
    ORDER BY w.created_at, w.id
    """
)

# The latest cases of each open hot spot, with their words.
_REFERENCES = text(
    """
    SELECT hotspot_id, grid_id, category_id, words FROM (
        SELECT h.id AS hotspot_id, h.grid_id, h.category_id, tsvector_to_array(t.terms) AS words,
               row_number() OVER (PARTITION BY h.id ORDER BY c.created_at DESC, c.id DESC) AS k
        FROM hotspots h
        JOIN hotspot_cases hc ON hc.hotspot_id = h.id
        JOIN cases c ON c.id = hc.case_id
        JOIN case_search_terms t ON t.case_id = c.id
        WHERE h.jurisdiction_id = :jurisdiction_id AND h.status = 'open'
    ) latest
    WHERE k <= :reference_cases
    """
)


@dataclass
class _Cluster:
    hotspot_id: int
    category_id: int
    words: list[frozenset[str]]


def dice(a: frozenset[str], b: frozenset[str]) -> float:
    return 2 * len(a & b) / (len(a) + len(b)) if a or b else 0.0


def very_similar(a: frozenset[str], b: frozenset[str]) -> bool:
    return len(a & b) >= MIN_SHARED and dice(a, b) >= SIMILAR


def best_cluster(words: frozenset[str], clusters: list[_Cluster], category_id: int | None) -> int | None:
    """The hot spot (of another category than the case's) one of whose cases is most like the case's text."""
    best: tuple[float, int] | None = None
    for cluster in clusters:
        if cluster.category_id == category_id:
            continue
        for other in cluster.words:
            if very_similar(words, other):
                score = dice(words, other)
                if best is None or score > best[0]:
                    best = (score, cluster.hotspot_id)
    return best[1] if best is not None else None


async def join_similar(session: AsyncSession, jurisdiction_id: int, since: datetime, now: datetime) -> int:
    """Joins the window's unclustered cases to the open hot spot of their grid they read like; how many
    joined. The open hot spots are locked by the caller."""
    params = {"jurisdiction_id": jurisdiction_id, "since": since, "now": now}
    candidates = (await session.execute(_CANDIDATES, params)).all()
    if not candidates:
        return 0
    clusters: dict[int, _Cluster] = {}
    by_grid: dict[int, list[_Cluster]] = defaultdict(list)
    for row in await session.execute(_REFERENCES, {**params, "reference_cases": REFERENCE_CASES}):
        cluster = clusters.get(row.hotspot_id)
        if cluster is None:
            cluster = clusters[row.hotspot_id] = _Cluster(row.hotspot_id, row.category_id, [])
            by_grid[row.grid_id].append(cluster)
        cluster.words.append(frozenset(row.words))
    joining: dict[int, list[tuple[int, datetime]]] = defaultdict(list)
    for case in candidates:
        hotspot_id = best_cluster(frozenset(case.words), by_grid.get(case.grid_id, []), case.category_id)
        if hotspot_id is not None:
            joining[hotspot_id].append((case.id, case.created_at))
    for hotspot_id, cases in joining.items():
        times = [at for _, at in cases]
        await join_cases(session, hotspot_id, [case_id for case_id, _ in cases], min(times), max(times))
    return sum(len(cases) for cases in joining.values())
