"""The Russian production calendar and working-day deadlines (R18)."""

from __future__ import annotations

from datetime import date, timedelta

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from atlas_ca.domain.workdays import (
    CONFIRMED_THROUGH_YEAR,
    RUSSIA,
    CalendarError,
    add_working_days,
    working_days_between,
)


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2025, 11, 1), True),  # Saturday worked, moved to 3 November (decree for 2025)
        (date(2025, 11, 3), False),
        (date(2025, 11, 4), False),  # День народного единства
        (date(2025, 12, 31), False),  # moved from 5 January 2025
        (date(2026, 1, 9), False),  # moved from 3 January 2026
        (date(2026, 1, 12), True),
        (date(2026, 3, 9), False),  # 8 March on a Sunday
        (date(2026, 5, 11), False),  # 9 May on a Saturday
        (date(2026, 12, 31), False),  # moved from 4 January 2026
        (date(2027, 2, 20), True),  # Saturday worked, moved to 22 February
        (date(2027, 2, 22), False),
        (date(2027, 11, 5), False),
    ],
)
def test_R18_official_production_calendar(day: date, working: bool) -> None:
    assert RUSSIA.is_working_day(day) is working
    assert not RUSSIA.describe(day).provisional


def test_R18_only_decreed_saturdays_are_working_in_2025_to_2027() -> None:
    saturdays = [
        d
        for d in (date(2025, 1, 1) + timedelta(n) for n in range(3 * 365))
        if d.weekday() == 5 and RUSSIA.is_working_day(d)
    ]
    assert saturdays == [date(2025, 11, 1), date(2027, 2, 20)]


@pytest.mark.parametrize(("year", "working_days"), [(2024, 248), (2025, 247), (2026, 247)])
def test_R18_working_days_per_year_match_the_official_calendars(
    year: int, working_days: int
) -> None:
    assert working_days_between(date(year - 1, 12, 31), date(year, 12, 31)) == working_days


def test_R18_a_year_without_a_known_decree_is_provisional_not_guessed_silently() -> None:
    assert RUSSIA.is_provisional(2028)
    info = RUSSIA.describe(date(2028, 11, 6))  # 4 Nov 2028 is a Saturday: art. 112 shift
    assert not info.is_working
    assert info.provisional
    deadline = add_working_days(date(2027, 12, 1), 30)
    assert deadline.provisional_years == frozenset({2028})
    assert "provisional" in deadline.explain()
    assert not add_working_days(date(2026, 3, 2), 30).provisional


def test_R18_thirty_working_days_across_the_new_year_holidays() -> None:
    deadline = add_working_days(date(2025, 12, 25), 30)
    assert deadline.due == date(2026, 2, 17)
    assert working_days_between(date(2025, 12, 25), deadline.due) == 30


def test_R18_zero_working_days_is_refused() -> None:
    with pytest.raises(CalendarError):
        add_working_days(date(2026, 1, 1), 0)


@settings(max_examples=100, deadline=None)
@given(st.dates(min_value=date(2024, 1, 1), max_value=date(2028, 12, 31)), st.integers(1, 60))
def test_R18_a_deadline_is_a_working_day_exactly_n_working_days_later(start: date, n: int) -> None:
    deadline = add_working_days(start, n)
    assert RUSSIA.is_working_day(deadline.due)
    assert deadline.due > start
    assert working_days_between(start, deadline.due) == n
    assert working_days_between(start, deadline.due - timedelta(days=1)) == n - 1


def test_R18_confirmed_through_matches_what_the_pinned_holidays_package_knows() -> None:
    """Fails when a new ``holidays`` release adds the next year's decree: bump the constant."""
    known = holidays.country_holidays("RU", years=CONFIRMED_THROUGH_YEAR, language="ru")
    assert any("перенесено" in name for name in known.values())
    following = holidays.country_holidays("RU", years=CONFIRMED_THROUGH_YEAR + 1, language="ru")
    assert not any("перенесено" in name for name in following.values())
    assert not following.weekend_workdays
