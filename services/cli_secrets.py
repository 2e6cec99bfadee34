"""`minyi secrets reencrypt`: after a new key is put first in MINYI_SECRET_KEY, move every encrypted value to it
(see docs/secrets.md)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from services.cli_common import database, err

secrets_app = typer.Typer(help="MINYI_SECRET_KEY's keys (see docs/secrets.md).", no_args_is_help=True)

# Progress goes to stderr every this many rows of a table.
PROGRESS_EVERY = 50_000


@secrets_app.command("reencrypt")
def reencrypt(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count only; change nothing")] = False,
    batch_rows: Annotated[int, typer.Option(min=1, max=10_000, help="Rows per transaction")] = 500,
) -> None:
    """Re-encrypt every stored personal datum and webhook secret with the first key of MINYI_SECRET_KEY.

    Safe to interrupt and to run again. Prints, per column, the values re-encrypted, those already under the
    first key and those no configured key opens (left as they are; exit 1 if there are any)."""
    from sqlalchemy.exc import DBAPIError

    from shared.db.engine import build_engine
    from shared.security.reencrypt import ColumnCount
    from shared.security.reencrypt import reencrypt as walk
    from shared.settings import get_settings

    reported: dict[str, int] = {}

    def progress(table: str, rows: int, last_id: int) -> None:
        if rows - reported.get(table, 0) >= PROGRESS_EVERY:
            reported[table] = rows
            err(f"{table}: {rows} rows read (up to id {last_id})")

    async def run() -> list[ColumnCount]:
        engine = build_engine(pool_size=1)
        try:
            return await walk(engine, dry_run=dry_run, batch_rows=batch_rows, progress=progress)
        finally:
            await engine.dispose()

    keys = len(get_settings().secret_keys)
    with database():
        try:
            counts = asyncio.run(run())
        except DBAPIError as exc:
            # Not the exception itself: its text would carry the statement's parameters (ciphertexts).
            reason = str(exc.orig).splitlines()[0] if exc.orig is not None else type(exc).__name__
            err(f"error: {reason}; the batches before were written, the one under way was not: run it again")
            raise typer.Exit(1) from None
    verb = "to re-encrypt" if dry_run else "re-encrypted"
    typer.echo(
        f"{keys} key{'s' if keys != 1 else ''} configured; the first encrypts"
        + (" (dry run)" if dry_run else "")
    )
    width = max(len(count.name) for count in counts)
    for count in counts:
        typer.echo(
            f"{count.name:<{width}}  {count.reencrypted} {verb}, {count.current} already current, "
            f"{count.unreadable} unreadable"
        )
    unreadable = [count for count in counts if count.unreadable]
    for count in unreadable:
        more = ", ..." if count.unreadable > len(count.unreadable_ids) else ""
        ids = ", ".join(str(row_id) for row_id in count.unreadable_ids)
        err(f"{count.name}: no configured key opens the value of the rows with id {ids}{more}")
    if unreadable:
        err(
            "these values were left as they are: add the key they were written with to MINYI_SECRET_KEY "
            "(after the first) and run again, or accept that they are lost"
        )
        raise typer.Exit(1)
