"""The legal moves of a case (see the life of a case in the domain handbook)."""

from __future__ import annotations

from shared.db.enums import CaseStatus as S

TRANSITIONS: dict[S, frozenset[S]] = {
    S.received: frozenset({S.dispatched, S.merged, S.rejected}),
    # Back to received when every lead/separate department declined.
    S.dispatched: frozenset({S.in_progress, S.received, S.merged, S.rejected}),
    # A duplicate may be found after a department took it up; it still merges into the main case.
    S.in_progress: frozenset({S.replied, S.received, S.merged}),
    S.replied: frozenset({S.closed, S.rework}),
    S.rework: frozenset({S.replied}),
    # A follow-up (回头看) that finds the problem back reopens the case.
    S.closed: frozenset({S.rework}),
    # Unmerged (within a day of the merge): back to the state it was merged from.
    S.merged: frozenset({S.received, S.dispatched, S.in_progress}),
    S.rejected: frozenset(),
}


def can_transition(from_status: str, to_status: str) -> bool:
    try:
        return S(to_status) in TRANSITIONS[S(from_status)]
    except ValueError:
        return False
