"""User-facing names of duty actions, deputies' levels, case states and ratings in the ledger, the ranking
and the file."""

from __future__ import annotations

from services.workflow.errors import STATUS_LABELS
from shared.db.enums import DutyAction

__all__ = ["ACTION_LABELS", "LEVEL_LABELS", "RATING_LABELS", "STATUS_LABELS"]

ACTION_LABELS: dict[str, str] = {
    DutyAction.reception: "参加接待",
    DutyAction.case_raised: "代表码反映问题",
    DutyAction.suggestion_submitted: "提出建议",
    DutyAction.suggestion_cosigned: "联名建议",
    DutyAction.rating_given: "评价答复",
    DutyAction.follow_up: "回头看",
    DutyAction.adjustment: "积分调整",
}

LEVEL_LABELS = {
    "national": "全国人大代表",
    "provincial": "省人大代表",
    "city": "市人大代表",
    "county": "区（县）人大代表",
    "township": "乡镇（街道）人大代表",
}

RATING_LABELS = {"satisfied": "满意", "basically_satisfied": "基本满意", "dissatisfied": "不满意"}
