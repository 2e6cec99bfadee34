"""A constructed set of cases whose every metric is known by hand (see HAND_TOTALS and HAND_DEPARTMENTS), for
the metrics tests: rows written directly, as intake, routing and supervision leave them, each case with a
case event so the rollup's trigger marks its day.

The cases, received in October 2026 (Beijing time); departments U (urban_mgmt), E (environment), S
(street_office); "due" is the reply deadline of round 0 in force:
  C1  citizen, sanitation, G1: U lead accepted on time, replied A before due, rated satisfied, closed
  C2  citizen, sanitation, G1: U accepted late; due moved by an approved extension (the old row superseded),
      replied B after the old due but before the new one, rated basically satisfied, closed
  C3  citizen, noise, G2, deputy: E lead replied A on time, S separate replied C late, U co-handler never
      accepted; closed unrated (no rating)
  C4  citizen, urban (top level), G1: U replied A on time, rated dissatisfied, in rework (round 1)
  C5  citizen, noise, G1: E accepted on time, due passed, no reply
  C6  citizen, sanitation, G2: U pending, accept window passed, due far in the future
  C7  merged into C1 (its assignment withdrawn)
  C8  rejected, never dispatched
  C9  no category, received 00:30 Beijing (the previous day in UTC): S declined, back in the queue; S's reply
      deadline superseded
  C10 deputy suggestion, environment (top level), G2: E met the deputy face to face on the day of its reply,
      replied A, the deputy rated satisfied (a stray citizen rating is ignored), closed
  C11 deputy suggestion, sanitation, G1: U consulted by phone before and face to face only after its reply B;
      not yet rated
  plus a case of 30 September (outside the period) and a case of another jurisdiction.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from shared.db.models import (
    Assignment,
    Case,
    CaseEvent,
    Consultation,
    Deadline,
    Feedback,
    Jurisdiction,
    Reply,
)
from tests.factories import World

SHANGHAI = ZoneInfo("Asia/Shanghai")
FIRST, LAST = date(2026, 10, 1), date(2026, 10, 31)
FAR = datetime(2099, 1, 1, tzinfo=SHANGHAI)
_numbers = itertools.count(1)


def at(month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


HAND_TOTALS = {
    "received": 11,
    "excluded": 2,  # C7, C8
    "dispatched": 9,  # all but C7 (excluded) and C8; C9 was dispatched before S declined
    "replied": 6,  # C1 C2 C3 C4 C10 C11
    "reply_due": 7,  # the replied ones and C5; C6's deadline is ahead, C9's superseded
    "replied_on_time": 5,  # C1 C2 (extension) C4 C10 C11; C3's S replied late
    "closed": 4,  # C1 C2 C3 C10
    "rated": 4,  # C1 C2 C4 C10
    "satisfied": 3,  # C1 C2 C10
    "basically_satisfied": 1,  # C2
    "unrated": 1,  # C3
    "reworked": 1,  # C4
    "resolved": 4,  # C1 C3 C4 C10
    "suggestions_replied": 2,  # C10 C11
    "met": 1,  # C10
    "assignments": 11,  # C3 has 3, C7's is withdrawn
    "accepted_on_time": 7,  # C1 C3(E) C3(S) C4 C5 C10 C11
    "declined": 1,  # C9
}
HAND_RATES = {
    "dispatch_rate": 9 / 9,
    "on_time_accept_rate": 7 / 11,
    "decline_rate": 1 / 11,
    "on_time_reply_rate": 5 / 7,
    "closure_rate": 4 / 9,
    "satisfaction_rate": 3 / 4,
    "unrated_share": 1 / 4,
    "rework_rate": 1 / 6,
    "meeting_rate": 1 / 2,
    "response_rate": 7 / 11,
    "resolution_rate": 4 / 6,
}
HAND_SCORE = round(30 * 7 / 11 + 35 * 4 / 6 + 35 * 3 / 4, 2)  # 68.67
_ZERO = dict.fromkeys(HAND_TOTALS, 0)
HAND_DEPARTMENTS = {
    # U: lead of C1 C2 C4 C6 C11, co-handler of C3 (assignment counts only); C7's assignment withdrawn.
    "urban_mgmt": {
        **_ZERO,
        "received": 5,
        "dispatched": 5,
        "replied": 4,
        "reply_due": 4,
        "replied_on_time": 4,
        "closed": 2,
        "rated": 3,
        "satisfied": 2,
        "basically_satisfied": 1,
        "reworked": 1,
        "resolved": 2,
        "suggestions_replied": 1,
        "assignments": 6,
        "accepted_on_time": 3,
    },
    # E: lead of C3 (its own reply on time), C5, C10.
    "environment": {
        **_ZERO,
        "received": 3,
        "dispatched": 3,
        "replied": 2,
        "reply_due": 3,
        "replied_on_time": 2,
        "closed": 2,
        "rated": 1,
        "satisfied": 1,
        "unrated": 1,
        "resolved": 2,
        "suggestions_replied": 1,
        "met": 1,
        "assignments": 3,
        "accepted_on_time": 3,
    },
    # S: separate on C3 (late, class C); declined C9 (its assignment counts, the case does not).
    "street_office": {
        **_ZERO,
        "received": 1,
        "dispatched": 1,
        "replied": 1,
        "reply_due": 1,
        "closed": 1,
        "unrated": 1,
        "assignments": 2,
        "accepted_on_time": 1,
        "declined": 1,
    },
}
# Scores: U 30*3/6 + 35*2/4 + 35*2/3; E 100; S (30*1/2 + 35*0) / 65 (no rating: satisfaction left out).
HAND_DEPARTMENT_SCORES = {
    "urban_mgmt": round(30 * 3 / 6 + 35 * 2 / 4 + 35 * 2 / 3, 2),
    "environment": 100.0,
    "street_office": round(100 * (30 * 1 / 2) / 65, 2),
}
TRACKING = {}  # case label -> tracking number, filled by build_set


@dataclass
class Built:
    cases: dict[str, Case]


class _Builder:
    def __init__(self, session: AsyncSession, world: World) -> None:
        self.session = session
        self.world = world
        self.jid = world.jurisdiction.id

    async def case(self, label: str, created: datetime, **fields: object) -> Case:
        category = fields.pop("category", None)
        grid = fields.pop("grid", None)
        case = Case(
            jurisdiction_id=self.jid,
            tracking_no=f"GS20261001-{next(_numbers):04d}",
            access_key_hash="x" * 64,
            description=f"测试事项{label}",
            created_at=created,
            category_id=self.world.categories[str(category)].id if category else None,
            grid_id=self.world.grids[str(grid)].id if grid else None,
            **fields,
        )
        self.session.add(case)
        await self.session.flush()
        self.session.add(
            CaseEvent(
                jurisdiction_id=self.jid,
                case_id=case.id,
                type="received",
                at=created,
                actor_type="citizen",
                to_status=case.status,
            )
        )
        TRACKING[label] = case.tracking_no
        return case

    async def assignment(self, case: Case, department: str, role: str, **fields: object) -> Assignment:
        assignment = Assignment(
            jurisdiction_id=self.jid,
            case_id=case.id,
            department_id=self.world.departments[department].id,
            role=role,
            dispatched_at=case.dispatched_at,
            **fields,
        )
        self.session.add(assignment)
        await self.session.flush()
        return assignment

    def deadline(
        self, case: Case, assignment: Assignment, kind: str, due: datetime, **fields: object
    ) -> None:
        self.session.add(
            Deadline(
                jurisdiction_id=self.jid,
                case_id=case.id,
                assignment_id=assignment.id,
                kind=kind,
                round=fields.pop("round", 0),
                starts_at=assignment.dispatched_at,
                due_at=due,
                **fields,
            )
        )

    def reply(self, case: Case, assignment: Assignment, reply_class: str, when: datetime) -> None:
        self.session.add(
            Reply(
                jurisdiction_id=self.jid,
                case_id=case.id,
                assignment_id=assignment.id,
                department_id=assignment.department_id,
                reply_class=reply_class,
                text="答复",
                round=0,
                created_at=when,
            )
        )

    def feedback(self, case: Case, source: str, rating: str, when: datetime, round: int = 0) -> None:
        self.session.add(
            Feedback(
                jurisdiction_id=self.jid,
                case_id=case.id,
                source=source,
                rating=rating,
                round=round,
                created_at=when,
            )
        )

    def consultation(self, case: Case, assignment: Assignment, mode: str, held_on: date) -> None:
        self.session.add(
            Consultation(
                jurisdiction_id=self.jid,
                case_id=case.id,
                assignment_id=assignment.id,
                department_id=assignment.department_id,
                deputy_id=self.world.deputy.id,
                held_on=held_on,
                mode=mode,
            )
        )


async def build_set(session: AsyncSession, world: World) -> Built:
    """The cases above, committed."""
    b = _Builder(session, world)
    cases: dict[str, Case] = {}
    station, deputy = world.station.id, world.deputy.id

    c = cases["C1"] = await b.case(
        "C1", at(10, 12, 9), status="closed", close_reason="rated", category="urban.sanitation", grid="G1",
        station_id=station, dispatched_at=at(10, 12, 10), replied_at=at(10, 14, 10), closed_at=at(10, 15),
    )  # fmt: skip
    a = await b.assignment(c, "urban_mgmt", "lead", status="replied", accepted_at=at(10, 12, 15),
                           replied_at=at(10, 14, 10))  # fmt: skip
    b.deadline(c, a, "accept", at(10, 13, 10), met_at=at(10, 12, 15))
    b.deadline(c, a, "reply", at(10, 19, 10), met_at=at(10, 14, 10))
    b.reply(c, a, "A", at(10, 14, 10))
    b.feedback(c, "citizen", "satisfied", at(10, 15))

    c = cases["C2"] = await b.case(
        "C2", at(10, 12, 11), status="closed", close_reason="rated", category="urban.sanitation", grid="G1",
        station_id=station, dispatched_at=at(10, 12, 12), replied_at=at(10, 22, 9), closed_at=at(10, 23),
    )  # fmt: skip
    a = await b.assignment(c, "urban_mgmt", "lead", status="replied", accepted_at=at(10, 14, 9),
                           replied_at=at(10, 22, 9))  # fmt: skip
    b.deadline(c, a, "accept", at(10, 13, 12), met_at=at(10, 14, 9))
    b.deadline(c, a, "reply", at(10, 19, 12), superseded_at=at(10, 18))  # moved by the extension
    b.deadline(c, a, "reply", at(10, 26, 12), met_at=at(10, 22, 9))
    b.reply(c, a, "B", at(10, 22, 9))
    b.feedback(c, "citizen", "basically_satisfied", at(10, 23))

    c = cases["C3"] = await b.case(
        "C3", at(10, 13, 8), status="closed", close_reason="unrated", category="environment.noise", grid="G2",
        station_id=station, deputy_id=deputy, dispatched_at=at(10, 13, 9), replied_at=at(10, 21, 10),
        closed_at=at(10, 31),
    )  # fmt: skip
    e = await b.assignment(c, "environment", "lead", status="replied", accepted_at=at(10, 13, 10),
                           replied_at=at(10, 19, 10))  # fmt: skip
    s = await b.assignment(c, "street_office", "separate", status="replied", accepted_at=at(10, 13, 11),
                           replied_at=at(10, 21, 10))  # fmt: skip
    u = await b.assignment(c, "urban_mgmt", "co", status="pending")
    for assignment in (e, s, u):
        b.deadline(c, assignment, "accept", at(10, 14, 9))
    b.deadline(c, e, "reply", at(10, 20, 9), met_at=at(10, 19, 10))
    b.deadline(c, s, "reply", at(10, 20, 9), met_at=at(10, 21, 10))
    b.reply(c, e, "A", at(10, 19, 10))
    b.reply(c, s, "C", at(10, 21, 10))

    c = cases["C4"] = await b.case(
        "C4", at(10, 13, 10), status="rework", rework_round=1, category="urban", grid="G1",
        dispatched_at=at(10, 13, 11), replied_at=at(10, 15, 10),
    )  # fmt: skip
    a = await b.assignment(c, "urban_mgmt", "lead", status="accepted", accepted_at=at(10, 13, 12))
    b.deadline(c, a, "accept", at(10, 14, 11), met_at=at(10, 13, 12))
    b.deadline(c, a, "reply", at(10, 20, 11), met_at=at(10, 15, 10))
    b.deadline(c, a, "reply", FAR, round=1)
    b.reply(c, a, "A", at(10, 15, 10))
    b.feedback(c, "citizen", "dissatisfied", at(10, 16))

    c = cases["C5"] = await b.case(
        "C5", at(10, 19, 9), status="in_progress", category="environment.noise", grid="G1",
        dispatched_at=at(10, 19, 10),
    )  # fmt: skip
    a = await b.assignment(c, "environment", "lead", status="accepted", accepted_at=at(10, 19, 15))
    b.deadline(c, a, "accept", at(10, 20, 10), met_at=at(10, 19, 15))
    b.deadline(c, a, "reply", at(10, 21, 10))

    c = cases["C6"] = await b.case(
        "C6", at(10, 19, 11), status="dispatched", category="urban.sanitation", grid="G2",
        dispatched_at=at(10, 19, 12),
    )  # fmt: skip
    a = await b.assignment(c, "urban_mgmt", "lead", status="pending")
    b.deadline(c, a, "accept", at(10, 20, 12))
    b.deadline(c, a, "reply", FAR)

    c = cases["C7"] = await b.case(
        "C7", at(10, 12, 13), status="merged", category="urban.sanitation", grid="G1",
        dispatched_at=at(10, 12, 14), duplicate_of_id=cases["C1"].id,
    )  # fmt: skip
    a = await b.assignment(c, "urban_mgmt", "lead", status="withdrawn", withdrawn_at=at(10, 12, 16))
    b.deadline(c, a, "accept", at(10, 13, 14), superseded_at=at(10, 12, 16))

    cases["C8"] = await b.case("C8", at(10, 19, 13), status="rejected")

    c = cases["C9"] = await b.case("C9", at(10, 12, 0, 30), status="received", dispatched_at=at(10, 12, 1))
    a = await b.assignment(c, "street_office", "lead", status="declined", declined_at=at(10, 12, 9))
    b.deadline(c, a, "accept", at(10, 13, 1), superseded_at=at(10, 12, 9))
    b.deadline(c, a, "reply", at(10, 19, 1), superseded_at=at(10, 12, 9))

    c = cases["C10"] = await b.case(
        "C10", at(10, 19, 14), kind="deputy_suggestion", status="closed", close_reason="rated",
        category="environment", grid="G2", deputy_id=deputy, dispatched_at=at(10, 19, 15),
        replied_at=at(10, 21, 16), closed_at=at(10, 22),
    )  # fmt: skip
    a = await b.assignment(c, "environment", "lead", status="replied", accepted_at=at(10, 20, 9),
                           replied_at=at(10, 21, 16))  # fmt: skip
    b.deadline(c, a, "accept", at(10, 20, 15), met_at=at(10, 20, 9))
    b.deadline(c, a, "reply", at(12, 31, 15), met_at=at(10, 21, 16))
    b.consultation(c, a, "face", date(2026, 10, 21))
    b.reply(c, a, "A", at(10, 21, 16))
    b.feedback(c, "deputy", "satisfied", at(10, 22))
    b.feedback(c, "citizen", "dissatisfied", at(10, 22))  # not the rater of a suggestion: ignored

    c = cases["C11"] = await b.case(
        "C11", at(10, 19, 15), kind="deputy_suggestion", status="replied", category="urban.sanitation",
        grid="G1", deputy_id=deputy, dispatched_at=at(10, 19, 16), replied_at=at(10, 21, 10),
    )  # fmt: skip
    a = await b.assignment(c, "urban_mgmt", "lead", status="replied", accepted_at=at(10, 19, 17),
                           replied_at=at(10, 21, 10))  # fmt: skip
    b.deadline(c, a, "accept", at(10, 20, 16), met_at=at(10, 19, 17))
    b.deadline(c, a, "reply", at(12, 31, 16), met_at=at(10, 21, 10))
    b.consultation(c, a, "phone", date(2026, 10, 20))
    b.consultation(c, a, "face", date(2026, 10, 24))
    b.reply(c, a, "B", at(10, 21, 10))

    # Outside the period, and in another jurisdiction: counted nowhere.
    c = await b.case("C0", at(9, 30, 23, 30), status="received", category="urban", grid="G1")
    other = Jurisdiction(code="MLX", name="木渎")
    session.add(other)
    await session.flush()
    session.add(
        Case(
            jurisdiction_id=other.id,
            tracking_no="MLX20261012-0001",
            access_key_hash="x" * 64,
            description="别处的事项",
            created_at=at(10, 12, 9),
            status="received",
        )
    )
    await session.commit()
    return Built(cases=cases)
