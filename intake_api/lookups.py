"""Tracking lookups behind the wrong-key limit: every lookup whose tracking number or access key is wrong
counts against the client's address; once an address has guessed wrong too often, its lookups are refused
(429) before any key is compared, right or wrong, until the window ends, so a guesser cannot tell a hit
from a refusal. A lookup with the right key counts nothing."""

from __future__ import annotations

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.intake import tracking
from services.intake.errors import CaseNotFound
from shared import ratelimit
from shared.db.models import Case
from shared.errors import TooManyRequests
from shared.ratelimit import Limit, Rate
from shared.settings import get_settings
from shared.web.client_address import request_address


def address(request: Request) -> str:
    return request_address(request)


def lookups_message(retry_after: int) -> str:
    minutes = max(1, -(-retry_after // 60))
    return f"查询失败次数过多，请 {minutes} 分钟后再试"


async def find_case(
    request: Request,
    session: AsyncSession,
    tracking_no: str,
    access_key: str | None,
    *,
    for_update: bool = False,
) -> Case:
    """``tracking.find_case`` with the wrong-key limit (MINYI_LIMIT_TRACKING_MISSES_PER_ADDRESS)."""
    limits = [
        Limit(
            f"track-miss:addr:{address(request)}",
            Rate.parse(get_settings().limit_tracking_misses_per_address),
        )
    ]
    engine: AsyncEngine = request.app.state.autocommit_engine
    async with engine.connect() as connection:
        retry_after = await ratelimit.exhausted(connection, limits)
    if retry_after is not None:
        raise TooManyRequests(retry_after, lookups_message(retry_after))
    try:
        return await tracking.find_case(session, tracking_no, access_key, for_update=for_update)
    except CaseNotFound:
        async with engine.connect() as connection:
            await ratelimit.hit(connection, limits)
        raise
