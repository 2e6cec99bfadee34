"""Which of a case's words the duplicate search looks other cases up by, as tsqueries for the GIN index.

A lookup pairs an *anchor* (one of the case's two rarest words) with another of its six rarest words. Each
lookup is a separate GIN scan (the scans are ORed) that walks the anchor's posting list and skips through
the others', so its cost follows how many cases hold the anchor, not how common the other words are. A rare
anchor (in at most ``ANCHOR_ROWS`` cases) pairs with any of the other words.

An everyday anchor's list is long, and words of one phrase come together ("路灯" and "不亮", "明确" and
"答复"): pairing them finds the phrase anywhere in town. So an anchor that is not rare pairs with one word
only, the rarest from *another clause* of the text (the parts between punctuation: the place, the problem,
the title), which GIN intersects cheaply: the same problem at the same place. A text of one clause with no
rare word needs three of its words together. A word inside another (jieba gives "活动中心" and "中心")
always comes with it, so of such words only the rarer takes part.
"""

from __future__ import annotations

import re

from services.routing import words
from services.routing.duplicates.frequencies import WordFrequencies

QUERY_WORDS = 6  # the rarest words of the case that the lookups use
ANCHORS = 2  # of which this many anchor a lookup each
ANCHOR_ROWS = 3_000  # a word in at most this many cases (all jurisdictions) is rare: its lookup stays small
COMMON = 0.05  # a word in more than this share of cases takes part only when the case has too few others
_CLAUSE = re.compile(r"[^\w]+")


def clause_groups(*texts: str | None) -> dict[str, frozenset[int]]:
    """Word -> the clauses of the texts it appears in (numbered across the texts in order)."""
    groups: dict[str, set[int]] = {}
    k = 0
    for text in texts:
        for part in _CLAUSE.split(text or ""):
            if part:
                for word in words.distinct(part):
                    groups.setdefault(word, set()).add(k)
                k += 1
    return {word: frozenset(found) for word, found in groups.items()}


def chosen_words(own: list[str], freqs: WordFrequencies) -> list[str]:
    """The case's rarest words, rarest first (longer first among equals), leaving out common ones while at
    least three rarer remain, and any word inside (or around) one already taken."""
    chosen: list[str] = []
    common: list[str] = []
    for word in sorted(dict.fromkeys(own), key=lambda w: (freqs.of(w), -len(w))):
        if any(word in c or c in word for c in (*chosen, *common)):
            continue
        (chosen if freqs.of(word) <= COMMON else common).append(word)
        if len(chosen) == QUERY_WORDS:
            break
    return chosen if len(chosen) >= 3 else (chosen + common)[:3]


def _lexeme(word: str) -> str:
    """A word as a quoted tsquery lexeme, taken as it is (no parser, no configuration)."""
    return "'" + word.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _any(found: list[str]) -> str:
    return " | ".join(_lexeme(w) for w in found)


def lookups(own: list[str], groups: dict[str, frozenset[int]], freqs: WordFrequencies) -> list[str]:
    """The tsqueries to look up cases like the one with words ``own`` and clauses ``groups``."""
    chosen = chosen_words(own, freqs)

    def apart(a: str, b: str) -> bool:
        # A word the clauses do not show (cut differently) is not known to be apart from anything.
        return a in groups and b in groups and not groups[a] & groups[b]

    queries: list[str] = []
    for anchor in chosen[:ANCHORS]:
        others = [w for w in chosen if w != anchor]
        if freqs.of(anchor) * max(freqs.rows, 1) <= ANCHOR_ROWS:
            queries.append(f"{_lexeme(anchor)} & ({_any(others)})" if others else _lexeme(anchor))
            continue
        elsewhere = [w for w in others if apart(w, anchor)]
        if elsewhere:
            first, second = sorted((anchor, elsewhere[0]), key=chosen.index)  # one order: no repeated scan
            queries.append(f"{_lexeme(first)} & {_lexeme(second)}")
        elif len(others) >= 2:
            # The two rarest and any third, the same lookup whichever of the two anchors gets here.
            queries.append(f"{_lexeme(chosen[0])} & {_lexeme(chosen[1])} & ({_any(chosen[2:])})")
    return list(dict.fromkeys(queries))
