"""Structured logging (structlog) with the request id bound per request.

Every line names its service, and, inside a request or while a receiver applies an event, the request id
(``request_id``): the X-Request-ID of the request that started it all, carried on outbox rows and internal
batches, so one citizen's submission can be followed through intake, routing and supervision. Lines written
through the standard library's ``logging`` (libraries) get the same fields and the same renderer.
"""

from __future__ import annotations

import logging
import re
import sys

import structlog
from structlog.types import EventDict, Processor, WrappedLogger

from shared.settings import get_settings

# What a caller may name a request: short, and only characters that are safe in logs and headers.
SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def sane_request_id(value: object) -> str | None:
    """The value when it is a usable request id (an X-Request-ID header, an event's request_id), else None."""
    return value if isinstance(value, str) and SANE_REQUEST_ID.match(value) else None


def _service_adder(service: str) -> Processor:
    def add_service(logger: WrappedLogger, method: str, event_dict: EventDict) -> EventDict:
        event_dict.setdefault("service", service)
        return event_dict

    return add_service


def configure_logging(service: str) -> None:
    settings = get_settings()
    level = logging.getLevelNamesMapping().get(settings.log_level.upper(), logging.INFO)
    renderer: Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if settings.log_json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        _service_adder(service),
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[
            *shared,
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    root = logging.getLogger()
    if not root.handlers:  # as logging.basicConfig: a host that set up logging (a test runner) keeps its own
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(
            structlog.stdlib.ProcessorFormatter(
                foreign_pre_chain=shared,
                processors=[
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info,
                    renderer,
                ],
            )
        )
        root.addHandler(handler)
        root.setLevel(logging.WARNING)


def current_request_id() -> str | None:
    """The request id bound to the logs now (a request, or an event a receiver is applying), else None."""
    value = structlog.contextvars.get_contextvars().get("request_id")
    return value if isinstance(value, str) else None
