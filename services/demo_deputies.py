"""The demo's deputies at work: a roster of the coming contact days, receptions on the last ones, a
deputy's suggestion, a joint one (联名) and a citizen's case that came through a deputy's code and that
the deputy adopted. Written in the demo's transaction; the services dispatch the cases once they run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.contact.receptions import record_reception
from services.intake.contact.roster import put_roster
from services.intake.contact.schedule import station_contact_days, today
from services.intake.contact.schemas import ReceptionIn, RosterEntryIn, RosterIn
from services.intake.desk.adoption import adopt
from services.intake.desk.schemas import AdoptIn
from services.intake.desk.suggestions import Draft, open_suggestion
from services.intake.tracking_numbers import TrackingNumbers
from services.workflow.actors import CITIZEN
from services.workflow.service import open_case
from shared.db.enums import CaseKind, RequestType, Role, Urgency
from shared.db.models import Case, Deputy, IntakeCode, Station, TrackingCounter
from shared.security.apikeys import Principal
from shared.security.keys import new_access_key, sha256_hex


class _InSession(TrackingNumbers):
    """Tracking numbers reserved in the demo's own transaction (the jurisdiction is not committed yet, so
    the allocator's separate transaction could not see it)."""

    def __init__(self, session: AsyncSession) -> None:
        super().__init__(engine=None, block_size=1)  # type: ignore[arg-type]
        self._session = session

    async def _reserve(self, jurisdiction_id: int, day: date) -> int:
        statement = (
            insert(TrackingCounter)
            .values(jurisdiction_id=jurisdiction_id, day=day, next_value=2)
            .on_conflict_do_update(
                index_elements=[TrackingCounter.jurisdiction_id, TrackingCounter.day],
                set_={"next_value": TrackingCounter.next_value + 1},
            )
            .returning(TrackingCounter.next_value)
        )
        end: int = (await self._session.execute(statement)).scalar_one()
        return end


@dataclass(frozen=True)
class DemoDeputyWork:
    suggestions: list[str]  # tracking numbers
    adopted_case: str


RECEPTION_NOTES = [
    "主要反映老旧小区加装电梯、停车难等问题，当场答复政策咨询。",
    "群众关注河道保洁和夜间噪声，已登记并转交相关部门。",
]


async def load_deputy_work(
    session: AsyncSession,
    jurisdiction_id: int,
    stations: list[Station],
    deputies: list[Deputy],
    station_of: list[int],
    admin_key_id: int,
) -> DemoDeputyWork:
    """``station_of[i]`` is the index in ``stations`` of ``deputies[i]``'s station."""
    admin = Principal(
        key_id=admin_key_id,
        role=Role.admin,
        jurisdiction_id=jurisdiction_id,
        department_id=None,
        deputy_id=None,
    )
    start = today()
    for index, station in enumerate(stations):
        members = [d.id for d, s in zip(deputies, station_of, strict=True) if s == index]
        # The yearly plan for the coming six months: the station's deputies take turns, one per contact day.
        coming = await station_contact_days(session, station, start, start + timedelta(days=183))
        entries = [
            RosterEntryIn(day=day.day, deputy_ids=[members[i % len(members)]]) for i, day in enumerate(coming)
        ]
        await put_roster(
            session, station, RosterIn(from_=start, to=start + timedelta(days=183), entries=entries)
        )
        # The last two contact days were held, with both of the station's deputies.
        past = await station_contact_days(
            session, station, start - timedelta(days=75), start - timedelta(days=1)
        )
        for i, day in enumerate(past[-2:]):
            await record_reception(
                session,
                admin,
                station,
                ReceptionIn(
                    held_on=day.day,
                    deputy_ids=members,
                    citizens_received=8 + 5 * index + 3 * i,
                    answered_on_spot=3 + i,
                    note=RECEPTION_NOTES[i % len(RECEPTION_NOTES)],
                ),
            )

    numbers = _InSession(session)
    first, second, third, fourth = deputies[0], deputies[1], deputies[2], deputies[3]
    suggestion = await open_suggestion(
        session,
        numbers,
        first,
        Draft(
            title="关于平江历史街区增设公共停车泊位的建议",
            description="平江历史街区周边停车泊位严重不足，游客车辆占用消防通道和居民出入口。建议利用周边"
            "闲置地块建设临时停车场，并推行错时共享停车。",
            urgency=Urgency.normal,
            category_code="transport",
        ),
    )
    joint = await open_suggestion(
        session,
        numbers,
        third,
        Draft(
            title="关于加快双塔街道老旧小区加装电梯的建议",
            description="双塔街道多个老旧小区居民老龄化程度高，上下楼困难。建议简化加装电梯审批流程，"
            "提高财政补贴比例，并由街道牵头协调低层住户意见。",
            urgency=Urgency.normal,
            category_code="housing",
            cosigner_ids=[fourth.id, first.id],
        ),
    )

    # A citizen wrote through 李秀兰's code about the river; she took it up as her suggestion.
    code = await session.scalar(select(IntakeCode.id).where(IntakeCode.deputy_id == second.id))
    citizen = Case(
        jurisdiction_id=jurisdiction_id,
        tracking_no=await numbers.next(jurisdiction_id, "GS"),
        access_key_hash=sha256_hex(new_access_key()),
        kind=CaseKind.citizen,
        request_type=RequestType.suggestion,
        urgency=Urgency.normal,
        title="平江河水面漂浮垃圾",
        description="平江河胡厢使桥附近水面经常漂浮塑料袋和落叶，夏天有异味，希望增加河道保洁频次。",
        confidential=False,
        source="form",
        intake_code_id=code,
        station_id=stations[station_of[1]].id,
        deputy_id=second.id,
        rework_round=0,
    )
    await open_case(session, citizen, CITIZEN)
    adopted = await adopt(
        session,
        numbers,
        second,
        citizen.id,
        AdoptIn(title="关于建立平江河道常态化保洁机制的建议", category_code="environment"),
    )
    return DemoDeputyWork(
        suggestions=[suggestion.tracking_no, joint.tracking_no, adopted.tracking_no],
        adopted_case=citizen.tracking_no,
    )
