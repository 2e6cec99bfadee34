"""Errors of routing: taxonomy and rule administration, dispatch and the department's work on assignments."""

from __future__ import annotations

from shared.errors import Conflict, NotFound, Unprocessable

ROLE_LABELS = {"lead": "主办", "co": "协办", "separate": "分办"}
ASSIGNMENT_STATUS_LABELS = {
    "pending": "待签收",
    "accepted": "已签收",
    "declined": "已退回",
    "replied": "已答复",
    "withdrawn": "已撤回",
}


class GridNotFound(NotFound):
    code = "grid_not_found"
    message = "未找到该网格"


class CommitteeNotFound(NotFound):
    code = "committee_not_found"
    message = "未找到该对口委办"


class CategoryNotFound(NotFound):
    code = "category_not_found"
    message = "未找到该问题分类"


class DepartmentNotFound(NotFound):
    code = "department_not_found"
    message = "未找到该承办单位"


class RuleNotFound(NotFound):
    code = "routing_rule_not_found"
    message = "未找到该路由规则"


class AssignmentNotFound(NotFound):
    code = "assignment_not_found"
    message = "未找到该交办事项"


class DuplicateCode(Conflict):
    code = "duplicate_code"

    def __init__(self, what: str, code: str) -> None:
        super().__init__(f"{what}编码“{code}”已存在")


class AssignmentStateConflict(Conflict):
    """The assignment is not in a state that allows the action."""

    code = "assignment_state_conflict"

    def __init__(self, status: str, action: str) -> None:
        label = ASSIGNMENT_STATUS_LABELS.get(status, status)
        super().__init__(f"该交办事项当前为“{label}”，不能{action}")
        self.status = status


class AlreadyAccepted(AssignmentStateConflict):
    code = "already_accepted"

    def __init__(self, status: str) -> None:
        super().__init__(status, "再次签收")


class NotAccepted(Conflict):
    code = "not_accepted"
    message = "请先签收该交办事项"


class WrongAssignmentRole(Conflict):
    """The department's role on the case (lead, co, separate) does not allow the action."""

    code = "wrong_assignment_role"

    def __init__(self, role: str, action: str) -> None:
        super().__init__(f"{ROLE_LABELS.get(role, role)}单位不能{action}")
        self.role = role


class DeclineWindowClosed(Conflict):
    code = "decline_window_closed"
    message = "已超过退回期限，不能退回；如确非本单位职责，请联系交办人员改派"

    def __init__(self, assignment_id: int) -> None:
        super().__init__()
        self.assignment_id = assignment_id


class CaseNotActive(Conflict):
    """The case is closed, merged, rejected or back in the dispatch queue: its assignments are frozen."""

    code = "case_not_active"
    message = "该事项当前不在办理中，不能执行此操作"


class ExtensionAlreadyPending(Conflict):
    code = "extension_pending"
    message = "已有一项延期申请正在审批，请等候审批结果后再申请"


class NoReplyDeadline(Conflict):
    code = "no_reply_deadline"
    message = "该交办事项尚无答复期限，暂不能申请延期"


class ReplyDeadlinePassed(Conflict):
    code = "reply_deadline_passed"
    message = "答复期限已过，不能再申请延期；请尽快答复，或联系督办人员"


class NotSuggestionAnswerer(Unprocessable):
    code = "not_suggestion_answerer"
    message = "只有代表建议的主办或分办单位才能登记与代表的沟通"


class ConsultationRequired(Unprocessable):
    """The jurisdiction's policy (require_consultation): a suggestion is answered after consulting its deputy."""

    code = "consultation_required"
    message = "本建议须先与代表沟通（面商、电话或书面）并登记，方可答复"
