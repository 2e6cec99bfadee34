"""Errors of metrics, with Chinese messages."""

from __future__ import annotations

from services.supervision.errors import FieldInvalid
from shared.errors import NotFound


class UnknownFilter(FieldInvalid):
    """A filter naming something the jurisdiction does not have (a category code, a grid code, an id)."""

    def __init__(self, field: str, what: str) -> None:
        super().__init__(field, f"本辖区没有该{what}")


class DepartmentOutOfScope(NotFound):
    """A department key asked for another department's numbers."""

    code = "department_not_found"
    message = "未找到该承办单位"


class WeightsInvalid(FieldInvalid):
    def __init__(self, total: int) -> None:
        super().__init__("weights", f"响应率、解决率、满意率三项权重之和须为 100（现为 {total}）")
