"""Duty points (履职积分) and the deputy's file (一人一档): the rules, each deputy's ledger and its admin
adjustments, the jurisdiction's ranking (JSON and CSV), and the file."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query, Response

from services.supervision.duty import access, ledger, ranking, record, rules
from services.supervision.duty.schemas import (
    FIRST_YEAR,
    LAST_YEAR,
    AdjustmentIn,
    DeputyRecord,
    DutyEntryOut,
    DutyPointsOut,
    DutyRulesOut,
    RankingOut,
)
from shared.db.enums import Role
from shared.db.models import Deputy
from shared.security.apikeys import Principal
from shared.web.auth import require_roles
from supervision_api.deps import Admin, Id, Pagination, Session, Staff

router = APIRouter(tags=["duty points"])

# A deputy reads their own points and file; staff read any deputy's of their jurisdiction.
Reader = Annotated[Principal, Depends(require_roles(Role.supervisor, Role.admin, Role.deputy))]
Year = Annotated[
    int | None,
    Query(ge=FIRST_YEAR, le=LAST_YEAR, description="The year (Asia/Shanghai); default the current one"),
]


async def _readable(deputy_id: Id, principal: Reader, session: Session) -> Deputy:
    return await access.readable_deputy(session, principal, deputy_id)


async def _adjustable(deputy_id: Id, principal: Admin, session: Session) -> Deputy:
    return await access.jurisdiction_deputy(session, principal.jurisdiction_id, deputy_id)


ReadableDeputy = Annotated[Deputy, Depends(_readable)]
AdjustableDeputy = Annotated[Deputy, Depends(_adjustable)]


def _year(year: int | None) -> int:
    return year if year is not None else ledger.current_year()


@router.get("/v1/duty-points/rules", summary="The points each action earns in the jurisdiction")
async def get_rules(principal: Reader, session: Session) -> DutyRulesOut:
    """Every action with its points: the jurisdiction's setting, or the default (reception 2, case_raised 1,
    suggestion_submitted 3, suggestion_cosigned 1, rating_given 1, follow_up 2)."""
    return await rules.rules_view(session, principal.jurisdiction_id)


@router.put("/v1/duty-points/rules", summary="Set the points of some actions")
async def put_rules(
    principal: Admin,
    session: Session,
    body: Annotated[
        dict[str, int],
        Body(
            description='action -> points (0-100), e.g. {"reception": 3}; actions not named keep theirs',
            examples=[{"reception": 3, "follow_up": 2}],
        ),
    ],
) -> DutyRulesOut:
    """Entries already written keep the points they were written with; only later ones use the new rule.
    `adjustment` has no rule (422)."""
    return await rules.set_rules(session, principal.jurisdiction_id, body)


@router.get("/v1/duty-points/ranking", summary="The year's ranking of the jurisdiction's active deputies")
async def get_ranking(principal: Staff, session: Session, year: Year = None) -> RankingOut:
    """Every active deputy with the year's total, rank (equal totals share a rank: 1, 1, 3) and, per action,
    the entries and their points."""
    return await ranking.ranking(session, principal.jurisdiction_id, _year(year))


@router.get(
    "/v1/duty-points/ranking.csv",
    summary="The year's ranking as CSV (UTF-8 with BOM, Chinese headers)",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
async def get_ranking_csv(principal: Staff, session: Session, year: Year = None) -> Response:
    """Columns 排名, 代表, 层级, 总积分 and one per action (its points): 参加接待, 代表码反映问题, 提出建议,
    联名建议, 评价答复, 回头看, 积分调整."""
    data = await ranking.ranking(session, principal.jurisdiction_id, _year(year))
    return Response(
        content=ranking.ranking_csv(data),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="duty-points-{data.year}.csv"'},
    )


@router.get("/v1/deputies/{deputy_id}/duty-points", summary="A deputy's ledger and total for a year")
async def get_duty_points(
    deputy: ReadableDeputy, session: Session, page: Pagination, year: Year = None
) -> DutyPointsOut:
    """The year's entries, newest written first, in cursor pages, with the year's total and subtotals per
    action. A deputy's key reads only its own deputy (another id: 404)."""
    year = _year(year)
    rows = await ledger.entries(session, deputy, year, limit=page.limit, before_id=page.after_id)
    per_action = (await ledger.subtotals(session, deputy.jurisdiction_id, year, deputy.id)).get(deputy.id, {})
    return DutyPointsOut(
        deputy=ledger.brief(deputy),
        year=year,
        total=ledger.total(per_action),
        actions=ledger.action_totals(per_action),
        items=rows[: page.limit],
        next_cursor=page.next_cursor([r.id for r in rows]),
    )


@router.post(
    "/v1/deputies/{deputy_id}/duty-points/adjustments",
    status_code=201,
    summary="Adjust a deputy's points, with a reason",
)
async def adjust_duty_points(
    deputy: AdjustableDeputy, principal: Admin, session: Session, body: AdjustmentIn
) -> DutyEntryOut:
    """A new ledger entry of action `adjustment` (points non-zero, at most 100 either way, a reason
    required); entries are never edited or deleted, so a correction is always another entry."""
    return await ledger.adjust(session, principal, deputy, body)


@router.get("/v1/deputies/{deputy_id}/record", summary="The deputy's file (一人一档) for a year")
async def get_record(deputy: ReadableDeputy, session: Session, year: Year = None) -> DeputyRecord:
    """Receptions attended (date, station, citizens received), the citizens' cases through the deputy's
    codes (counts by state, replied, closed, the citizens' ratings), the suggestions written or co-signed
    with their state, reply classes and the deputies' ratings, and the year's points. A deputy's key reads
    only its own file (another id: 404)."""
    return await record.deputy_record(session, deputy, _year(year))
