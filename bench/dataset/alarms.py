"""What the alarm scan and the escalation ladder leave on a generated case: each deadline's due-soon and
overdue moments (the trigger that sets them in production is off during the COPY), the alarms the worker
raised (stamps and events), and the automatic steps up the ladder with their history.

Alarms whose moment came in the last ``RECENT`` seconds before the dataset's "now" are left unraised, as are
those that come due while the dataset loads and the reads run: that is the backlog a scan pass finds.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bench.dataset.lifecycle import _Case

DUE_SOON_FRACTION, OVERDUE_FRACTION = 0.75, 1.0  # the policy defaults (no supervision_settings row)
RECENT = 300.0  # seconds
LAG = 15.0  # how long after its moment the scheduler raised an alarm: half the default interval
ESCALATES = {"accept": "reminder", "reply": "formal"}
NOTES = {"reminder": "签收超期，自动催办", "formal": "答复超期，自动督办"}
RANK = {None: 0, "reminder": 1, "formal": 2}
SYSTEM: tuple[str, int | None] = ("system", None)


def raise_alarms(case: _Case, first: int) -> None:
    """Completes the case's deadline rows from index ``first`` with their four alarm columns, writes the
    alarm events, and the supervision level the overdue accepts and replies brought."""
    b = case.b
    cutoff = b.now - RECENT
    steps: list[tuple[float, str]] = []
    for row in b._deadlines[first:]:
        starts, due, met, superseded = row[7], row[8], row[9], row[10]
        ended = (
            min(t for t in (met, superseded) if t is not None) if (met, superseded) != (None, None) else None
        )
        moments = (starts + (due - starts) * DUE_SOON_FRACTION, starts + (due - starts) * OVERDUE_FRACTION)
        stamps: list[float | None] = []
        for type_, moment in zip(("due_soon", "overdue"), moments, strict=True):
            if moment > cutoff or (ended is not None and ended <= moment):
                stamps.append(None)
                continue
            at = min(moment + LAG, b.now)
            stamps.append(at)
            data = {"deadline_id": row[0], "kind": row[4], "assignment_id": row[3], "round": row[5]}
            data["due_at"] = datetime.fromtimestamp(due, UTC).isoformat()
            b.event(case.id, type_, at, SYSTEM, False, (None, None), json.dumps(data))
        row.extend((*moments, *stamps))
        if stamps[1] is not None and row[4] in ESCALATES:
            steps.append((stamps[1], ESCALATES[row[4]]))
    level: str | None = None
    for at, target in sorted(steps):
        if RANK[target] <= RANK[level]:
            continue
        _change(case, at, level, target)
        level = target
    case.s["supervision_level"] = level


def _change(case: _Case, at: float, previous: str | None, level: str) -> None:
    b = case.b
    change_id = next(b.ids["supervision_changes"])
    row: tuple[Any, ...] = (
        change_id, b.jid, case.id, level, previous, None, NOTES[level], "auto", "system", None, at,
    )  # fmt: skip
    b.rows["supervision_changes"].append(row)
    data = {"supervision_change_id": change_id, "level": level, "previous_level": previous}
    data |= {"lead_supervisor": None, "source": "auto", "note": NOTES[level]}
    b.event(
        case.id, "supervision_changed", at, SYSTEM, False, (None, None), json.dumps(data, ensure_ascii=False)
    )
