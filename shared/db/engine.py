"""Async engine and session factory. One request or one job = one transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import lru_cache

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


def build_engine(url: str | None = None, *, pool_size: int | None = None) -> AsyncEngine:
    settings = get_settings()
    return create_async_engine(
        async_url(url or configured_url()),
        pool_size=pool_size or settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        pool_pre_ping=True,
        pool_recycle=1800,
        connect_args={"server_settings": {"application_name": "minyi", "timezone": "UTC"}},
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
