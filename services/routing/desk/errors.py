"""Errors of the dispatcher's desk."""

from __future__ import annotations

from services.workflow.errors import STATUS_LABELS
from shared.errors import Conflict, NotFound


class CaseNotFound(NotFound):
    code = "case_not_found"
    message = "未找到该事项"


class NotDispatchable(Conflict):
    """Only a received case, or a flagged case still being handled, can be dispatched by hand."""

    code = "not_dispatchable"

    def __init__(self, status: str) -> None:
        super().__init__(f"该事项当前为“{STATUS_LABELS.get(status, status)}”，不能交办")
        self.status = status


class NotRejectable(Conflict):
    code = "not_rejectable"

    def __init__(self, status: str) -> None:
        super().__init__(
            f"该事项当前为“{STATUS_LABELS.get(status, status)}”，只有尚未签收办理的事项可以不予受理"
        )
        self.status = status


class NotFlagged(Conflict):
    code = "not_flagged"
    message = "该事项没有待处理的承办单位提请"


class AlreadyFlagged(Conflict):
    code = "already_flagged"
    message = "该事项已在交办队列中等待处理"


class NotReturnable(Conflict):
    """Only a case not yet dispatched goes back to its citizen; one being handled is the departments'."""

    code = "not_returnable"

    def __init__(self, status: str) -> None:
        super().__init__(
            f"该事项当前为“{STATUS_LABELS.get(status, status)}”，只有尚未交办的事项可以退回群众补充"
        )
        self.status = status


class AlreadyReturned(Conflict):
    code = "already_returned"
    message = "该事项已退回群众补充，正在等待群众补充说明"
