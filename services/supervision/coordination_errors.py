"""Errors of the coordination meeting's difficult cases and of the rapid-handling fund."""

from __future__ import annotations

from shared.errors import Conflict, NotFound


class DifficultCaseNotFound(NotFound):
    code = "difficult_case_not_found"
    message = "未找到该疑难事项"


class CaseNotMarkable(Conflict):
    code = "case_not_markable"
    message = "只有已交办、办理中或重新办理的事项才能提交协调会"


class AlreadyMarked(Conflict):
    code = "already_marked_difficult"
    message = "该事项已提交协调会，尚待决定"


class DifficultCaseNotPending(Conflict):
    code = "difficult_case_not_pending"
    message = "该疑难事项已有决定或已撤回"


class FundNotFound(NotFound):
    code = "fund_not_found"
    message = "未找到该经费"


class AllocationNotFound(NotFound):
    code = "allocation_not_found"
    message = "未找到该笔经费分配"


class FundExists(Conflict):
    code = "fund_exists"
    message = "本辖区该年度已有同名经费"


class InsufficientFund(Conflict):
    code = "insufficient_fund"
    message = "经费余额不足"


class BudgetBelowAllocated(Conflict):
    code = "budget_below_allocated"
    message = "预算不能低于已分配的金额"


class FundInUse(Conflict):
    code = "fund_in_use"
    message = "该经费已有分配记录，不能删除"


class AllocationExceeded(Conflict):
    code = "allocation_exceeded"
    message = "支出超出该笔分配的剩余金额"


class CaseNotFundable(Conflict):
    code = "case_not_fundable"
    message = "已并案或不予受理的事项不能分配经费"
