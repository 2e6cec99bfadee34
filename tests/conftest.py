"""Test harness: one real PostgreSQL database per run, migrated with Alembic; tables emptied between tests.

TEST_DATABASE_URL (or else DATABASE_URL) names a server to create the run's own database on, e.g. this
machine's PostgreSQL 15; the database named in the URL is never touched. With neither, an embedded server is
started under var/test.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

os.environ.setdefault("MINYI_ENV", "test")
# The suite submits many cases from one address: abuse limits too high to refuse it (still counted).
# tests/intake_api/test_abuse_limits.py checks the real defaults.
os.environ.setdefault("MINYI_LIMIT_SUBMISSIONS_PER_ADDRESS", "1000000/600")
os.environ.setdefault("MINYI_LIMIT_SUBMISSIONS_PER_CODE", "1000000/3600")
os.environ.setdefault("MINYI_LIMIT_TRACKING_MISSES_PER_ADDRESS", "1000000/600")
os.environ.setdefault("MINYI_LIMIT_UPLOADS_PER_ADDRESS", "1000000/600")
os.environ.setdefault("MINYI_LIMIT_UPLOADS_PER_CODE", "1000000/3600")
os.environ.setdefault("MINYI_LIMIT_CASE_POSTS_PER_ADDRESS", "1000000/600")

from shared.db.engine import build_engine, session_factory, sync_url
from shared.db.migrate import upgrade
from shared.db.models import Base
from shared.settings import get_settings
from tests.factories import World, build_world

ROOT = Path(__file__).resolve().parents[1]


def _create_database(server_url: str) -> tuple[str, str]:
    name = f"minyi_test_{secrets.token_hex(4)}"
    admin = create_engine(sync_url(server_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = make_url(sync_url(server_url)).set(database=name).render_as_string(hide_password=False)
    return name, url


def _drop_database(server_url: str, name: str) -> None:
    admin = create_engine(sync_url(server_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """A URL of a PostgreSQL server the run may create databases on."""
    explicit = os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if explicit:
        yield explicit
        return
    from shared.db.embedded import start_embedded

    embedded = start_embedded(ROOT / "var" / "test", database="postgres")
    yield embedded.url


@pytest.fixture(scope="session")
def database_url(postgres_server_url: str) -> Iterator[str]:
    name, url = _create_database(postgres_server_url)
    upgrade(url)
    settings = get_settings()
    settings.database_url = url
    yield url
    _drop_database(postgres_server_url, name)


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = build_engine(database_url, pool_size=5)
    yield engine
    await engine.dispose()


_TABLES = ", ".join(f'"{t.name}"' for t in reversed(Base.metadata.sorted_tables))


@pytest.fixture(autouse=True)
async def _clean_tables(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    yield
    if "engine" not in request.fixturenames:
        return
    engine: AsyncEngine = request.getfixturevalue("engine")
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {_TABLES} RESTART IDENTITY CASCADE"))


@pytest.fixture
async def session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session for arranging and inspecting data; commit explicitly to make rows visible to the apps."""
    async with session_factory(engine)() as session:
        yield session


@pytest.fixture
async def world(session: AsyncSession) -> World:
    """The jurisdiction GS of tests/factories.py, committed so the apps under test see it."""
    world = await build_world(session)
    await session.commit()
    return world
