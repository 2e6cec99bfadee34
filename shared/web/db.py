"""The request's database session: one request, one transaction, committed before the response is sent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    sessions: async_sessionmaker[AsyncSession] = request.app.state.sessions
    async with sessions() as session, session.begin():
        yield session


# scope="function": the commit (or rollback) happens before the response leaves, so a 2xx means committed.
Session = Annotated[AsyncSession, Depends(_session, scope="function")]
