"""The facts behind every metric, counted from the raw rows in one SQL statement: per case (dimension all and
the case's own dimensions) and per case and department (dimension department). The rollup, the direct
queries and the traces all read these same rows, so their numbers always agree.

Per case (``case rows``), each count 0 or 1 (``assignments``, ``accepted_on_time`` and ``declined`` count the
case's assignments):
  received             every case
  excluded             merged or rejected; such a case counts nothing else of its own
  dispatched           dispatched at some point (dispatched_at set)
  replied              reached ``replied`` at least once (replied_at set: every lead and separate unit answered)
  reply_due            replied, or a reply deadline of round 0 in force has passed
  replied_on_time      replied, and every lead and separate unit's first round-0 reply came no later than its
                       round-0 reply deadline in force (an approved extension supersedes the old row)
  closed               closed now
  rated                the rater (the citizen; the deputy for a suggestion) rated at least once
  satisfied            the rater's latest rating is satisfied or basically satisfied
  basically_satisfied  of them, basically satisfied (基本满意)
  unrated              closed, and closed as unrated or never rated
  reworked             went to rework at least once (rework_round > 0)
  resolved             replied, with an A-class (solved) reply
  suggestions_replied  a deputy suggestion replied
  met                  of those, a face-to-face consultation (面商) held on or before the day of the first reply
  assignments          the case's assignments, any role, declined ones included, withdrawn ones left out
  accepted_on_time     of them, accepted no later than the accept deadline in force
  declined             of them, declined

Per case and department (``department rows``): one row for each department with an assignment that is not
withdrawn. The case counts only for a department with a lead or separate assignment it still holds (not
declined, not withdrawn), and the reply counts are that department's own: replied (it answered), reply_due,
replied_on_time, resolved (its reply was A-class), suggestions_replied and met (its own 面商 before its
reply); the assignment counts are that department's assignments.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.calendar import SHANGHAI
from shared.db.models.metrics import METRIC_COUNTS

Mode = Literal["case", "department"]

# The case dimensions of a case row, with the column holding each one's key (0 when the case has none).
CASE_DIMS: dict[str, str] = {
    "category": "category_key",
    "top_category": "top_category_key",
    "committee": "committee_key",
    "station": "station_key",
    "deputy": "deputy_key",
    "grid": "grid_key",
}
DIM_COLUMNS: dict[str, str] = {**CASE_DIMS, "department": "department_key"}


@dataclass(frozen=True)
class FactScope:
    """The cases to count: a jurisdiction's cases received in [start, end) and matching every filter (dimension
    name -> key; ``department`` selects the cases with a non-withdrawn assignment of that department)."""

    jurisdiction_id: int
    start: datetime
    end: datetime
    now: datetime
    kind: str | None = None
    filters: dict[str, int] = field(default_factory=dict)


def day_range(first: date, last: date) -> tuple[datetime, datetime]:
    """The moments from the start of Beijing day ``first`` to the end of ``last``."""
    start = datetime.combine(first, time.min, tzinfo=SHANGHAI)
    end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=SHANGHAI)
    return start, end


def _base(scope: FactScope, params: dict[str, Any]) -> str:
    where = ["c.jurisdiction_id = :j", "c.created_at >= :start", "c.created_at < :end"]
    params.update(j=scope.jurisdiction_id, start=scope.start, end=scope.end, now=scope.now)
    if scope.kind is not None:
        where.append("c.kind = :kind")
        params["kind"] = scope.kind
    for dim, key in sorted(scope.filters.items()):
        params[f"f_{dim}"] = key
        if dim == "department":
            where.append(
                "EXISTS (SELECT 1 FROM assignments fa WHERE fa.case_id = c.id"
                " AND fa.department_id = :f_department AND fa.status <> 'withdrawn')"
            )
        else:
            where.append(f"{_KEY_EXPRESSIONS[dim]} = :f_{dim}")
    return _BASE.format(keys=_KEY_SELECT, where=" AND ".join(where))


_KEY_EXPRESSIONS = {
    "category": "COALESCE(c.category_id, 0)",
    "top_category": "COALESCE(cat.parent_id, c.category_id, 0)",
    "committee": "COALESCE(cat.committee_id, top.committee_id, 0)",
    "station": "COALESCE(c.station_id, 0)",
    "deputy": "COALESCE(c.deputy_id, 0)",
    "grid": "COALESCE(c.grid_id, 0)",
}

_KEY_SELECT = ",\n".join(
    f"        {expression} AS {CASE_DIMS[dim]}" for dim, expression in _KEY_EXPRESSIONS.items()
)
_BASE = """
base AS (
    SELECT c.id, (c.created_at AT TIME ZONE 'Asia/Shanghai')::date AS day, c.kind, c.status,
        c.dispatched_at, c.replied_at, c.rework_round, c.close_reason,
        c.status IN ('merged', 'rejected') AS excluded,
{keys}
    FROM cases c
    LEFT JOIN categories cat ON cat.id = c.category_id
    LEFT JOIN categories top ON top.id = cat.parent_id
    WHERE {where}
)"""

# Replies and deadlines per assignment, the assignments with their own facts, then the rater's latest
# rating and the first 面商 per case (and department).
_COMMON = """
rep AS (
    SELECT r.case_id, r.assignment_id,
        min(r.created_at) FILTER (WHERE r.round = 0) AS first0,
        min(r.created_at) AS first_any,
        bool_or(r.reply_class = 'A') AS any_a
    FROM replies r JOIN base ON base.id = r.case_id
    GROUP BY r.case_id, r.assignment_id
),
asg AS (
    SELECT a.case_id, a.department_id,
        (a.role IN ('lead', 'separate') AND a.status NOT IN ('declined', 'withdrawn')) AS answering,
        a.status = 'declined' AS declined,
        COALESCE(a.accepted_at <= acc.due_at, false) AS accepted_on_time,
        rdl.due_at AS reply_due,
        COALESCE(rep.first_any, a.replied_at) AS first_any,
        COALESCE(rep.first0, CASE WHEN base.rework_round = 0 THEN a.replied_at END) AS first0,
        COALESCE(rep.any_a, false) AS any_a
    FROM assignments a
    JOIN base ON base.id = a.case_id
    LEFT JOIN deadlines acc ON acc.assignment_id = a.id AND acc.kind = 'accept' AND acc.round = 0
        AND acc.superseded_at IS NULL
    LEFT JOIN deadlines rdl ON rdl.assignment_id = a.id AND rdl.kind = 'reply' AND rdl.round = 0
        AND rdl.superseded_at IS NULL
    LEFT JOIN rep ON rep.assignment_id = a.id
    WHERE a.status <> 'withdrawn'
),
fb AS (
    SELECT DISTINCT ON (f.case_id) f.case_id, f.rating
    FROM feedback f JOIN base ON base.id = f.case_id
    WHERE f.source = CASE WHEN base.kind = 'deputy_suggestion' THEN 'deputy' ELSE 'citizen' END
    ORDER BY f.case_id, f.round DESC, f.created_at DESC, f.id DESC
),
face AS (
    SELECT co.case_id, co.department_id, min(co.held_on) AS first_face
    FROM consultations co JOIN base ON base.id = co.case_id
    WHERE co.mode = 'face'
    GROUP BY co.case_id, co.department_id
),
cf AS (
    SELECT base.*,
        NOT base.excluded AS live,
        NOT base.excluded AND base.replied_at IS NOT NULL AS replied,
        NOT base.excluded AND base.status = 'closed' AS closed,
        fb.rating
    FROM base LEFT JOIN fb ON fb.case_id = base.id
)"""

_CASE_ROWS = """
acase AS (
    SELECT case_id,
        count(*) AS assignments,
        count(*) FILTER (WHERE accepted_on_time) AS accepted_on_time,
        count(*) FILTER (WHERE declined) AS declined,
        bool_or(answering AND reply_due <= :now) AS deadline_passed,
        bool_and(COALESCE(first0 <= reply_due, false)) FILTER (WHERE answering) AS all_on_time
    FROM asg GROUP BY case_id
),
crep AS (
    SELECT case_id, min(first_any) AS first_reply, bool_or(any_a) AS any_a FROM rep GROUP BY case_id
),
cface AS (SELECT case_id, min(first_face) AS first_face FROM face GROUP BY case_id),
case_rows AS (
    SELECT cf.id, cf.day, cf.kind, {keys},
        1 AS received,
        cf.excluded::int AS excluded,
        (cf.live AND cf.dispatched_at IS NOT NULL)::int AS dispatched,
        cf.replied::int AS replied,
        (cf.live AND (cf.replied OR COALESCE(ac.deadline_passed, false)))::int AS reply_due,
        (cf.replied AND COALESCE(ac.all_on_time, false))::int AS replied_on_time,
        cf.closed::int AS closed,
        (cf.live AND cf.rating IS NOT NULL)::int AS rated,
        (cf.live AND cf.rating IN ('satisfied', 'basically_satisfied'))::int AS satisfied,
        (cf.live AND cf.rating = 'basically_satisfied')::int AS basically_satisfied,
        (cf.closed AND (cf.close_reason = 'unrated' OR cf.rating IS NULL))::int AS unrated,
        (cf.live AND cf.rework_round > 0)::int AS reworked,
        (cf.replied AND COALESCE(cr.any_a, false))::int AS resolved,
        (cf.replied AND cf.kind = 'deputy_suggestion')::int AS suggestions_replied,
        (cf.replied AND cf.kind = 'deputy_suggestion'
            AND cx.first_face <= (cr.first_reply AT TIME ZONE 'Asia/Shanghai')::date)::int AS met,
        COALESCE(ac.assignments, 0)::int AS assignments,
        COALESCE(ac.accepted_on_time, 0)::int AS accepted_on_time,
        COALESCE(ac.declined, 0)::int AS declined
    FROM cf
    LEFT JOIN acase ac ON ac.case_id = cf.id
    LEFT JOIN crep cr ON cr.case_id = cf.id
    LEFT JOIN cface cx ON cx.case_id = cf.id
)"""

_DEPARTMENT_ROWS = """
adept AS (
    SELECT case_id, department_id,
        bool_or(answering) AS member,
        count(*) AS assignments,
        count(*) FILTER (WHERE accepted_on_time) AS accepted_on_time,
        count(*) FILTER (WHERE declined) AS declined,
        bool_or(answering AND first_any IS NOT NULL) AS replied,
        bool_or(answering AND reply_due <= :now) AS deadline_passed,
        bool_and(COALESCE(first0 <= reply_due, false)) FILTER (WHERE answering) AS all_on_time,
        bool_or(answering AND any_a) AS any_a,
        min(first_any) FILTER (WHERE answering) AS first_reply
    FROM asg {department_filter} GROUP BY case_id, department_id
),
department_rows AS (
    SELECT cf.id, cf.day, cf.kind, {keys}, ad.department_id AS department_key,
        ad.member::int AS received,
        (ad.member AND cf.excluded)::int AS excluded,
        (ad.member AND cf.live AND cf.dispatched_at IS NOT NULL)::int AS dispatched,
        (ad.member AND cf.live AND ad.replied)::int AS replied,
        (ad.member AND cf.live AND (ad.replied OR COALESCE(ad.deadline_passed, false)))::int AS reply_due,
        (ad.member AND cf.live AND ad.replied AND COALESCE(ad.all_on_time, false))::int AS replied_on_time,
        (ad.member AND cf.closed)::int AS closed,
        (ad.member AND cf.live AND cf.rating IS NOT NULL)::int AS rated,
        (ad.member AND cf.live AND cf.rating IN ('satisfied', 'basically_satisfied'))::int AS satisfied,
        (ad.member AND cf.live AND cf.rating = 'basically_satisfied')::int AS basically_satisfied,
        (ad.member AND cf.closed AND (cf.close_reason = 'unrated' OR cf.rating IS NULL))::int AS unrated,
        (ad.member AND cf.live AND cf.rework_round > 0)::int AS reworked,
        (ad.member AND cf.live AND ad.replied AND ad.any_a)::int AS resolved,
        (ad.member AND cf.live AND ad.replied AND cf.kind = 'deputy_suggestion')::int
            AS suggestions_replied,
        (ad.member AND cf.live AND ad.replied AND cf.kind = 'deputy_suggestion'
            AND fx.first_face <= (ad.first_reply AT TIME ZONE 'Asia/Shanghai')::date)::int AS met,
        ad.assignments::int AS assignments,
        ad.accepted_on_time::int AS accepted_on_time,
        ad.declined::int AS declined
    FROM adept ad
    JOIN cf ON cf.id = ad.case_id
    LEFT JOIN face fx ON fx.case_id = ad.case_id AND fx.department_id = ad.department_id
)"""

_KEYS = ", ".join(f"cf.{column}" for column in CASE_DIMS.values())


def fact_ctes(scope: FactScope, modes: tuple[Mode, ...], params: dict[str, Any]) -> str:
    """``WITH ...`` defining ``case_rows`` and/or ``department_rows`` for the scope (binds into ``params``)."""
    parts = [_base(scope, params), _COMMON]
    if "case" in modes:
        parts.append(_CASE_ROWS.format(keys=_KEYS))
    if "department" in modes:
        department_filter = ""
        if "department" in scope.filters:
            department_filter = "WHERE department_id = :f_department"
        parts.append(_DEPARTMENT_ROWS.format(keys=_KEYS, department_filter=department_filter))
    return "WITH " + ",".join(parts)


async def without_jit(session: AsyncSession) -> None:
    """The facts statement is large and its row estimates poor: PostgreSQL's JIT would spend ~1.5 s compiling
    it (measured at 50k cases) to save far less; off for the rest of this transaction. Each execution is also
    planned for its own values: the driver prepares statements, and from the sixth run of the same text on a
    connection PostgreSQL may switch to a generic plan that cannot see how few cases the period and filters
    keep (make bench: a quarter of one grid by department, 0.25 s custom, 12 s generic at 50,000 cases)."""
    await session.execute(
        text(
            "SELECT set_config('jit', 'off', true), set_config('plan_cache_mode', 'force_custom_plan', true)"
        )
    )


def sums(prefix: str = "") -> str:
    """``sum(x) AS x`` for every count (a null fact, from a comparison with a missing value, counts 0)."""
    return ", ".join(f"COALESCE(sum({prefix}{name}), 0)::int AS {name}" for name in METRIC_COUNTS)
