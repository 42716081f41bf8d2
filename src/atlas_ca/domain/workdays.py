"""Working days by the Russian production calendar (производственный календарь), for R18.

The calendar is the ``holidays`` package's ``Russia``: public holidays of Labour Code art. 112,
the government's transfers of days off (постановления Правительства) and the working
Saturdays they create (``weekend_workdays``). The package carries the transfer decrees year by
year; ``holidays`` 0.108/0.109 knows them through **2027**.

For a later year no decree is known yet, and a result computed for it must not pretend to be
certain. For such a year :class:`RussianProductionCalendar` still gives its best estimate — the
fixed holidays plus the statutory shift of a holiday that falls on a weekend to the next working
day (art. 112 part 2; New-Year holidays excepted, their transfer is left to the decree) — and
every result that touched the year names it in ``provisional_years``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Protocol

import holidays

from atlas_ca.domain.money import InvalidBillingInput

#: The last year whose transfer decree the pinned ``holidays`` release carries (0.108–0.109).
CONFIRMED_THROUGH_YEAR = 2027
#: Before this year the package's data is historical and not needed by billing.
CONFIRMED_FROM_YEAR = 2005


class CalendarError(InvalidBillingInput):
    """A working-day computation asked with impossible arguments."""


class ProductionCalendar(Protocol):
    """What deadline computations need from a production calendar."""

    def is_working_day(self, day: date) -> bool: ...

    def is_provisional(self, year: int) -> bool: ...


@dataclass(frozen=True, slots=True)
class DayInfo:
    """Why a day is or is not a working day — for a UI to explain a deadline."""

    day: date
    is_working: bool
    reason: str
    provisional: bool


@lru_cache(maxsize=64)
def _russia(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("RU", years=year, language="ru")


@lru_cache(maxsize=64)
def _estimated_days_off(year: int) -> frozenset[date]:
    """Art. 112 estimate for a year without a known decree: holidays plus weekend shifts."""
    fixed = _russia(year)
    off: set[date] = set(fixed.keys())
    for holiday in sorted(fixed.keys()):
        if holiday.month == 1 and holiday.day <= 8:
            continue  # New-Year holidays: the decree moves them, not the statute
        if holiday.weekday() >= 5:
            shifted = holiday + timedelta(days=1)
            while shifted.weekday() >= 5 or shifted in off:
                shifted += timedelta(days=1)
            off.add(shifted)
    return frozenset(off)


@dataclass(frozen=True, slots=True)
class RussianProductionCalendar:
    """The Russian production calendar from the ``holidays`` package.

    Years ``confirmed_from``..``confirmed_through`` are taken as published; other years are
    *provisional* (see the module docstring).
    """

    confirmed_from: int = CONFIRMED_FROM_YEAR
    confirmed_through: int = CONFIRMED_THROUGH_YEAR

    def is_provisional(self, year: int) -> bool:
        return not self.confirmed_from <= year <= self.confirmed_through

    def is_working_day(self, day: date) -> bool:
        return self.describe(day).is_working

    def describe(self, day: date) -> DayInfo:
        if not isinstance(day, date):
            raise TypeError(f"day must be a date, not {type(day).__name__}")
        provisional = self.is_provisional(day.year)
        if provisional:
            name = _russia(day.year).get(day)
            if name is not None:
                return DayInfo(day, False, f"public holiday: {name}", True)
            if day in _estimated_days_off(day.year):
                return DayInfo(day, False, "day off moved from a holiday on a weekend", True)
            if day.weekday() >= 5:
                return DayInfo(day, False, "weekend", True)
            return DayInfo(day, True, "working day", True)
        calendar = _russia(day.year)
        if day in calendar.weekend_workdays:
            return DayInfo(day, True, "working weekend day moved by government decree", False)
        name = calendar.get(day)
        if name is not None:
            return DayInfo(day, False, f"day off: {name}", False)
        if day.weekday() >= 5:
            return DayInfo(day, False, "weekend", False)
        return DayInfo(day, True, "working day", False)


#: The calendar the library uses unless a caller passes another one.
RUSSIA = RussianProductionCalendar()


@dataclass(frozen=True, slots=True)
class WorkingDayDeadline:
    """``due`` is the ``working_days``-th working day after ``start`` (``start`` not counted)."""

    start: date
    working_days: int
    due: date
    provisional_years: frozenset[int] = frozenset()

    @property
    def provisional(self) -> bool:
        """True when a year without a known transfer decree was involved."""
        return bool(self.provisional_years)

    def explain(self) -> str:
        text = f"{self.working_days} working days from {self.start.isoformat()}: by {self.due}"
        if self.provisional:
            years = ", ".join(str(y) for y in sorted(self.provisional_years))
            text += f" (production calendar for {years} is provisional: no transfer decree known)"
        return text


def add_working_days(
    start: date, working_days: int, calendar: ProductionCalendar = RUSSIA
) -> WorkingDayDeadline:
    """The date ``working_days`` working days after ``start``; ``start`` itself is day zero."""
    if not isinstance(start, date):
        raise TypeError(f"start must be a date, not {type(start).__name__}")
    if isinstance(working_days, bool) or not isinstance(working_days, int):
        raise TypeError(f"working_days must be int, not {type(working_days).__name__}")
    if working_days < 1:
        raise CalendarError(f"working_days must be at least 1, got {working_days}")
    provisional: set[int] = set()
    if calendar.is_provisional(start.year):
        provisional.add(start.year)
    day = start
    counted = 0
    while counted < working_days:
        day += timedelta(days=1)
        if calendar.is_provisional(day.year):
            provisional.add(day.year)
        if calendar.is_working_day(day):
            counted += 1
    return WorkingDayDeadline(start, working_days, day, frozenset(provisional))


def working_days_between(start: date, end: date, calendar: ProductionCalendar = RUSSIA) -> int:
    """How many working days lie in ``(start, end]`` (zero when ``end <= start``)."""
    count = 0
    day = start
    while day < end:
        day += timedelta(days=1)
        if calendar.is_working_day(day):
            count += 1
    return count
