"""Errors of the duplicate search and of merging (并案)."""

from __future__ import annotations

from services.workflow.errors import STATUS_LABELS
from shared.errors import Conflict, NotFound


class CaseNotFound(NotFound):
    code = "case_not_found"
    message = "未找到该事项"


class MainCaseNotFound(NotFound):
    code = "main_case_not_found"
    message = "未找到要并入的主事项"


class NotMergeable(Conflict):
    """Only a case not yet answered (received, dispatched, in progress) can be merged into another."""

    code = "not_mergeable"

    def __init__(self, status: str) -> None:
        super().__init__(f"该事项当前为“{STATUS_LABELS.get(status, status)}”，只有尚未答复的事项可以并案")
        self.status = status


class AlreadyMerged(Conflict):
    code = "already_merged"

    def __init__(self, main_tracking_no: str) -> None:
        super().__init__(f"该事项已并入编号 {main_tracking_no} 的事项，如需改并请先撤销并案")
        self.main_tracking_no = main_tracking_no


class HasDuplicates(Conflict):
    """A main case keeps the cases merged into it: chains of merges are not made."""

    code = "has_duplicates"

    def __init__(self, count: int, into_tracking_no: str) -> None:
        super().__init__(
            f"已有 {count} 件事项并入该事项，不能再将其并入其他事项；"
            f"可改为将编号 {into_tracking_no} 的事项并入该事项"
        )
        self.count = count


class MainCaseMerged(Conflict):
    code = "main_case_merged"

    def __init__(self, tracking_no: str, main_tracking_no: str) -> None:
        super().__init__(
            f"编号 {tracking_no} 的事项已并入编号 {main_tracking_no} 的事项，请直接并入编号 {main_tracking_no} 的事项"
        )
        self.main_tracking_no = main_tracking_no


class MainCaseRejected(Conflict):
    code = "main_case_rejected"

    def __init__(self, tracking_no: str) -> None:
        super().__init__(f"编号 {tracking_no} 的事项不予受理，不能作为并案的主事项")


class NotMerged(Conflict):
    code = "not_merged"
    message = "该事项未并案，无需撤销"


class MergeChanged(Conflict):
    """Another request merged or unmerged the case between reading and locking it."""

    code = "merge_changed"
    message = "该事项的并案状态刚刚发生变化，请刷新后重试"


class UnmergeWindowClosed(Conflict):
    code = "unmerge_window_closed"
    message = "并案已超过 24 小时，不能撤销"


class MergedCitizenRated(Conflict):
    code = "merged_citizen_rated"
    message = "反映人已对主事项的答复作出评价，不能撤销并案"
