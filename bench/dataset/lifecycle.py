"""One case's life, as far as its sampled final status: the steps the services take, with their rows.

Durations are sampled around what departments really take (hours to accept, days to reply, a long tail of
late ones); a case too young for its status has its steps squeezed into its age. Deadline windows are not
squeezed, so stuck old cases have lapsed open deadlines, as in production.
"""

from __future__ import annotations

import json
from bisect import bisect
from typing import Any

from bench.dataset.alarms import raise_alarms
from bench.dataset.rows import (
    ACCEPT,
    DAY,
    DECLINE,
    HOUR,
    NOMINAL,
    RATING,
    RATINGS,
    STATUS_TABLES,
    STATUSES,
    TEXTS,
    TIER_SECONDS,
    ChunkBuilder,
)

SYSTEM: tuple[str, int | None] = ("system", None)
DISPATCHER: tuple[str, int | None] = ("dispatcher", None)
ANSWERING = ("lead", "separate")
CLASSES = ("A",) * 11 + ("B",) * 6 + ("C",) * 2 + ("D",)


class _Case:
    """The state of the case being walked: its row's fields and its assignments (as dicts until emitted)."""

    def __init__(self, b: ChunkBuilder, i: int) -> None:
        self.b = b
        self.c = b.case_basics(i)
        self.id: int = self.c["id"]
        self.s: dict[str, Any] = {}
        self.assignments: list[dict[str, Any]] = []
        self.reply_deadlines: dict[int, list[Any]] = {}  # assignment id -> its open reply deadline row
        self.last = self.c["created"]
        self.rating: list[Any] = []  # the open rating deadline row of the latest round
        self.first_deadline = len(b._deadlines)  # this case's deadline rows start here

    def at(self, t: float) -> float:
        """A moment the case reached, as epoch seconds (the loader's COPY codec makes it a timestamptz:
        a datetime object per value would cost more than the rest of the row); never after now."""
        if t > self.b.now:
            t = self.b.now
        if t > self.last:
            self.last = t
        return t

    def department(self, a: dict[str, Any]) -> tuple[str, int | None]:
        return ("department", a["dept"])

    def unit_data(self, kind: str, dept: int, extra: tuple[Any, ...] = ()) -> str:
        """The data of an event by a department, as cached JSON text."""
        key = (kind, dept, *extra)
        found = self.b._json.get(key)
        if found is None:
            data: dict[str, Any] = {"department_id": dept, "department_name": self.b.w.department_names[dept]}
            if kind in ("replied", "assignment_replied"):
                data |= {"reply_class": extra[0], "text": extra[1]}
            elif kind in ("progress", "co_opinion"):
                data["text"] = extra[0]
            elif kind == "declined":
                data["reason"] = extra[0]
            found = self.b._json[key] = json.dumps(data, ensure_ascii=False)
        return found

    def assign(self, dept: int, role: str, at: float) -> dict[str, Any]:
        b = self.b
        a: dict[str, Any] = {
            "id": next(b.ids["assignments"]),
            "dept": dept,
            "role": role,
            "status": "pending",
            "dispatched": at,
        }
        a |= {"accepted": None, "declined": None, "reason": None, "suggested": None, "replied": None}
        self.assignments.append(a)
        tier = self.s["tier"]
        a["accept_deadline"] = b.deadline(self.id, a["id"], "accept", 0, "accept", at, at + ACCEPT)
        a["decline_deadline"] = b.deadline(self.id, a["id"], "decline", 0, "decline", at, at + DECLINE)
        if role in ANSWERING:
            self.reply_deadlines[a["id"]] = b.deadline(
                self.id, a["id"], "reply", 0, tier, at, at + TIER_SECONDS.get(tier, 7 * DAY)
            )
        return a

    def emit(self) -> None:
        b, jid = self.b, self.b.w.jurisdiction_id
        raise_alarms(self, self.first_deadline)
        for a in self.assignments:
            moments = [a[k] for k in ("dispatched", "accepted", "declined", "replied") if a[k] is not None]
            b.rows["assignments"].append(
                (
                    a["id"],
                    jid,
                    self.id,
                    a["dept"],
                    a["role"],
                    a["status"],
                    a["dispatched"],
                    None if a["accepted"] is None else a["accepted"],
                    None if a["declined"] is None else a["declined"],
                    a["reason"],
                    a["suggested"],
                    None if a["replied"] is None else a["replied"],
                    a.get("updated", max(moments)),
                )
            )
        self.s["updated"] = self.last
        b.case_row(self.c, self.s)


def walk(b: ChunkBuilder, i: int) -> None:
    r = b.rng.random
    case = _Case(b, i)
    c, s, cid = case.c, case.s, case.id
    t0 = c["created"]
    age = b.now - t0
    cumulative = next(table for limit, table in STATUS_TABLES if age < limit)
    target = STATUSES[bisect(cumulative, r() * cumulative[-1])]
    deputy = c["code"].deputy_id
    kind = "deputy_suggestion" if deputy is not None and r() < 0.03 else "citizen"
    x = r()
    urgency = "critical" if x < 0.01 else "urgent" if x < 0.08 else "normal"
    s |= {"status": target, "kind": kind, "urgency": urgency}
    scale = min(1.0, age / NOMINAL[target]) if NOMINAL[target] else 1.0
    submitter = ("deputy", deputy) if kind == "deputy_suggestion" else ("citizen", None)
    b.event(cid, "received", t0, submitter, True, (None, "received"), "{}")
    if target == "received":
        return case.emit()
    if target in ("rejected", "merged"):
        t = case.at(t0 + (HOUR + r() * DAY) * scale)
        if target == "merged" and cid > b.w.case_base:
            s["duplicate_of"] = cid - 1 - int(r() * min(cid - b.w.case_base, 500))
            data = b._data(("merged", s["duplicate_of"]), lambda: {"duplicate_of_id": s["duplicate_of"]})
        else:
            s["status"] = target = "rejected"
            data = b._data(("rejected",), lambda: {"reason": "不属于人大代表受理范围，已告知反映人其他渠道"})
        b.event(cid, target, t, DISPATCHER, True, ("received", target), data)
        return case.emit()

    leaf = c["leaf"]
    s["tier"] = (
        "critical"
        if urgency == "critical"
        else "deputy_suggestion"
        if deputy and kind != "citizen"
        else leaf.tier
    )
    td = case.at(t0 + (300 + r() * 8 * HOUR) * scale)
    s["dispatched"] = td
    w = b.w
    lead, co = w.routes.get(leaf.top, (w.departments[0], None))
    extras = w.extra_departments
    if r() < 0.25:  # street offices and utilities lead a good share of what the bureaus' rules route
        lead = extras[int(r() * len(extras))]
    units = [(lead, "lead")]
    if co is not None and co != lead and r() < 0.6:
        units.append((co, "co"))
    elif r() < 0.08:
        other = extras[int(r() * len(extras))]
        if other != lead:
            units.append((other, "co"))
    if r() < 0.04:
        other = w.departments[int(r() * len(w.departments))]
        if all(other != d for d, _ in units):
            units.append((other, "separate"))
    live = [case.assign(d, role, td) for d, role in units]
    names = tuple(d for d, _ in units)
    data = b._data(
        ("dispatched", names, s["tier"]),
        lambda: {"department_names": [w.department_names[d] for d in names], "tier": s["tier"]},
    )
    b.event(cid, "dispatched", td, SYSTEM, True, ("received", "dispatched"), data)
    if target == "dispatched":
        return case.emit()

    if r() < 0.05:  # the lead sends the case back; the dispatcher hands it to the unit it suggested
        old = live[0]
        t = case.at(td + (HOUR + r() * DAY) * scale)
        reason = TEXTS["decline"][int(r() * len(TEXTS["decline"]))]
        taken = {a["dept"] for a in live}
        start = int(r() * len(extras))
        new_dept = next(d for d in extras[start:] + extras[:start] if d not in taken)
        old |= {"status": "declined", "declined": t, "reason": reason, "suggested": new_dept}
        for key in ("accept_deadline", "decline_deadline"):
            old[key][10] = t  # superseded: a department that declined drops out with its deadlines
        case.reply_deadlines.pop(old["id"])[10] = t
        data = case.unit_data("declined", old["dept"], (reason,))
        b.event(cid, "declined", t, case.department(old), False, (None, None), data)
        t2 = case.at(t + (600 + r() * 4 * HOUR) * scale)
        live[0] = case.assign(new_dept, "lead", t2)
        data = b._data(
            ("dispatched", (new_dept,), s["tier"]),
            lambda: {"department_names": [w.department_names[new_dept]], "tier": s["tier"]},
        )
        b.event(cid, "dispatched", t2, SYSTEM, True, (None, None), data)
    for n, a in enumerate(live):
        t = case.at(a["dispatched"] + (600 + r() * r() * 1.5 * DAY) * scale)
        a |= {"status": "accepted", "accepted": t}
        a["accept_deadline"][9] = a["decline_deadline"][9] = t  # accepting settles both windows
        change = ("dispatched", "in_progress") if n == 0 else (None, None)
        b.event(cid, "accepted", t, case.department(a), True, change, case.unit_data("accepted", a["dept"]))
    first = live[0]
    for _ in range(2 if r() < 0.15 else 1 if r() < 0.45 else 0):
        t = case.at(first["accepted"] + r() * 3 * DAY * scale)
        text = TEXTS["progress"][int(r() * len(TEXTS["progress"]))]
        b.event(
            cid,
            "progress",
            t,
            case.department(first),
            r() < 0.7,
            (None, None),
            case.unit_data("progress", first["dept"], (text,)),
        )
    lead_due = next((d[8] for d in case.reply_deadlines.values()), None)
    for a in live:
        if a["role"] == "co" and lead_due is not None:
            due = max(lead_due - 7 * DAY, a["dispatched"])
            row = b.deadline(cid, a["id"], "co_opinion", 0, None, a["dispatched"], due)
            if target != "in_progress" or r() < 0.5:
                t = case.at(a["accepted"] + (DAY / 2 + r() * 5 * DAY) * scale)
                row[9] = t
                text = TEXTS["opinion"][int(r() * len(TEXTS["opinion"]))]
                b.event(
                    cid,
                    "co_opinion",
                    t,
                    case.department(a),
                    False,
                    (None, None),
                    case.unit_data("co_opinion", a["dept"], (text,)),
                )
    if target == "in_progress":
        return case.emit()

    answering = [a for a in live if a["role"] in ANSWERING]
    replied = _reply_round(case, answering, 0, max(a["accepted"] for a in answering), "in_progress", scale)
    if target == "replied":
        return case.emit()
    if target == "rework" or r() < 0.07:
        again = _rework(case, answering, replied, target, scale)
        if again is None:
            return case.emit()
        replied = again
    _close(case, replied, scale)
    case.emit()


def _reply_round(
    case: _Case, answering: list[dict[str, Any]], round_: int, start: float, from_status: str, scale: float
) -> float:
    """Every answering department replies; the last reply moves the case to replied and opens rating."""
    b, cid, r = case.b, case.id, case.b.rng.random
    replies = []
    for a in answering:
        t = case.at(max(start, a["accepted"]) + (4 * HOUR + r() * r() * 9 * DAY) * scale)
        cls, text = CLASSES[int(r() * len(CLASSES))], TEXTS["reply"][int(r() * len(TEXTS["reply"]))]
        b.rows["replies"].append(
            (next(b.ids["replies"]), b.w.jurisdiction_id, cid, a["id"], a["dept"], cls, text, round_, t)
        )
        a |= {"status": "replied", "replied": t}
        case.reply_deadlines[a["id"]][9] = t
        replies.append((t, a, cls, text))
    replies.sort(key=lambda x: x[0])
    for n, (t, a, cls, text) in enumerate(replies):
        last = n == len(replies) - 1
        kind = "replied" if last else "assignment_replied"
        change = (from_status, "replied") if last else (None, None)
        b.event(cid, kind, t, case.department(a), True, change, case.unit_data(kind, a["dept"], (cls, text)))
    at = replies[-1][0]
    case.s["replied"] = at
    case.rating = b.deadline(cid, None, "rating", round_, "rating", at, at + RATING)
    return at


def _rework(
    case: _Case, answering: list[dict[str, Any]], replied: float, target: str, scale: float
) -> float | None:
    """The citizen is dissatisfied: a second round of replies (or, for a case still in rework, its start)."""
    b, cid, r = case.b, case.id, case.b.rng.random
    t = case.at(replied + (HOUR + r() * 4 * DAY) * scale)
    comment = TEXTS["comment"][4 + int(r() * 2)]
    b.rows["feedback"].append(
        (next(b.ids["feedback"]), b.w.jurisdiction_id, cid, "citizen", "dissatisfied", comment, 0, t)
    )
    data = b._data(
        ("feedback", "citizen", "dissatisfied", 0),
        lambda: {"source": "citizen", "rating": "dissatisfied", "round": 0},
    )
    b.event(cid, "feedback", t, ("citizen", None), True, (None, None), data)
    b.event(cid, "rework", t, ("citizen", None), True, ("replied", "rework"), '{"round": 1}')
    case.rating[10] = t
    case.s["round"] = 1
    for a in answering:
        a |= {"status": "accepted", "replied": None, "updated": t}
        case.reply_deadlines[a["id"]] = b.deadline(
            cid, a["id"], "reply", 1, "rework", t, t + TIER_SECONDS["rework"]
        )
    if target == "rework":
        return None
    for a in answering:
        del a["updated"]
    return _reply_round(case, answering, 1, t, "rework", scale)


def _close(case: _Case, replied: float, scale: float) -> None:
    b, cid, r, s = case.b, case.id, case.b.rng.random, case.s
    round_ = s.get("round", 0)
    jid = b.w.jurisdiction_id
    unrated_at = replied + RATING + r() * HOUR
    if r() < 0.8 or unrated_at >= b.now:
        t = case.at(replied + (HOUR + r() * 5 * DAY) * scale)
        rating = RATINGS[int(r() * 9)]  # satisfied or basically: a dissatisfied citizen reopens instead
        comment = TEXTS["comment"][int(r() * len(TEXTS["comment"]))]
        b.rows["feedback"].append((next(b.ids["feedback"]), jid, cid, "citizen", rating, comment, round_, t))
        data = b._data(
            ("feedback", "citizen", rating, round_),
            lambda: {"source": "citizen", "rating": rating, "round": round_},
        )
        b.event(cid, "feedback", t, ("citizen", None), True, (None, None), data)
        b.event(cid, "closed", t, ("citizen", None), True, ("replied", "closed"), '{"reason": "rated"}')
        s["close_reason"] = "rated"
    else:
        t = case.at(unrated_at)
        b.event(cid, "closed", t, SYSTEM, True, ("replied", "closed"), '{"reason": "unrated"}')
        s["close_reason"] = "unrated"
    case.rating[9] = t
    s["closed"] = t
    deputy = case.c["code"].deputy_id
    if deputy is not None and r() < 0.15:  # the deputy who took the case rates it too
        t2 = case.at(t + r() * 2 * DAY * scale)
        rating = RATINGS[int(r() * len(RATINGS))]
        b.rows["feedback"].append((next(b.ids["feedback"]), jid, cid, "deputy", rating, None, round_, t2))
        data = b._data(
            ("feedback", "deputy", rating, round_),
            lambda: {"source": "deputy", "rating": rating, "round": round_},
        )
        b.event(cid, "feedback", t2, ("deputy", deputy), True, (None, None), data)
