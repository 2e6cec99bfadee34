"""China's working-day calendar and deadline arithmetic (shared.calendar), without a database."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.calendar import SHANGHAI, InvalidDuration, WorkCalendar, due_at, validate_duration

SEPT_30 = datetime(2026, 9, 30, 10, 0, tzinfo=SHANGHAI)


def test_national_day_week_is_off_and_the_make_up_saturday_works() -> None:
    calendar = WorkCalendar()
    assert calendar.is_workday(date(2026, 10, 10))  # a Saturday, worked to make up for the holiday
    for day in range(1, 8):
        assert not calendar.is_workday(date(2026, 10, day))
    assert calendar.is_workday(date(2026, 10, 9))
    assert not calendar.is_workday(date(2026, 10, 11))  # an ordinary Sunday
    assert calendar.assumed_days == set()


def test_five_working_days_across_national_day() -> None:
    due = due_at(SEPT_30, {"working_days": 5}, WorkCalendar())
    assert due == datetime(2026, 10, 13, 10, 0, tzinfo=SHANGHAI)
    assert due.utcoffset() == timedelta(0)  # returned in UTC


def test_an_override_wins_over_the_national_calendar() -> None:
    calendar = WorkCalendar(overrides={date(2026, 10, 12): False})
    assert due_at(SEPT_30, {"working_days": 5}, calendar) == datetime(2026, 10, 14, 10, 0, tzinfo=SHANGHAI)
    worked_holiday = WorkCalendar(overrides={date(2026, 10, 8): False, date(2026, 10, 7): True})
    # 10-07 now counts, 10-08 does not: 07, 09, 10, 12, 13.
    assert due_at(SEPT_30, {"working_days": 5}, worked_holiday) == datetime(2026, 10, 13, 10, tzinfo=SHANGHAI)


def test_years_the_package_does_not_know_fall_back_to_monday_to_friday() -> None:
    calendar = WorkCalendar()
    friday = datetime(2027, 1, 1, 9, 30, tzinfo=SHANGHAI)  # 2027-01-01 is a Friday
    assert due_at(friday, {"working_days": 1}, calendar) == datetime(2027, 1, 4, 9, 30, tzinfo=SHANGHAI)
    assert date(2027, 1, 4) in calendar.assumed_days
    assert date(2027, 1, 2) in calendar.assumed_days  # the weekend was assumed too


def test_an_override_for_an_unknown_year_is_honoured_and_not_assumed() -> None:
    calendar = WorkCalendar(overrides={date(2027, 1, 4): False, date(2027, 1, 2): True})
    friday = datetime(2027, 1, 1, 9, 30, tzinfo=SHANGHAI)
    assert due_at(friday, {"working_days": 1}, calendar) == datetime(2027, 1, 2, 9, 30, tzinfo=SHANGHAI)
    assert due_at(friday, {"working_days": 2}, calendar) == datetime(2027, 1, 5, 9, 30, tzinfo=SHANGHAI)
    assert date(2027, 1, 4) not in calendar.assumed_days
    assert date(2027, 1, 2) not in calendar.assumed_days


def test_calendar_days_and_months() -> None:
    calendar = WorkCalendar()
    start = datetime(2026, 1, 31, 8, 0, tzinfo=SHANGHAI)
    assert due_at(start, {"months": 1}, calendar) == datetime(2026, 2, 28, 8, 0, tzinfo=SHANGHAI)
    assert due_at(start, {"months": 13}, calendar) == datetime(2027, 2, 28, 8, 0, tzinfo=SHANGHAI)
    leap = datetime(2028, 1, 31, 8, 0, tzinfo=SHANGHAI)
    assert due_at(leap, {"months": 1}, calendar) == datetime(2028, 2, 29, 8, 0, tzinfo=SHANGHAI)
    # Days are calendar days: holidays and weekends count.
    assert due_at(SEPT_30, {"days": 10}, calendar) == datetime(2026, 10, 10, 10, 0, tzinfo=SHANGHAI)


def test_hours_and_seconds_are_elapsed_time() -> None:
    calendar = WorkCalendar()
    assert due_at(SEPT_30, {"hours": 24}, calendar) == SEPT_30 + timedelta(hours=24)  # 10-01 is a holiday
    assert due_at(SEPT_30, {"hours": 1.5}, calendar) == SEPT_30 + timedelta(minutes=90)
    assert due_at(SEPT_30, {"seconds": 5}, calendar) == SEPT_30 + timedelta(seconds=5)


def test_the_start_must_be_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        due_at(datetime(2026, 9, 30, 10), {"working_days": 1}, WorkCalendar())


@pytest.mark.parametrize(
    "duration",
    [
        {},
        {"working_days": 1, "days": 1},
        {"weeks": 1},
        {"working_days": 0},
        {"days": -1},
        {"months": 1.5},
        {"working_days": "5"},
        {"hours": True},
        {"seconds": None},
    ],
)
def test_validate_duration_rejects_bad_input(duration: dict[str, object]) -> None:
    with pytest.raises(InvalidDuration):
        validate_duration(duration)


def test_validate_duration_accepts_each_unit() -> None:
    assert validate_duration({"working_days": 5}) == ("working_days", 5.0)
    assert validate_duration({"months": 3.0}) == ("months", 3.0)
    assert validate_duration({"hours": 0.5}) == ("hours", 0.5)
    assert validate_duration({"seconds": 5}) == ("seconds", 5.0)


@given(
    start=st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2026, 12, 31, 23, 59)),
    days=st.integers(min_value=1, max_value=30),
)
def test_a_working_day_deadline_lands_on_a_working_day_at_the_same_clock_time(
    start: datetime, days: int
) -> None:
    calendar = WorkCalendar()
    begin = start.replace(tzinfo=SHANGHAI)
    due = due_at(begin, {"working_days": days}, calendar).astimezone(SHANGHAI)
    assert calendar.is_workday(due.date())
    assert due.time() == begin.time()
    assert due > begin
    # Exactly ``days`` working days lie after the start day, up to and including the due day.
    between = [begin.date() + timedelta(days=i) for i in range(1, (due.date() - begin.date()).days + 1)]
    assert sum(calendar.is_workday(d) for d in between) == days
