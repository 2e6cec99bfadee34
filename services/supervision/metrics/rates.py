"""The rates of DOMAIN.md from the counts (each null when its denominator is 0), the 12345 triple's weighted
score, and the department ranking that ranks only departments with a large enough sample."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from services.supervision.metrics.schemas import MetricsRow

INSUFFICIENT_SAMPLE = "样本不足"

# rate -> (numerator, denominator); dispatch_rate's denominator is received minus excluded (computed below).
RATIOS: dict[str, tuple[str, str]] = {
    "on_time_accept_rate": ("accepted_on_time", "assignments"),
    "decline_rate": ("declined", "assignments"),
    "on_time_reply_rate": ("replied_on_time", "reply_due"),
    "closure_rate": ("closed", "dispatched"),
    "satisfaction_rate": ("satisfied", "rated"),
    "unrated_share": ("unrated", "closed"),
    "rework_rate": ("reworked", "replied"),
    "meeting_rate": ("met", "suggestions_replied"),
    # The 12345 triple: response (on-time accept), resolution (A-class replies) and satisfaction.
    "response_rate": ("accepted_on_time", "assignments"),
    "resolution_rate": ("resolved", "replied"),
}


@dataclass(frozen=True)
class Weights:
    """The triple's weights in percent (they sum to 100)."""

    response: int = 30
    resolution: int = 35
    satisfaction: int = 35


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def rates(counts: Mapping[str, int]) -> dict[str, float | None]:
    out: dict[str, float | None] = {
        "dispatch_rate": _ratio(counts["dispatched"], counts["received"] - counts["excluded"])
    }
    for name, (numerator, denominator) in RATIOS.items():
        out[name] = _ratio(counts[numerator], counts[denominator])
    return out


def score(row_rates: Mapping[str, float | None], weights: Weights) -> float | None:
    """The weighted mean of the triple's defined parts, 0..100 (rounded to 2 places); null if none is."""
    parts = [
        (weights.response, row_rates["response_rate"]),
        (weights.resolution, row_rates["resolution_rate"]),
        (weights.satisfaction, row_rates["satisfaction_rate"]),
    ]
    defined = [(weight, rate) for weight, rate in parts if rate is not None and weight > 0]
    total_weight = sum(weight for weight, _ in defined)
    if not total_weight:
        return None
    return round(100 * sum(weight * rate for weight, rate in defined) / total_weight, 2)


def rank(rows: list[MetricsRow], min_sample: int) -> None:
    """Ranks departments by score (ties share a rank: 1, 1, 3) among those with at least ``min_sample``
    dispatched cases; the others get no rank and 样本不足."""
    ranked: list[MetricsRow] = []
    for row in rows:
        if row.counts["dispatched"] < min_sample:
            row.rank, row.rank_note = None, INSUFFICIENT_SAMPLE
        elif row.score is not None:
            ranked.append(row)
    ranked.sort(key=lambda r: -(r.score or 0.0))
    previous: float | None = None
    current = 0
    for position, row in enumerate(ranked, start=1):
        if row.score != previous:
            current, previous = position, row.score
        row.rank = current
