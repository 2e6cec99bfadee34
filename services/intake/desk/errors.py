"""Errors of the deputy's desk, each with its HTTP status and a Chinese message."""

from __future__ import annotations

from shared.errors import Conflict, Forbidden, NotFound, Unprocessable


class DeskCaseNotFound(NotFound):
    """Unknown, another jurisdiction's, or not one of the deputy's cases: all look the same."""

    code = "case_not_found"
    message = "未找到该事项"


class NoticeNotFound(NotFound):
    code = "notice_not_found"
    message = "未找到该提醒"


class DeputyKeyWithoutDeputy(Forbidden):
    code = "deputy_key_without_deputy"
    message = "该密钥未关联人大代表，不能使用代表工作台"


class DeputyInactive(Forbidden):
    code = "deputy_inactive"
    message = "该代表已停用，不能提出建议或转为代表建议"


class CaseNotAdoptable(Unprocessable):
    """A merged or rejected case is no matter of its own any more."""

    code = "case_not_adoptable"

    def __init__(self, status_label: str) -> None:
        super().__init__(f"该事项当前状态为“{status_label}”，不能转为代表建议")


class CaseAlreadyAdopted(Conflict):
    code = "case_already_adopted"

    def __init__(self, suggestion_id: int, suggestion_tracking_no: str) -> None:
        message = f"该事项已转为代表建议（编号 {suggestion_tracking_no}），不能重复转办"
        super().__init__(
            message,
            details=[
                {
                    "field": "case_id",
                    "message": message,
                    "suggestion_id": suggestion_id,
                    "suggestion_tracking_no": suggestion_tracking_no,
                }
            ],
        )
        self.suggestion_id = suggestion_id


class NoCodeForPhotos(Unprocessable):
    """A deputy's photos are filed under one of their own intake codes; without one there is nowhere."""

    code = "no_code_for_photos"
    message = "您名下暂无在用的一人一码，暂不能上传照片，请联系管理员生成二维码"


class HotspotNotFound(NotFound):
    """Unknown, another jurisdiction's, or (for a deputy) of a grid none of the deputy's stations serves."""

    code = "hotspot_not_found"
    message = "未找到该热点"


class HotspotNotOpen(Conflict):
    """Only an open hot spot becomes a suggestion: a converted one has its suggestion, a closed one calmed."""

    code = "hotspot_not_open"

    def __init__(self, status_label: str, suggestion: tuple[int, str] | None) -> None:
        message = f"该热点当前为“{status_label}”，只有持续反映中的热点可以形成代表建议"
        detail: dict[str, object] = {"field": "hotspot_id", "message": message}
        if suggestion is not None:
            message = f"该热点已形成代表建议（编号 {suggestion[1]}），不能重复转办"
            detail = {
                "field": "hotspot_id",
                "message": message,
                "suggestion_id": suggestion[0],
                "suggestion_tracking_no": suggestion[1],
            }
        super().__init__(message, details=[detail])


class HotspotWithoutEvidence(Conflict):
    code = "hotspot_without_evidence"
    message = "该热点中的群众反映均已不予受理，不能形成代表建议"
