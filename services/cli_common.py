"""What the `minyi` commands share: messages to stderr, and a database to work on (the configured one, or
the embedded server under the data folder)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import typer

from shared.db.embedded import EmbeddedPostgres, start_embedded
from shared.settings import get_settings


def err(message: str) -> None:
    typer.echo(message, err=True)


@contextlib.contextmanager
def database() -> Iterator[EmbeddedPostgres | None]:
    """Makes sure DATABASE_URL is set: the configured server, or the embedded one under the data folder."""
    settings = get_settings()
    if settings.database_url:
        yield None
        return
    embedded = start_embedded(settings.data_dir)
    os.environ["DATABASE_URL"] = embedded.url
    settings.database_url = embedded.url
    try:
        yield embedded
    finally:
        embedded.stop()
