"""supervision_api: deadlines on the working-day calendar, the case search for congress staff, API keys and
integrators' webhooks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.supervision import calendar_years
from shared.web.app import create_service_app
from supervision_api.routes import (
    api_keys,
    calendar,
    case_exports,
    cases,
    contact,
    dashboard,
    deputy_feedback,
    difficult_cases,
    duty_points,
    extension_requests,
    follow_ups,
    funds,
    hotspots,
    internal,
    key_supervision,
    metrics,
    ops,
    photos,
    sla_policies,
    supervision,
    webhooks,
)

DESCRIPTION = """
民意码上通 supervision_api: congress staff search cases and see their deadlines; admins keep the working-day
calendar, deadline tiers and API keys; integrators subscribe to case events. Departments' extension requests
wait here for a decision, and closed cases are followed up (回头看).
Authenticate with `Authorization: Bearer <api key>`.
"""


def create_app(
    engine: AsyncEngine | None = None, *, today: Callable[[], date] = calendar_years.today
) -> FastAPI:
    """``today``: the date in Shanghai the calendar check counts from (tests fix it)."""

    async def calendar_coverage(session: AsyncSession) -> str:
        # Stays ready either way: deadlines are still computed (Mon-Fri assumed) and recomputed on loading.
        return calendar_years.coverage_text(await calendar_years.missing_years(session, today()))

    return create_service_app(
        service="supervision",
        title="Minyi supervision_api",
        description=DESCRIPTION,
        routers=[
            cases.router,
            case_exports.router,
            contact.router,
            deputy_feedback.router,
            photos.router,
            extension_requests.router,
            difficult_cases.router,
            funds.router,
            follow_ups.router,
            duty_points.router,
            key_supervision.router,
            metrics.router,
            hotspots.router,
            calendar.router,
            sla_policies.router,
            supervision.router,
            api_keys.router,
            webhooks.router,
            internal.router,
            ops.router,
            dashboard.router,
        ],
        engine=engine,
        readiness_checks={"calendar": calendar_coverage},
    )
