"""`minyi`: the one command that runs everything (see `minyi --help`).

The apps are named only as import strings for uvicorn, so this module never imports the web layer.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from services.cli_common import database, err
from services.cli_data import calendar_app, metrics_app
from services.cli_secrets import secrets_app
from shared.settings import get_settings, unsafe_secret

app = typer.Typer(
    help="Minyi (民意码上通): intake, routing and supervision of citizens' cases.", no_args_is_help=True
)
jurisdiction_app = typer.Typer(help="Jurisdictions (tenants).", no_args_is_help=True)
apikey_app = typer.Typer(help="API keys.", no_args_is_help=True)
app.add_typer(jurisdiction_app, name="jurisdiction")
app.add_typer(apikey_app, name="apikey")
app.add_typer(calendar_app, name="calendar")
app.add_typer(metrics_app, name="metrics")
app.add_typer(secrets_app, name="secrets")

APPS = {
    "intake": "intake_api.app:create_app",
    "routing": "routing_api.app:create_app",
    "supervision": "supervision_api.app:create_app",
}


def _refuse_unsafe_secret() -> None:
    """serve and worker: exit 2 on the published development secret unless MINYI_ENV allows it explicitly."""
    reason = unsafe_secret(get_settings(), os.environ)
    if reason is not None:
        err(reason)
        raise typer.Exit(2)


def _migrate() -> None:
    from shared.db.migrate import upgrade

    url = get_settings().database_url
    assert url is not None
    upgrade(url)


async def _load_demo() -> tuple[bool, list[tuple[str, str]]]:
    from services.demo import load_demo, write_keys_file
    from shared.db.engine import build_engine, transaction

    engine = build_engine(pool_size=2)
    try:
        async with transaction(engine) as session:
            result = await load_demo(session)
    finally:
        await engine.dispose()
    if result.created:
        write_keys_file(_keys_file(), result.keys)
    return result.created, result.intake_tokens


def _keys_file() -> Path:
    return (get_settings().data_dir / "demo-keys.json").resolve()


@app.command()
def migrate() -> None:
    """Upgrade the database schema to the latest migration."""
    with database():
        _migrate()
    typer.echo("database migrated to head")


@app.command()
def revision(message: Annotated[str, typer.Argument(help="What the migration does")]) -> None:
    """Autogenerate a migration from the models (named YYYY-MM-DD_slug)."""
    from alembic import command

    from shared.db.migrate import alembic_config

    with database():
        url = get_settings().database_url
        assert url is not None
        command.revision(alembic_config(url), message=message, autogenerate=True)


@app.command()
def demo() -> None:
    """Load the demo jurisdiction GS (姑苏区) unless it exists."""
    with database():
        _migrate()
        created, tokens = asyncio.run(_load_demo())
    typer.echo("demo data loaded" if created else "demo data already present")
    _print_links(tokens)


@jurisdiction_app.command("create")
def jurisdiction_create(
    code: Annotated[str, typer.Option(help="Short code, e.g. GS")],
    name: Annotated[str, typer.Option(help="Name, e.g. 姑苏区")],
) -> None:
    """Create a jurisdiction."""
    from services.supervision.tenancy import create_jurisdiction
    from shared.db.engine import build_engine, transaction
    from shared.errors import MinyiError

    async def run() -> int:
        engine = build_engine(pool_size=1)
        try:
            async with transaction(engine) as session:
                created = await create_jurisdiction(session, code, name)
                return created.id
        finally:
            await engine.dispose()

    with database():
        try:
            jurisdiction_id = asyncio.run(run())
        except MinyiError as exc:
            err(f"error: {exc.detail_message}")
            raise typer.Exit(1) from exc
    typer.echo(f"jurisdiction {code} created (id {jurisdiction_id})")


@apikey_app.command("create")
def apikey_create(
    jurisdiction: Annotated[str, typer.Option(help="Jurisdiction code")],
    role: Annotated[
        str, typer.Option(help="admin, dispatcher, supervisor, department, deputy or integrator")
    ],
    department_id: Annotated[int | None, typer.Option(help="For role department")] = None,
    deputy_id: Annotated[int | None, typer.Option(help="For role deputy")] = None,
    intake_code_id: Annotated[
        int | None, typer.Option(help="For role integrator: Open311 requests open cases through this code")
    ] = None,
    station_id: Annotated[
        int | None, typer.Option(help="For role integrator: Open311 requests come through this station")
    ] = None,
    name: Annotated[str | None, typer.Option(help="A label for the key")] = None,
) -> None:
    """Create an API key; the key is printed once, alone on the last line."""
    from sqlalchemy import select

    from services.supervision.apikeys import create_api_key
    from shared.db.engine import build_engine, transaction
    from shared.db.models import Jurisdiction
    from shared.errors import MinyiError

    async def run() -> str:
        engine = build_engine(pool_size=1)
        try:
            async with transaction(engine) as session:
                jid = await session.scalar(select(Jurisdiction.id).where(Jurisdiction.code == jurisdiction))
                if jid is None:
                    raise typer.BadParameter(f"no jurisdiction with code {jurisdiction}")
                _, secret = await create_api_key(
                    session,
                    jid,
                    role,
                    name=name,
                    department_id=department_id,
                    deputy_id=deputy_id,
                    intake_code_id=intake_code_id,
                    station_id=station_id,
                )
                return str(secret)
        finally:
            await engine.dispose()

    with database():
        try:
            secret = asyncio.run(run())
        except MinyiError as exc:
            err(f"error: {exc.detail_message} {exc.details or ''}".strip())
            raise typer.Exit(1) from exc
    typer.echo(f"{role} key for {jurisdiction} (shown once, store it now):")
    typer.echo(secret)


@app.command()
def serve(
    service: Annotated[str, typer.Argument(help="intake, routing or supervision")],
    port: Annotated[int | None, typer.Option(help="Defaults to MINYI_<SERVICE>_PORT")] = None,
    host: Annotated[str | None, typer.Option(help="Defaults to MINYI_HOST")] = None,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes")] = 1,
) -> None:
    """Run one service (production: several workers behind a reverse proxy)."""
    if service not in APPS:
        err(f"unknown service {service!r}; choose one of {', '.join(APPS)}")
        raise typer.Exit(2)
    settings = get_settings()
    _refuse_unsafe_secret()
    if not settings.database_url:
        err("DATABASE_URL is not set")
        raise typer.Exit(2)
    default_port = {"intake": settings.intake_port, "routing": settings.routing_port}.get(
        service, settings.supervision_port
    )
    if workers > 1:
        _share_metrics(service, port or default_port)
    uvicorn.run(
        APPS[service],
        factory=True,
        host=host or settings.host,
        port=port or default_port,
        workers=workers,
        proxy_headers=True,
        access_log=False,
        log_level="warning",
    )


def _share_metrics(service: str, port: int) -> None:
    """Several processes serve: prometheus_client's multiprocess mode, so that /metrics, whichever process
    answers, adds up every process's counts. Its folder (one per service and port under MINYI_DATA_DIR) is
    emptied first: the counts start at zero, as one process's would. An operator's own
    PROMETHEUS_MULTIPROC_DIR is used as it is."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return
    folder = (get_settings().data_dir / "prometheus" / f"{service}-{port}").resolve()
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)  # inherited by the processes uvicorn starts


@app.command()
def worker() -> None:
    """Run the outbox relay and the scheduled jobs."""
    from services.worker import run_worker
    from shared.db.engine import build_engine
    from shared.logs import configure_logging

    settings = get_settings()
    _refuse_unsafe_secret()
    if not settings.database_url:
        err("DATABASE_URL is not set")
        raise typer.Exit(2)
    configure_logging("worker")

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        engine = build_engine(pool_size=5)
        try:
            await run_worker(engine, settings, stop)
        finally:
            await engine.dispose()

    asyncio.run(run())


@app.command()
def status() -> None:
    """Health of each service, the event backlog and the oldest pending delivery; exit 1 on an alarm."""
    import httpx

    from shared.db.engine import build_engine, transaction
    from shared.events.monitor import Backlog, backlog

    settings = get_settings()
    healthy = True
    for name in APPS:
        url = settings.base_url(name)  # type: ignore[arg-type]
        try:
            ready = httpx.get(f"{url}/readyz", timeout=3)
            state = "ready" if ready.status_code == 200 else f"not ready ({ready.status_code})"
        except httpx.HTTPError as exc:
            state = f"unreachable ({type(exc).__name__})"
        healthy = healthy and state == "ready"
        typer.echo(f"{name:<12} {url:<28} {state}")

    from services.workflow.retention import status_lines

    async def read() -> tuple[Backlog, list[str]]:
        engine = build_engine(pool_size=1)
        try:
            async with transaction(engine) as session:
                found = await backlog(session, stuck_seconds=settings.internal_stuck_seconds)
                return found, await status_lines(session, settings, datetime.now(UTC))
        finally:
            await engine.dispose()

    with database():
        found, retention = asyncio.run(read())
    typer.echo(
        f"outbox       {found.unfanned_events} events not fanned out (oldest {_age(found.oldest_unfanned_at)})"
    )
    typer.echo(
        f"internal     {found.internal_pending} pending (oldest {_age(found.oldest_internal_pending_at)}),"
        f" {found.stuck_internal} stuck over {settings.internal_stuck_seconds:g} s"
    )
    typer.echo(
        f"integrators  {found.integrator_pending} pending (oldest {_age(found.oldest_integrator_pending_at)})"
    )
    for line in retention:
        typer.echo(line)
    if found.stuck_internal:
        err("ALARM: internal deliveries are stuck; see GET /v1/ops/deliveries?stuck=true (supervision_api)")
    if not healthy or found.stuck_internal:
        raise typer.Exit(1)


def _age(at: datetime | None) -> str:
    if at is None:
        return "none"
    return f"{(datetime.now(UTC) - at).total_seconds():.1f} s ago"


def _print_links(tokens: list[tuple[str, str]]) -> None:
    public = get_settings().public_url
    for owner, token in tokens[:3]:
        typer.echo(f"  intake form ({owner}): {public}/c/{token}")
    if len(tokens) > 3:
        typer.echo(f"  ... {len(tokens) - 3} more codes: GET /v1/intake-codes with the admin key")
    typer.echo(f"  demo API keys: {_keys_file()}")


def intake_workers() -> int:
    """How many intake processes `minyi up` runs: MINYI_INTAKE_WORKERS, or one per core."""
    return get_settings().intake_workers or os.cpu_count() or 1


def _children(env: dict[str, str]) -> list[tuple[str, subprocess.Popen[bytes]]]:
    settings = get_settings()
    python = sys.executable
    ports = {
        "intake": settings.intake_port,
        "routing": settings.routing_port,
        "supervision": settings.supervision_port,
    }
    procs = []
    for name in APPS:
        cmd = [python, "-m", "services.cli", "serve", name, "--port", str(ports[name])]
        if name == "intake":
            cmd += ["--workers", str(intake_workers())]
        procs.append((name, subprocess.Popen(cmd, env=env)))  # noqa: S603 (our own interpreter and module)
    procs.append(("worker", subprocess.Popen([python, "-m", "services.cli", "worker"], env=env)))  # noqa: S603
    return procs


def _stop_children(procs: list[tuple[str, subprocess.Popen[bytes]]]) -> None:
    for _, proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for _, proc in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
        if proc.poll() is None:
            proc.kill()


@app.command()
def up() -> None:
    """What `make run` does: database, migrations, demo data once, the three services and the worker."""
    settings = get_settings()
    stopping = False

    def on_signal(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    with database() as embedded:
        where = f"embedded PostgreSQL in {settings.data_dir.resolve() / 'pg'}" if embedded else "DATABASE_URL"
        typer.echo(f"database: {where}")
        _migrate()
        created, tokens = asyncio.run(_load_demo())
        typer.echo("demo data loaded (first run)" if created else "demo data already present")
        # A developer's machine: the children may run on the development secret unless told otherwise.
        env = {"MINYI_ENV": "development", **os.environ, "DATABASE_URL": settings.database_url or ""}
        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)
        procs = _children(env)
        typer.echo(
            f"intake_api      {settings.base_url('intake')}/docs\n"
            f"routing_api     {settings.base_url('routing')}/docs\n"
            f"supervision_api {settings.base_url('supervision')}/docs"
        )
        _print_links(tokens)
        typer.echo("Ctrl-C stops everything.")
        try:
            while not stopping:
                exited = [(n, p.returncode) for n, p in procs if p.poll() is not None]
                if exited:
                    err(f"process exited: {exited}; stopping")
                    break
                time.sleep(0.5)
        finally:
            typer.echo("stopping...")
            _stop_children(procs)
    typer.echo("stopped")


if __name__ == "__main__":
    app()
