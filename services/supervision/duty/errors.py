"""Errors of duty points and the deputy's file."""

from __future__ import annotations

from shared.errors import NotFound


class DeputyNotFound(NotFound):
    code = "deputy_not_found"
    message = "未找到该代表"
