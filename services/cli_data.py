"""`minyi calendar import` and `minyi metrics rebuild`: the commands that load or recompute data of a running
installation (see docs/calendar.md and docs/metrics.md)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from services.cli_common import database, err

calendar_app = typer.Typer(help="The working-day calendar (see docs/calendar.md).", no_args_is_help=True)
metrics_app = typer.Typer(help="The metrics rollup (see docs/metrics.md).", no_args_is_help=True)


@metrics_app.command("rebuild")
def metrics_rebuild(
    jurisdiction: Annotated[str | None, typer.Option(help="Jurisdiction code (default: all)")] = None,
) -> None:
    """Recompute every day of the metrics rollup now (an existing database, a taxonomy change)."""
    from sqlalchemy import select

    from services.supervision.metrics.rollup import rebuild
    from shared.db.engine import build_engine, transaction
    from shared.db.models import Jurisdiction

    async def run() -> tuple[int, int]:
        engine = build_engine(pool_size=2)
        try:
            jid = None
            if jurisdiction is not None:
                async with transaction(engine) as session:
                    jid = await session.scalar(
                        select(Jurisdiction.id).where(Jurisdiction.code == jurisdiction)
                    )
                if jid is None:
                    raise typer.BadParameter(f"no jurisdiction with code {jurisdiction}")
            result = await rebuild(engine, jid)
            return result.days, result.failed
        finally:
            await engine.dispose()

    with database():
        days, failed = asyncio.run(run())
    typer.echo(
        f"metrics rollup rebuilt: {days} days" + (f", {failed} failed (marked again)" if failed else "")
    )
    if failed:
        raise typer.Exit(1)


@calendar_app.command("import")
def calendar_import(
    file: Annotated[Path, typer.Argument(help="The year's schedule as CSV: date,kind,name", exists=True)],
    jurisdiction: Annotated[
        list[str] | None, typer.Option(help="Jurisdiction code; repeat for several")
    ] = None,
    all_jurisdictions: Annotated[bool, typer.Option("--all", help="Every jurisdiction")] = False,
    year: Annotated[int | None, typer.Option(help="The year the file must be (default: its dates')")] = None,
    source: Annotated[
        str | None, typer.Option(help="Where the dates come from, e.g. the notice's number")
    ] = None,
) -> None:
    """Load a year's official schedule (holidays and make-up working days) and recompute assumed deadlines."""
    from sqlalchemy import select

    from services.supervision.calendar_schedule import decode_csv, parse_csv
    from services.supervision.calendar_years import load_year
    from shared.db.engine import build_engine, transaction
    from shared.db.models import Jurisdiction
    from shared.errors import MinyiError

    if not jurisdiction and not all_jurisdictions:
        err("name the jurisdictions with --jurisdiction CODE (repeatable) or pass --all")
        raise typer.Exit(2)
    try:
        schedule = parse_csv(decode_csv(file.read_bytes()), year)
    except MinyiError as exc:
        for problem in exc.details or [{"message": exc.detail_message}]:
            err(f"{file}: {problem['message']}")
        raise typer.Exit(1) from exc

    async def run() -> list[str]:
        engine = build_engine(pool_size=1)
        lines = []
        try:
            async with transaction(engine) as session:
                query = select(Jurisdiction.id, Jurisdiction.code).order_by(Jurisdiction.code)
                if not all_jurisdictions:
                    query = query.where(Jurisdiction.code.in_(jurisdiction or []))
                found = (await session.execute(query)).all()
                unknown = set(jurisdiction or []) - {code for _, code in found}
                if unknown:
                    raise typer.BadParameter(f"no jurisdiction with code {', '.join(sorted(unknown))}")
                for jurisdiction_id, code in found:
                    loaded = await load_year(
                        session,
                        jurisdiction_id,
                        schedule,
                        source=source,
                        loaded_by="cli",
                        now=datetime.now(UTC),
                    )
                    lines.append(
                        f"{schedule.year} loaded for {code}: {schedule.holidays} days off, "
                        f"{schedule.workdays} make-up working days; {loaded.deadlines_recomputed} assumed "
                        f"deadlines recomputed, {loaded.deadlines_changed} changed, "
                        f"{loaded.deadlines_still_assumed} still assumed"
                    )
                    lines += [
                        f"  kept {code}'s own override of {kept.date}: "
                        f"{'working day' if kept.is_workday else 'day off'} ({kept.note or ''})"
                        for kept in loaded.local_overrides_kept
                    ]
        finally:
            await engine.dispose()
        return lines

    with database():
        try:
            lines = asyncio.run(run())
        except MinyiError as exc:
            err(f"error: {exc.detail_message}")
            raise typer.Exit(1) from exc
    for line in lines:
        typer.echo(line)
