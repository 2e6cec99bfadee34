"""Errors of key supervision (重点督办) and its three checks a year (一年三督)."""

from __future__ import annotations

from services.workflow.errors import STATUS_LABELS
from shared.errors import Conflict, NotFound

STAGE_LABELS = {"start": "年初确定", "mid": "年中督查", "end": "年终评估"}


class KeyItemNotFound(NotFound):
    code = "key_item_not_found"
    message = "未找到该重点督办事项"


class KeyItemExists(Conflict):
    code = "key_item_exists"

    def __init__(self, year: int) -> None:
        super().__init__(f"该事项已列为 {year} 年度重点督办事项")


class CaseNotSupervisable(Conflict):
    code = "case_not_supervisable"

    def __init__(self, status: str) -> None:
        super().__init__(f"事项当前为“{STATUS_LABELS.get(status, status)}”，不能列为重点督办事项")


class CheckAlreadyRecorded(Conflict):
    code = "key_check_recorded"

    def __init__(self, stage: str) -> None:
        super().__init__(f"该事项的“{STAGE_LABELS[stage]}”已经记录，不能重复记录")


class CheckOutOfOrder(Conflict):
    code = "key_check_out_of_order"

    def __init__(self, stage: str, missing: str) -> None:
        super().__init__(f"请先记录“{STAGE_LABELS[missing]}”，再记录“{STAGE_LABELS[stage]}”")
