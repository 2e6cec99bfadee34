"""Errors of supervision: deadlines and the calendar, API keys, jurisdictions, webhooks and the case search."""

from __future__ import annotations

from shared.errors import Conflict, Forbidden, NotFound, Unprocessable


class FieldInvalid(Unprocessable):
    """A 422 naming the one field that is wrong, with a Chinese explanation."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, details=[{"field": field, "message": message}])


class UnknownTier(FieldInvalid):
    def __init__(self, tier: str, field: str = "tier") -> None:
        super().__init__(field, f"未知的时限档次“{tier}”")


class CaseNotFound(NotFound):
    code = "case_not_found"
    message = "未找到该事项"


class OverrideNotFound(NotFound):
    code = "calendar_override_not_found"
    message = "未找到该日期的工作日调整"


class ApiKeyNotFound(NotFound):
    code = "api_key_not_found"
    message = "未找到该访问密钥"


class LastAdminKey(Conflict):
    code = "last_admin_key"
    message = "这是本辖区最后一个有效的管理员密钥，不能吊销"


class JurisdictionExists(Conflict):
    code = "jurisdiction_exists"
    message = "该辖区代码已存在"


class WebhookNotFound(NotFound):
    code = "webhook_not_found"
    message = "未找到该回调地址"


class ExtensionRequestNotFound(NotFound):
    code = "extension_request_not_found"
    message = "未找到该延期申请"


class ExtensionAlreadyDecided(Conflict):
    code = "extension_decided"
    message = "该延期申请已审批，不能再次审批"


class ExtensionMoot(Conflict):
    code = "extension_moot"
    message = "该单位本轮已答复或已不再承办此事项，答复期限无从延长；可驳回该申请"


class ExtensionBeyondCap(Unprocessable):
    """A 422 on ``until`` that names the latest date the policy allows, so the approver can grant that."""

    code = "extension_beyond_cap"

    def __init__(self, message: str, max_until: str) -> None:
        super().__init__(message, details=[{"field": "until", "message": message, "max_until": max_until}])


class FollowUpNotFound(NotFound):
    code = "follow_up_not_found"
    message = "未找到该回头看记录"


class FollowUpAlreadyRecorded(Conflict):
    code = "follow_up_recorded"
    message = "该回头看已记录结果"


class FollowUpMoot(Conflict):
    code = "follow_up_moot"
    message = "该事项已重新办理，此次回头看已取消"


class LeadSupervisorRequired(FieldInvalid):
    def __init__(self) -> None:
        super().__init__("lead_supervisor", "重点督办须指定领衔督办的常委会领导")


class CaseNotSupervisable(Conflict):
    code = "case_not_supervisable"
    message = "该事项已并案或不予受理，不能督办"


class CosignerCannotRate(Forbidden):
    code = "cosigner_cannot_rate"
    message = "联名代表不能评价答复，由领衔提出建议的代表评价"


class SuggestionNotReplied(Unprocessable):
    code = "suggestion_not_replied"
    message = "该建议尚未答复，暂不能评价"


class SuggestionClosed(Unprocessable):
    code = "suggestion_closed"
    message = "该建议已办结，不能再评价"


class SuggestionWithoutDeputy(Unprocessable):
    code = "suggestion_without_deputy"
    message = "该建议没有提出建议的代表，无从记录代表的评价"


class ContactConfidential(Forbidden):
    code = "contact_confidential"
    message = "该事项为保密事项，不能查看提交人的联系方式"


class ContactRoleNotAllowed(Forbidden):
    code = "contact_role_not_allowed"
    message = "本辖区的设置不允许当前角色查看提交人的联系方式"
