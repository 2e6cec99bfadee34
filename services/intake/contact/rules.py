"""Contact days from a rule, pure: the nth weekday of each month, moved off statutory holidays as the rule says,
with added and cancelled dates on top. No database here (services.intake.contact.schedule loads what this
computes with)."""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, time, timedelta

from shared.db.enums import ContactDayChangeKind, HolidayRule

# The statutory default (Gusu's practice): the 2nd Sunday of every month, in the morning, moved a week later
# when it falls on a statutory holiday. Stations typically receive 9:00-11:30; a jurisdiction sets its own.
DEFAULT_NTH = 2
DEFAULT_WEEKDAY = 6
DEFAULT_STARTS_AT = time(9, 0)
DEFAULT_ENDS_AT = time(11, 30)

# A postponed day is tried one week later, then again; no statutory holiday lasts longer than this.
MAX_POSTPONE_WEEKS = 4
# How far before a range a rule date may lie and still be postponed into it.
_LOOKBACK = timedelta(weeks=MAX_POSTPONE_WEEKS)

WEEKDAY_LABELS = ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")
NTH_LABELS = {1: "第一个", 2: "第二个", 3: "第三个", 4: "第四个", -1: "最后一个"}
HOLIDAY_RULE_LABELS = {
    HolidayRule.postpone: "遇法定节假日顺延一周",
    HolidayRule.skip: "遇法定节假日当月不安排",
    HolidayRule.keep: "遇法定节假日照常接待",
}


class Reason:
    """Why a date is a contact day."""

    rule = "rule"  # the rule gives it
    postponed = "postponed"  # the rule gave an earlier date, which fell on a statutory holiday
    added = "added"  # added by hand (station or jurisdiction)


@dataclass(frozen=True)
class Rule:
    nth: int  # 1-4, or -1 for the last
    weekday: int  # 0 Monday ... 6 Sunday
    starts_at: time
    ends_at: time
    on_holiday: str = HolidayRule.postpone

    def when(self) -> str:
        """每月第二个星期日 09:00-11:30"""
        hours = f"{self.starts_at:%H:%M}-{self.ends_at:%H:%M}"
        return f"每月{NTH_LABELS[self.nth]}{WEEKDAY_LABELS[self.weekday]} {hours}"

    def holiday_label(self) -> str:
        """遇法定节假日顺延一周"""
        return HOLIDAY_RULE_LABELS[HolidayRule(self.on_holiday)]

    def description(self) -> str:
        """每月第二个星期日 09:00-11:30，遇法定节假日顺延一周"""
        return f"{self.when()}，{self.holiday_label()}"


DEFAULT_RULE = Rule(DEFAULT_NTH, DEFAULT_WEEKDAY, DEFAULT_STARTS_AT, DEFAULT_ENDS_AT, HolidayRule.postpone)


@dataclass(frozen=True)
class Change:
    """A date added or cancelled; ``station`` tells a station's own change from the jurisdiction's."""

    day: date
    change: str
    note: str | None = None
    station: bool = False


@dataclass(frozen=True)
class ContactDay:
    day: date
    starts_at: time
    ends_at: time
    reason: str
    # Postponed: the rule's date it replaces; with ``holiday`` the holiday that date fell on. ``holiday`` alone:
    # the rule keeps its date on a holiday (on_holiday=keep).
    postponed_from: date | None = None
    holiday: str | None = None
    note: str | None = None

    def reason_label(self) -> str:
        if self.reason == Reason.postponed and self.postponed_from is not None:
            return f"因{self.holiday or '法定节假日'}顺延（原定{_short(self.postponed_from)}）"
        if self.reason == Reason.added:
            return "临时增加" + (f"：{self.note}" if self.note else "")
        if self.holiday:
            return f"{self.holiday}期间照常接待"
        return "例行联系日"


def _short(day: date) -> str:
    return f"{day.month}月{day.day}日"


def nth_weekday(year: int, month: int, nth: int, weekday: int) -> date:
    """The nth (1-4, or -1: the last) given weekday of a month; 1-4 always exist."""
    days_in_month = calendar.monthrange(year, month)[1]
    if nth == -1:
        last = date(year, month, days_in_month)
        return last - timedelta(days=(last.weekday() - weekday) % 7)
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (nth - 1))


def _months(start: date, end: date) -> Iterable[tuple[int, int]]:
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        yield year, month
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


HolidayName = Callable[[date], str | None]


def rule_days(rule: Rule, start: date, end: date, holiday_name: HolidayName) -> list[ContactDay]:
    """The rule's contact days in [start, end], after its holiday handling."""
    found: list[ContactDay] = []
    for year, month in _months(start - _LOOKBACK, end):
        ruled = nth_weekday(year, month, rule.nth, rule.weekday)
        holiday = holiday_name(ruled)
        day: date | None = ruled
        if holiday is not None and rule.on_holiday == HolidayRule.skip:
            day = None
        elif holiday is not None and rule.on_holiday == HolidayRule.postpone:
            day = None
            candidate = ruled
            for _ in range(MAX_POSTPONE_WEEKS):
                candidate += timedelta(weeks=1)
                if holiday_name(candidate) is None:
                    day = candidate
                    break
        if day is None or not start <= day <= end:
            continue
        if day != ruled:
            found.append(
                ContactDay(
                    day, rule.starts_at, rule.ends_at, Reason.postponed, postponed_from=ruled, holiday=holiday
                )
            )
        else:
            found.append(ContactDay(day, rule.starts_at, rule.ends_at, Reason.rule, holiday=holiday))
    return found


def effective_changes(jurisdiction: Iterable[Change], station: Iterable[Change]) -> dict[date, Change]:
    """One change per date: the station's own wins over the jurisdiction's for the same date."""
    changes = {c.day: c for c in jurisdiction}
    changes.update({c.day: c for c in station})
    return changes


def contact_days(
    rule: Rule, changes: Mapping[date, Change], start: date, end: date, holiday_name: HolidayName
) -> list[ContactDay]:
    """The contact days in [start, end]: the rule's, less the cancelled ones, plus the added ones, by date.

    A cancellation names a date as listed; cancelling a rule date that was postponed cancels the day it moved
    to as well. An added date is a contact day whatever the calendar says (someone chose it).
    """
    cancelled = {day for day, c in changes.items() if c.change == ContactDayChangeKind.cancelled}
    days = {
        d.day: d
        for d in rule_days(rule, start, end, holiday_name)
        if d.day not in cancelled and d.postponed_from not in cancelled
    }
    for day, change in changes.items():
        if change.change != ContactDayChangeKind.added or not start <= day <= end:
            continue
        if day in days:  # already a contact day: it stays what it is, with the note
            days[day] = replace(days[day], note=change.note)
        else:
            days[day] = ContactDay(day, rule.starts_at, rule.ends_at, Reason.added, note=change.note)
    return [days[day] for day in sorted(days)]
