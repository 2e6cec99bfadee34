"""Key supervision items (重点督办事项): the cases and deputy suggestions a committee picks each year, the
leader who owns each and its goal, and the three checks a year (一年三督) recorded on them.

Choosing an item puts its case at supervision level ``key`` with the lead supervisor (through
``services.supervision.levels``), so the case's own page, events and webhooks say so.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from services.supervision.errors import CaseNotFound, FieldInvalid
from services.supervision.key_item_errors import (
    STAGE_LABELS,
    CaseNotSupervisable,
    CheckAlreadyRecorded,
    CheckOutOfOrder,
    KeyItemExists,
    KeyItemNotFound,
)
from services.supervision.key_item_schemas import (
    KeyCheckFields,
    KeyCheckIn,
    KeyCheckOut,
    KeyItemIn,
    KeyItemOut,
    KeyItemUpdate,
)
from services.supervision.levels import change_level
from services.workflow import Actor, record_event
from shared.calendar import SHANGHAI
from shared.db.enums import CaseStatus, SupervisionLevel, SupervisionSource
from shared.db.models import Case, Category, Committee, KeyCheckStage, KeyItem, KeyItemCheck
from shared.security.apikeys import Principal

UNIQUE_ITEM = "uq_key_items_case_id_year"
UNIQUE_CHECK = "uq_key_item_checks_key_item_id_stage"
# A merged case is carried on by its main case, and a rejected one is handled nowhere: neither can be followed.
NOT_SUPERVISABLE = (CaseStatus.merged, CaseStatus.rejected)
STAGES = tuple(KeyCheckStage)
# The case event a check leaves in the case's log (staff only; not sent to integrators).
CHECK_EVENT = "key_check_recorded"


def _actor(principal: Principal) -> Actor:
    return Actor(principal.role, principal.key_id)


async def _set_key_level(session: AsyncSession, case: Case, item: KeyItem, actor: Actor) -> None:
    await change_level(
        session,
        case,
        level=SupervisionLevel.key,
        lead_supervisor=item.lead_supervisor,
        note=item.goal,
        actor=actor,
        source=SupervisionSource.manual,
    )


async def get_item(session: AsyncSession, jurisdiction_id: int, item_id: int) -> KeyItem:
    item = await session.scalar(
        select(KeyItem).where(KeyItem.id == item_id, KeyItem.jurisdiction_id == jurisdiction_id)
    )
    if item is None:
        raise KeyItemNotFound()
    return item


async def _lock_item(session: AsyncSession, item: KeyItem) -> None:
    """Serialises the writers of one item, so two checks of the same stage cannot both pass the order check."""
    await session.execute(select(KeyItem.id).where(KeyItem.id == item.id).with_for_update())


async def _committee_id(session: AsyncSession, case: Case, wanted: int | None) -> int | None:
    if wanted is not None:
        found = await session.scalar(
            select(Committee.id).where(
                Committee.id == wanted, Committee.jurisdiction_id == case.jurisdiction_id
            )
        )
        if found is None:
            raise FieldInvalid("committee_id", "未找到该对口委办")
        return wanted
    if case.category_id is None:
        return None
    parent = aliased(Category)
    committee_id: int | None = await session.scalar(
        select(func.coalesce(Category.committee_id, parent.committee_id))
        .outerjoin(parent, parent.id == Category.parent_id)
        .where(Category.id == case.category_id)
    )
    return committee_id


def _check_date(year: int, checked_on: date, field: str = "checked_on") -> None:
    """A check belongs to its item's year: it may happen from the year before (picking items in December)
    to the year after (the year-end evaluation in January), and never in the future."""
    if not year - 1 <= checked_on.year <= year + 1:
        raise FieldInvalid(field, f"检查日期须在 {year - 1} 年至 {year + 1} 年之间")
    if checked_on > datetime.now(SHANGHAI).date():
        raise FieldInvalid(field, "检查日期不能晚于今天")


async def choose_item(session: AsyncSession, principal: Principal, data: KeyItemIn) -> KeyItem:
    """Makes a case of the caller's jurisdiction a key item of the year (once a year) and puts the case at
    level key with the lead supervisor, the goal as the note; the start check may come along."""
    case = await session.scalar(
        select(Case)
        .where(Case.id == data.case_id, Case.jurisdiction_id == principal.jurisdiction_id)
        .with_for_update()
    )
    if case is None:
        raise CaseNotFound()
    if case.status in NOT_SUPERVISABLE:
        raise CaseNotSupervisable(case.status)
    committee_id = await _committee_id(session, case, data.committee_id)
    if data.start_check is not None:
        _check_date(data.year, data.start_check.checked_on, "start_check.checked_on")
    item_id = await session.scalar(
        pg_insert(KeyItem)
        .values(
            jurisdiction_id=case.jurisdiction_id,
            year=data.year,
            case_id=case.id,
            lead_supervisor=data.lead_supervisor,
            goal=data.goal,
            committee_id=committee_id,
            created_by_key_id=principal.key_id,
        )
        .on_conflict_do_nothing(constraint=UNIQUE_ITEM)
        .returning(KeyItem.id)
    )
    if item_id is None:
        raise KeyItemExists(data.year)
    item = await get_item(session, principal.jurisdiction_id, item_id)
    actor = _actor(principal)
    await _set_key_level(session, case, item, actor)
    if data.start_check is not None:
        await _insert_check(session, item, case, KeyCheckStage.start, data.start_check, principal)
    return item


async def _newest_item_id(session: AsyncSession, case_id: int) -> int | None:
    newest: int | None = await session.scalar(
        select(KeyItem.id).where(KeyItem.case_id == case_id).order_by(KeyItem.year.desc()).limit(1)
    )
    return newest


async def update_item(
    session: AsyncSession, item: KeyItem, principal: Principal, data: KeyItemUpdate
) -> KeyItem:
    """A new lead supervisor or goal. The case's own lead supervisor follows while the case stands at level
    key and this is its newest key item: a correction to last year's item does not overwrite who owns the
    case this year, and a case a supervisor has since moved off key is not put back on it."""
    await _lock_item(session, item)
    new_lead = data.lead_supervisor is not None and data.lead_supervisor != item.lead_supervisor
    if data.lead_supervisor is not None:
        item.lead_supervisor = data.lead_supervisor
    if data.goal is not None:
        item.goal = data.goal
    item.updated_at = datetime.now(UTC)
    await session.flush()
    if new_lead and await _newest_item_id(session, item.case_id) == item.id:
        case = (await session.execute(select(Case).where(Case.id == item.case_id))).scalar_one()
        if case.supervision_level == SupervisionLevel.key and case.status not in NOT_SUPERVISABLE:
            await _set_key_level(session, case, item, _actor(principal))
    return item


async def record_check(
    session: AsyncSession, item: KeyItem, principal: Principal, data: KeyCheckIn
) -> KeyItemCheck:
    """One of the three checks. Stages come in order (start, mid, end), each once: a check is the record of
    what the committee found that day, so a second one of the same stage is refused (409), not replaced."""
    await _lock_item(session, item)
    case = (await session.execute(select(Case).where(Case.id == item.case_id))).scalar_one()
    return await _insert_check(session, item, case, data.stage, data, principal)


async def _insert_check(
    session: AsyncSession,
    item: KeyItem,
    case: Case,
    stage: KeyCheckStage,
    data: KeyCheckFields,
    principal: Principal,
) -> KeyItemCheck:
    if stage != KeyCheckStage.start and data.rating is None:
        raise FieldInvalid("rating", "年中督查和年终评估须给出评价等级")
    _check_date(item.year, data.checked_on)
    recorded = {
        check.stage: check
        for check in (
            await session.execute(select(KeyItemCheck).where(KeyItemCheck.key_item_id == item.id))
        ).scalars()
    }
    if stage in recorded:
        raise CheckAlreadyRecorded(stage)
    position = STAGES.index(stage)
    if position > 0:
        previous = STAGES[position - 1]
        if previous not in recorded:
            raise CheckOutOfOrder(stage, previous)
        earlier = recorded[previous].checked_on
        if data.checked_on < earlier:
            raise FieldInvalid(
                "checked_on", f"检查日期不能早于“{STAGE_LABELS[previous]}”的日期（{earlier.isoformat()}）"
            )
    check_id = await session.scalar(
        pg_insert(KeyItemCheck)
        .values(
            jurisdiction_id=item.jurisdiction_id,
            key_item_id=item.id,
            stage=stage,
            checked_on=data.checked_on,
            findings=data.findings,
            rating=data.rating,
            recorded_by_key_id=principal.key_id,
        )
        .on_conflict_do_nothing(constraint=UNIQUE_CHECK)
        .returning(KeyItemCheck.id)
    )
    if check_id is None:  # the lock rules this out; kept so a race still answers 409
        raise CheckAlreadyRecorded(stage)
    await record_event(
        session,
        case,
        CHECK_EVENT,
        _actor(principal),
        data={"key_item_id": item.id, "year": item.year, "stage": stage.value, "rating": data.rating},
    )
    return (await session.execute(select(KeyItemCheck).where(KeyItemCheck.id == check_id))).scalar_one()


async def _views(session: AsyncSession, items: list[KeyItem]) -> list[KeyItemOut]:
    if not items:
        return []
    ids = [item.id for item in items]
    cases = {
        row.id: row
        for row in await session.execute(
            select(Case.id, Case.tracking_no, Case.status, Case.kind).where(
                Case.id.in_({item.case_id for item in items})
            )
        )
    }
    checks: dict[int, list[KeyCheckOut]] = {item_id: [] for item_id in ids}
    rows = await session.execute(select(KeyItemCheck).where(KeyItemCheck.key_item_id.in_(ids)))
    for check in sorted(rows.scalars(), key=lambda c: STAGES.index(KeyCheckStage(c.stage))):
        checks[check.key_item_id].append(KeyCheckOut.model_validate(check))
    return [
        KeyItemOut(
            id=item.id,
            year=item.year,
            case_id=item.case_id,
            tracking_no=cases[item.case_id].tracking_no,
            case_status=cases[item.case_id].status,
            kind=cases[item.case_id].kind,
            lead_supervisor=item.lead_supervisor,
            goal=item.goal,
            committee_id=item.committee_id,
            created_at=item.created_at,
            updated_at=item.updated_at,
            checks=checks[item.id],
        )
        for item in items
    ]


async def item_view(session: AsyncSession, item: KeyItem) -> KeyItemOut:
    return (await _views(session, [item]))[0]


async def list_items(
    session: AsyncSession, jurisdiction_id: int, *, year: int | None, limit: int, after_id: int | None
) -> list[KeyItemOut]:
    """The jurisdiction's key items (of one year, if given) in the order they were chosen; up to
    ``limit + 1`` so the caller can tell whether another page follows."""
    query = select(KeyItem).where(KeyItem.jurisdiction_id == jurisdiction_id)
    if year is not None:
        query = query.where(KeyItem.year == year)
    if after_id is not None:
        query = query.where(KeyItem.id > after_id)
    items = list((await session.execute(query.order_by(KeyItem.id).limit(limit + 1))).scalars())
    return await _views(session, items)
