"""Working days in England and Wales, and when committee papers must be published.

A working day is a weekday that is not an England and Wales bank holiday (substitute days
included: Boxing Day 2026 falls on a Saturday, so Monday 28 December is the holiday). Under the
Local Government Act 1972, s.100B, a meeting's papers must be open to inspection for at least
five *clear* working days before it: neither the day of publication nor the day of the meeting
counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from functools import lru_cache
from types import MappingProxyType

import holidays

CLEAR_WORKING_DAYS = 5  # s.100B Local Government Act 1972
_SATURDAY = 5


@lru_cache(maxsize=64)
def bank_holidays(year: int) -> Mapping[date, str]:
    """England and Wales bank holidays in `year` (with substitute days), each with its name."""
    return MappingProxyType(dict(holidays.UK(subdiv="ENG", years=year)))


def is_working_day(day: date) -> bool:
    """True for a weekday that is not an England and Wales bank holiday."""
    return day.weekday() < _SATURDAY and day not in bank_holidays(day.year)


def add_working_days(day: date, n: int) -> date:
    """The `n`th working day after `day` (before it when `n` is negative); `day` itself when 0.

    `day` need not be a working day: one working day after a Saturday is the Monday (or the
    Tuesday, when the Monday is a bank holiday).
    """
    step = timedelta(days=1 if n > 0 else -1)
    remaining = abs(n)
    while remaining:
        day += step
        if is_working_day(day):
            remaining -= 1
    return day


def publication_deadline(meeting: date) -> date:
    """The last working day on which a meeting's papers may be published (s.100B).

    The latest working day that leaves five clear working days between it and the meeting:
    the five working days before the meeting are the clear days, the one before them the deadline.
    """
    return add_working_days(meeting, -(CLEAR_WORKING_DAYS + 1))


def papers_due_date(meeting: date, lead_days: int) -> date:
    """The working day to produce a meeting's papers: `lead_days` working days before the deadline."""
    return add_working_days(publication_deadline(meeting), -lead_days)


def clear_working_days_between(first: date, last: date) -> int:
    """How many working days fall strictly between `first` and `last` (neither counted)."""
    count, day = 0, first + timedelta(days=1)
    while day < last:
        count += is_working_day(day)
        day += timedelta(days=1)
    return count
