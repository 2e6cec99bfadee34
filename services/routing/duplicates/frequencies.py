"""How common each word is among all cases, so the search can look a case up by its rarer words and weigh
the words two cases share by how much they say.

The figures come from PostgreSQL's own statistics of the terms column (``pg_stats.most_common_elems``: the
~1,000 most common lexemes with the share of rows holding each, refreshed by ANALYZE), so nothing has to
count words at request time. A word not in that list is rarer than all of them. Read at most once per
``TTL`` per process: the figures move slowly.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

TTL = 600.0
# Assumed for every word while the table has no statistics yet (a new or small database).
NO_STATS = 0.001
# No word is weighed as rarer than this: one case in ten million.
FLOOR = 1e-7

_STATS = text(
    """
    SELECT s.most_common_elems::text::text[] AS words, s.most_common_elem_freqs AS freqs,
           (SELECT greatest(reltuples, 0)::bigint FROM pg_class
            WHERE oid = to_regclass('case_search_terms')) AS rows
    FROM (SELECT 1) AS one
    LEFT JOIN pg_stats s
      ON s.schemaname = current_schema() AND s.tablename = 'case_search_terms' AND s.attname = 'terms'
    ORDER BY s.inherited
    LIMIT 1
    """
)


@dataclass(frozen=True)
class WordFrequencies:
    """The share of cases whose words include each word, and the weight that gives it."""

    known: dict[str, float] = field(default_factory=dict)
    unknown: float = NO_STATS  # the share assumed for a word not in ``known``
    rows: int = 0  # cases indexed, as of the statistics
    # Inverse document frequency, -log(share): a word in one case in a thousand weighs 6.9, one in half the
    # cases 0.7. Worked out once, since ranking weighs every word of every candidate.
    weights: dict[str, float] = field(init=False)
    unknown_weight: float = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "weights", {w: _idf(f) for w, f in self.known.items()})
        object.__setattr__(self, "unknown_weight", _idf(self.unknown))

    def of(self, word: str) -> float:
        return self.known.get(word, self.unknown)

    def weight(self, word: str) -> float:
        return self.weights.get(word, self.unknown_weight)


def _idf(share: float) -> float:
    return -math.log(max(share, FLOOR))


_cached: tuple[float, WordFrequencies] | None = None


async def _read(session: AsyncSession) -> WordFrequencies:
    row = (await session.execute(_STATS)).one()
    if not row.words or not row.freqs:
        return WordFrequencies(rows=int(row.rows or 0))
    words: list[str] = list(row.words)
    # The list is followed by the minimum, maximum and null share of the per-word figures.
    shares = [float(f) for f in row.freqs[: len(words)]]
    lowest = float(row.freqs[len(words)]) if len(row.freqs) > len(words) else min(shares)
    return WordFrequencies(
        known=dict(zip(words, shares, strict=True)), unknown=lowest / 2, rows=int(row.rows or 0)
    )


async def word_frequencies(session: AsyncSession) -> WordFrequencies:
    global _cached
    now = time.monotonic()
    if _cached is None or now - _cached[0] > TTL:
        _cached = (now, await _read(session))
    return _cached[1]
