"""A year's official schedule (holidays and make-up working days) as typed in from the State Council notice:
the CSV file format of docs/calendar.md, the same list as JSON, and the checks both pass before it is loaded.

A date the schedule does not list follows the week: Saturdays and Sundays are rest days, the others working days.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from shared.errors import Unprocessable

HOLIDAY, WORKDAY = "holiday", "workday"
CSV_HEADER = ("date", "kind", "name")
# What a date's note says when the schedule gives it no name.
DEFAULT_NAMES = {HOLIDAY: "法定节假日", WORKDAY: "调休上班"}
MAX_NAME = 50
MAX_CSV_BYTES = 64 * 1024  # a year's schedule is about 40 lines
MAX_PROBLEMS = 50
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_WEEKDAYS = "一二三四五六日"


@dataclass(frozen=True)
class ScheduleDay:
    day: date
    is_workday: bool
    name: str


@dataclass(frozen=True)
class Schedule:
    year: int
    days: tuple[ScheduleDay, ...]

    @property
    def holidays(self) -> int:
        return sum(not d.is_workday for d in self.days)

    @property
    def workdays(self) -> int:
        return sum(d.is_workday for d in self.days)


@dataclass(frozen=True)
class Entry:
    """One listed date before the checks: ``where`` is its place (a CSV line number or a JSON index)."""

    where: int
    day: str | date
    kind: str
    name: str | None


class _Problems:
    """Every problem of a schedule, each tied to its line (CSV) or item (JSON), so one round of fixes does."""

    def __init__(self, *, csv_lines: bool) -> None:
        self.csv_lines = csv_lines
        self.items: list[dict[str, Any]] = []

    def add(self, where: int, field: str, message: str) -> None:
        if self.csv_lines:
            self.items.append({"line": where, "field": field, "message": f"第 {where} 行：{message}"})
        else:
            self.items.append(
                {"index": where, "field": f"days.{where}.{field}", "message": f"第 {where + 1} 项：{message}"}
            )

    def raise_any(self) -> None:
        if self.items:
            # In file order: a line's shape is checked as it is read, its content once all are read.
            order = "line" if self.csv_lines else "index"
            self.items.sort(key=lambda item: int(item.get(order, 0)))
            shown = [{k: v for k, v in item.items() if k != "index"} for item in self.items[:MAX_PROBLEMS]]
            first = shown[0]["message"]
            message = first if len(self.items) == 1 else f"日程有 {len(self.items)} 处错误，首处：{first}"
            raise Unprocessable(message, details=shown)


def decode_csv(data: bytes) -> str:
    """The file's text: UTF-8 (with or without the BOM Excel writes), else GB18030 (Excel on Chinese Windows)."""
    if len(data) > MAX_CSV_BYTES:
        raise Unprocessable(f"文件过大：一年的日程不应超过 {MAX_CSV_BYTES // 1024} KB")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise Unprocessable("无法识别文件编码，请保存为 UTF-8 编码的 CSV") from exc


def parse_csv(text: str, year: int | None = None) -> Schedule:
    """Reads the CSV format: a ``date,kind,name`` header, then one date per line; blank lines and lines
    starting with ``#`` are skipped. ``year``: the year it must be (else the first date's year)."""
    problems = _Problems(csv_lines=True)
    entries: list[Entry] = []
    header_seen = False
    for number, line in enumerate(text.lstrip("\ufeff").splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cells = [cell.strip() for cell in next(csv.reader([line]))]
        if not header_seen:
            header_seen = True
            if tuple(cell.lower() for cell in cells) != CSV_HEADER:
                problems.add(number, "header", f"首行应为表头 {','.join(CSV_HEADER)}")
                problems.raise_any()
            continue
        if len(cells) not in (2, 3):
            problems.add(number, "line", f"应有 3 列（date,kind,name），实际 {len(cells)} 列")
            continue
        entries.append(Entry(number, cells[0], cells[1], cells[2] if len(cells) == 3 else None))
    if not header_seen:
        raise Unprocessable("文件是空的：首行应为表头 date,kind,name，其后每行一个日期")
    return _checked(entries, year, problems)


def from_items(items: Iterable[tuple[date, str, str | None]], year: int) -> Schedule:
    """The JSON form, already typed by the API: (date, kind, name) in the order given."""
    entries = [Entry(index, day, kind, name) for index, (day, kind, name) in enumerate(items)]
    return _checked(entries, year, _Problems(csv_lines=False))


def _checked(entries: list[Entry], year: int | None, problems: _Problems) -> Schedule:
    days: list[ScheduleDay] = []
    seen: dict[date, int] = {}
    for entry in entries:
        day = _date(entry, problems)
        if day is None:
            continue
        if year is None:
            year = day.year
        kind = entry.kind.strip().lower()
        name = (entry.name or "").strip() or DEFAULT_NAMES.get(kind, "")
        if day.year != year:
            problems.add(
                entry.where,
                "date",
                f"{day.isoformat()} 不在 {year} 年内；别的年份的调休日请作为工作日调整单独录入",
            )
        elif day in seen:
            place = f"第 {seen[day]} 行" if problems.csv_lines else f"第 {seen[day] + 1} 项"
            problems.add(entry.where, "date", f"{day.isoformat()} 重复，已见于{place}")
        elif kind not in (HOLIDAY, WORKDAY):
            problems.add(
                entry.where, "kind", f"类别“{entry.kind}”无效，应为 holiday（放假）或 workday（调休上班）"
            )
        elif kind == WORKDAY and day.weekday() < 5:
            problems.add(
                entry.where,
                "date",
                f"{day.isoformat()} 是星期{_WEEKDAYS[day.weekday()]}，本就是工作日；调休上班日应在周六或周日",
            )
        elif len(name) > MAX_NAME:
            problems.add(entry.where, "name", f"名称过长（最多 {MAX_NAME} 字）")
        else:
            days.append(ScheduleDay(day, kind == WORKDAY, name))
        seen.setdefault(day, entry.where)
    problems.raise_any()
    if year is None or not any(not d.is_workday for d in days):
        raise Unprocessable("日程中没有任何放假日期：请按国务院办公厅通知逐日列出节假日")
    return Schedule(year, tuple(sorted(days, key=lambda d: d.day)))


def _date(entry: Entry, problems: _Problems) -> date | None:
    if isinstance(entry.day, date):
        return entry.day
    if _DATE.match(entry.day):
        try:
            return date.fromisoformat(entry.day)
        except ValueError:
            pass
    problems.add(entry.where, "date", f"日期“{entry.day}”无效，应为 YYYY-MM-DD，例如 2027-01-01")
    return None


def to_csv(schedule: Schedule) -> str:
    """The schedule in the file format (what docs/calendar.md's example was made with)."""
    lines = [",".join(CSV_HEADER)]
    lines += [f"{d.day.isoformat()},{WORKDAY if d.is_workday else HOLIDAY},{d.name}" for d in schedule.days]
    return "\n".join(lines) + "\n"
