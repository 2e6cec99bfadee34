"""Errors of the case state machine."""

from __future__ import annotations

from shared.errors import Conflict, NotFound, Unprocessable

STATUS_LABELS = {
    "received": "已受理",
    "dispatched": "已交办",
    "in_progress": "办理中",
    "replied": "已答复",
    "rework": "重新办理",
    "closed": "已办结",
    "merged": "已并案",
    "rejected": "不予受理",
}


class IllegalTransition(Conflict):
    code = "illegal_transition"

    def __init__(self, from_status: str, to_status: str) -> None:
        super().__init__(
            f"事项当前状态为“{STATUS_LABELS.get(from_status, from_status)}”，"
            f"不能变更为“{STATUS_LABELS.get(to_status, to_status)}”"
        )
        self.from_status = from_status
        self.to_status = to_status


class AlreadyRated(Conflict):
    code = "already_rated"
    message = "本轮答复已评价，不能重复评价"


class NotAwaitingRating(Conflict):
    code = "not_awaiting_rating"
    message = "事项尚未答复或已办结，暂不能评价"


class SuggestionRatedByDeputy(Unprocessable):
    """A deputy suggestion is rated by its deputy (supervision_api), never through the citizen's page."""

    code = "suggestion_rated_by_deputy"
    message = "代表建议由提出建议的代表评价，不能在此评价"


class CitizenCaseRatedByCitizen(Unprocessable):
    code = "citizen_case_rated_by_citizen"
    message = "群众反映由群众评价"


class PhotoNotFound(NotFound):
    """Unknown, in another jurisdiction, not attached to a case, or of a case the caller may not read."""

    code = "photo_not_found"
    message = "未找到该照片"
