"""Errors of contact days, rosters and receptions, each with its HTTP status and a Chinese message."""

from __future__ import annotations

from shared.errors import Forbidden, NotFound, Unprocessable


class DayChangeNotFound(NotFound):
    code = "contact_day_change_not_found"
    message = "该日期没有增加或取消联系日的记录"


class StationPageNotFound(NotFound):
    code = "station_not_found"
    message = "未找到该联络站"


class NotPresentAtReception(Forbidden):
    """A deputy records only receptions they were at."""

    code = "not_present_at_reception"
    message = "代表只能登记本人参加的接待，请在接待代表中包含本人"


class InvalidRange(Unprocessable):
    code = "invalid_range"

    def __init__(self, message: str, field: str = "to") -> None:
        super().__init__(message, details=[{"field": field, "message": message}])
