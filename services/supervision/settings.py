"""A jurisdiction's supervision policy: when due-soon and overdue are raised (fractions of the allowed time),
how far an extension may reach, and when a follow-up is due. Without a row the defaults apply."""

from __future__ import annotations

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.supervision.errors import FieldInvalid
from services.supervision.oversight_schemas import SupervisionSettingsIn, SupervisionSettingsOut
from shared.db.models import Case, Deadline, SupervisionSettings

DEFAULTS = SupervisionSettingsOut(
    due_soon_fraction=0.75, overdue_fraction=1.0, extension_max_days=30, follow_up_days=30
)


async def get_settings(session: AsyncSession, jurisdiction_id: int) -> SupervisionSettingsOut:
    row = await session.get(SupervisionSettings, jurisdiction_id)
    return DEFAULTS if row is None else SupervisionSettingsOut.model_validate(row)


async def put_settings(
    session: AsyncSession, jurisdiction_id: int, changes: SupervisionSettingsIn
) -> SupervisionSettingsOut:
    """Sets the given fields (the rest keep their value). New fractions move the alarm moments of the
    jurisdiction's open deadlines at once; an alarm already raised stays raised (once per deadline)."""
    current = await get_settings(session, jurisdiction_id)
    merged = current.model_copy(update=changes.model_dump(exclude_none=True))
    if merged.due_soon_fraction >= merged.overdue_fraction:
        raise FieldInvalid(
            "due_soon_fraction",
            f"即将到期的比例（{merged.due_soon_fraction:g}）须小于超期的比例（{merged.overdue_fraction:g}）",
        )
    values = merged.model_dump()
    statement = pg_insert(SupervisionSettings).values(jurisdiction_id=jurisdiction_id, **values)
    await session.execute(
        statement.on_conflict_do_update(index_elements=[SupervisionSettings.jurisdiction_id], set_=values)
    )
    moved = (merged.due_soon_fraction, merged.overdue_fraction) != (
        current.due_soon_fraction,
        current.overdue_fraction,
    )
    if moved:
        await _recompute_alarms(session, jurisdiction_id)
    await session.flush()
    return merged


async def _recompute_alarms(session: AsyncSession, jurisdiction_id: int) -> None:
    """Touching due_at fires the trigger that sets due_soon_at and overdue_at from the policy just written.
    Only deadlines with an alarm still to raise can change anything. Their cases are locked first, in id
    order, as every writer of deadlines locks the case before its deadlines, so this never deadlocks with
    the event handlers."""
    pending = and_(
        Deadline.jurisdiction_id == jurisdiction_id,
        Deadline.met_at.is_(None),
        Deadline.superseded_at.is_(None),
        or_(Deadline.due_soon_raised_at.is_(None), Deadline.overdue_raised_at.is_(None)),
    )
    await session.execute(
        select(Case.id)
        .where(Case.id.in_(select(Deadline.case_id).where(pending)))
        .order_by(Case.id)
        .with_for_update()
    )
    await session.execute(
        update(Deadline)
        .where(pending)
        .values(due_at=Deadline.due_at)
        .execution_options(synchronize_session=False)
    )
