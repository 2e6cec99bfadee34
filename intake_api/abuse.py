"""Abuse limits on the citizens' anonymous routes: submissions and photo uploads per client address and per
intake code, ratings and supplements per client address.

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


def upload_limits(request: Request, code_id: int) -> list[Limit]:
    settings = get_settings()
    return [
        Limit(f"upload:addr:{address(request)}", Rate.parse(settings.limit_uploads_per_address)),
        Limit(f"upload:code:{code_id}", Rate.parse(settings.limit_uploads_per_code)),
    ]


async def count_uploads(
    request: Request, connection: AsyncConnection, code_id: int, photos: int = 1
) -> int | None:
    """Counts ``photos`` uploads through the code (the form's photos each count); the Retry-After past a limit."""
    retry_after = None
    for _ in range(photos):
        retry_after = await ratelimit.hit(connection, upload_limits(request, code_id))
        if retry_after is not None:
            break
    return retry_after


async def _limit_json_upload(
    request: Request, token: str, connection: Autocommit, directory: CodeDirectory
) -> None:
    route = await directory.route(token)
    retry_after = await count_uploads(request, connection, route.code_id)
    if retry_after is not None:
        raise TooManyRequests(retry_after)


# On the JSON upload route: refused before the photo is decoded.
UploadLimit = Depends(_limit_json_upload)


def case_post_limits(request: Request) -> list[Limit]:
    return [
        Limit(f"casepost:addr:{address(request)}", Rate.parse(get_settings().limit_case_posts_per_address))
    ]


async def count_case_post(request: Request, connection: AsyncConnection) -> int | None:
    """Counts a rating or a supplement from the client's address; the Retry-After past the limit."""
    return await ratelimit.hit(connection, case_post_limits(request))


async def _limit_json_case_post(request: Request, connection: Autocommit) -> None:
    retry_after = await count_case_post(request, connection)
    if retry_after is not None:
        raise TooManyRequests(retry_after)


# On the JSON rating and supplement routes: refused before the case is looked up or locked.
CasePostLimit = Depends(_limit_json_case_post)

# The form's text fields (never files) put back on the page a refused citizen sees.
_TEXT_FIELDS = (*SubmissionIn.model_fields, "submission_key")


async def too_many_page(
    request: Request, connection: AsyncConnection, directory: Directory, token: str, retry_after: int
) -> Response:
    """429 for the HTML form: the form again, with what the citizen typed (escaped by the template), a
    message saying when to try again, and the same submission key (nothing was created)."""
    posted = await request.form(max_files=16, max_fields=64, max_part_size=64 * 1024)
    values = {name: value for name in _TEXT_FIELDS if isinstance(value := posted.get(name), str)}
    return await too_many_form(request, connection, directory, token, values, retry_after)


async def too_many_form(
    request: Request,
    connection: AsyncConnection,
    directory: Directory,
    token: str,
    values: dict[str, str],
    retry_after: int,
    *,
    photos: bool = False,
) -> Response:
    """The 429 form page for values already read; ``photos`` says the chosen photos must be chosen again."""
    form = await open_form(connection, directory, token)
    key = values.get("submission_key")
    if key is not None and form_keys.is_issued(key):
        form = replace(form, submission_key=key)
    message = f"{too_many_message(retry_after)}。您填写的内容仍保留在下方，届时可直接再次提交。"
    errors = {"limit": message}
    if photos:
        errors["photos"] = "照片没有保存，届时请重新选择照片"
    response = render(request, "intake_form.html", {"form": form, "values": values, "errors": errors}, 429)
    response.headers["Retry-After"] = str(retry_after)
    return response


def _longest_window() -> int:
    settings = get_settings()
    specs = (
        settings.limit_submissions_per_address,
        settings.limit_submissions_per_code,
        settings.limit_uploads_per_address,
        settings.limit_uploads_per_code,
        settings.limit_case_posts_per_address,
    )
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
