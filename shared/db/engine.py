"""Async engine and session factory. One request or one job = one transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from shared.settings import get_settings


class DatabaseNotConfigured(RuntimeError):
    pass


def async_url(url: str) -> str:
    """The SQLAlchemy asyncpg form of any postgres URL (postgres://, postgresql://, +psycopg2...)."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


def sync_url(url: str) -> str:
    parsed = make_url(async_url(url))
    return parsed.set(drivername="postgresql+psycopg2").render_as_string(hide_password=False)


def configured_url() -> str:
    url = get_settings().database_url
    if not url:
        raise DatabaseNotConfigured(
            "DATABASE_URL is not set (minyi up starts an embedded server and sets it)"
        )
    return url


def connect_args(application_name: str, *, timeouts: bool = True) -> dict[str, Any]:
    """asyncpg's connect arguments for the application's connections: UTC, a name in pg_stat_activity, and
    statement and lock timeouts, so a request stuck behind a lock or a runaway query gives up (a 503) rather
    than holding its connection for ever. Sent as startup parameters, so they hold on any server, the
    embedded one included. ``timeouts=False`` for bulk work known to run long (the bench's data loading)."""
    settings = get_settings()
    server_settings = {"application_name": application_name, "timezone": "UTC"}
    if timeouts:
        server_settings["statement_timeout"] = str(max(settings.db_statement_timeout_ms, 0))
        server_settings["lock_timeout"] = str(max(settings.db_lock_timeout_ms, 0))
    return {"server_settings": server_settings}


def build_engine(
    url: str | None = None,
    *,
    pool_size: int | None = None,
    max_overflow: int | None = None,
    pool_timeout: float | None = None,
    timeouts: bool = True,
) -> AsyncEngine:
    settings = get_settings()
    return create_async_engine(
        async_url(url or configured_url()),
        pool_size=pool_size or settings.db_pool_size,
        max_overflow=settings.db_pool_size if max_overflow is None else max_overflow,
        # Waiting longer for a free connection than a client waits for an answer only piles requests up.
        pool_timeout=settings.db_pool_timeout_seconds if pool_timeout is None else pool_timeout,
        pool_pre_ping=True,
        pool_recycle=1800,
        connect_args=connect_args("minyi", timeouts=timeouts),
    )


@lru_cache
def get_engine() -> AsyncEngine:
    return build_engine()


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@asynccontextmanager
async def transaction(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session whose work commits on success and rolls back on any exception."""
    async with session_factory(engine)() as session, session.begin():
        yield session
