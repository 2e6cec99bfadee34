"""The one Alembic history builds the schema the models describe, and can be undone and redone."""

from __future__ import annotations

from alembic import command
from sqlalchemy import create_engine, inspect

from shared.db.engine import sync_url
from shared.db.migrate import alembic_config, upgrade
from tests.conftest import _create_database, _drop_database

CORE_TABLES = {
    "jurisdictions", "grids", "stations", "deputies", "intake_codes", "committees", "categories", "departments",
    "routing_rules", "cases", "assignments", "case_events", "replies", "feedback", "deadlines",
    "calendar_overrides", "sla_policies", "api_keys", "outbox", "webhook_endpoints", "webhook_deliveries",
}  # fmt: skip


def test_models_and_migrations_agree(database_url: str) -> None:
    # Raises if autogenerate would find any difference between the migrated schema and the models.
    command.check(alembic_config(database_url))
    engine = create_engine(sync_url(database_url))
    try:
        assert set(inspect(engine).get_table_names()) >= CORE_TABLES
    finally:
        engine.dispose()


def test_downgrade_to_base_and_back(postgres_server_url: str) -> None:
    name, url = _create_database(postgres_server_url)
    try:
        upgrade(url)
        command.downgrade(alembic_config(url), "base")
        engine = create_engine(sync_url(url))
        assert set(inspect(engine).get_table_names()) == {"alembic_version"}
        engine.dispose()
        upgrade(url)
        command.check(alembic_config(url))
    finally:
        _drop_database(postgres_server_url, name)
