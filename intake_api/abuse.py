"""Abuse limits on the citizens' anonymous routes: submissions per client address and per intake code.

Counted in PostgreSQL (shared.ratelimit), so the limits hold across every intake process. The address is the
peer's, or X-Forwarded-For's when the peer is a trusted proxy (MINYI_TRUSTED_PROXIES). A check is one
statement on the request's autocommit connection, counted before the case is opened; a refused request
opens nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace

import structlog
from fastapi import Depends, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from intake_api.deps import Autocommit, CodeDirectory
from intake_api.rendering import render
from services.intake import form_keys
from services.intake.directory import Directory
from services.intake.form_page import open_form
from services.intake.schemas import SubmissionIn
from shared import ratelimit
from shared.errors import TooManyRequests, too_many_message
from shared.ratelimit import Limit, Rate
from shared.settings import get_settings
from shared.web.client_address import request_address

log = structlog.get_logger("minyi.abuse")


def address(request: Request) -> str:
    return request_address(request)


def submission_limits(request: Request, code_id: int) -> list[Limit]:
    settings = get_settings()
    return [
        Limit(f"submit:addr:{address(request)}", Rate.parse(settings.limit_submissions_per_address)),
        Limit(f"submit:code:{code_id}", Rate.parse(settings.limit_submissions_per_code)),
    ]


async def count_submission(request: Request, connection: AsyncConnection, code_id: int) -> int | None:
    """Counts a submission through the code; the Retry-After in seconds once a limit is exceeded."""
    return await ratelimit.hit(connection, submission_limits(request, code_id))


async def _limit_json_submission(
    request: Request, token: str, connection: Autocommit, directory: CodeDirectory
) -> None:
    route = await directory.route(token)  # an unknown or retired code is a 404 or 410, not counted
    retry_after = await count_submission(request, connection, route.code_id)
    if retry_after is not None:
        raise TooManyRequests(retry_after)


# On the JSON submission route: answers 429 with Retry-After (the error shape) before anything is opened.
SubmissionLimit = Depends(_limit_json_submission)

# The form's text fields (never files) put back on the page a refused citizen sees.
_TEXT_FIELDS = (*SubmissionIn.model_fields, "submission_key")


async def too_many_page(
    request: Request, connection: AsyncConnection, directory: Directory, token: str, retry_after: int
) -> Response:
    """429 for the HTML form: the form again, with what the citizen typed (escaped by the template), a
    message saying when to try again, and the same submission key (nothing was created)."""
    posted = await request.form(max_files=16, max_fields=64, max_part_size=64 * 1024)
    values = {name: value for name in _TEXT_FIELDS if isinstance(value := posted.get(name), str)}
    form = await open_form(connection, directory, token)
    key = values.get("submission_key")
    if key is not None and form_keys.is_issued(key):
        form = replace(form, submission_key=key)
    message = f"{too_many_message(retry_after)}。您填写的内容仍保留在下方，届时可直接再次提交。"
    response = render(
        request, "intake_form.html", {"form": form, "values": values, "errors": {"limit": message}}, 429
    )
    response.headers["Retry-After"] = str(retry_after)
    return response


def _longest_window() -> int:
    settings = get_settings()
    specs = (settings.limit_submissions_per_address, settings.limit_submissions_per_code)
    return max(Rate.parse(spec).seconds for spec in specs)


@asynccontextmanager
async def cleaning_every(engine: AsyncEngine, seconds: float) -> AsyncIterator[None]:
    """Deletes ended windows now and then (every process does; a delete that finds nothing is cheap), so the
    table holds only the current windows and stays small however many addresses come by."""

    async def loop() -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                async with engine.connect() as connection:
                    removed = await ratelimit.clean(connection, 2 * _longest_window())
                    await connection.commit()
                log.info("rate_limits_cleaned", removed=removed)
            except Exception:
                log.warning("rate_limits_clean_failed", exc_info=True)

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
