"""Dates as the pipeline says them, in Europe/London: working days in England and Wales, when
committee papers must be published, and the wordings of a date ("Monday 2 November 2026").

A working day is a weekday that is not an England and Wales bank holiday (substitute days
included: Boxing Day 2026 falls on a Saturday, so Monday 28 December is the holiday). Under the
Local Government Act 1972, s.100B, a meeting's papers must be open to inspection for at least
five *clear* working days before it: neither the day of publication nor the day of the meeting
counts.

Every wording is built from the names below, never from strftime's day and month names, which
follow the machine's locale: on a machine set to another language they would name days in it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from types import MappingProxyType
from zoneinfo import ZoneInfo

import holidays

LONDON = ZoneInfo("Europe/London")  # the one time zone the authority works in
CLEAR_WORKING_DAYS = 5  # s.100B Local Government Act 1972
_SATURDAY = 5
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")


def london_day(moment: datetime) -> date:
    """The day `moment` falls on in London (a naive `moment` is taken as UTC)."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(LONDON).date()


def long_date(day: date) -> str:
    """`date(2026, 11, 2)` -> "Monday 2 November 2026", whatever the machine's locale."""
    return f"{_DAYS[day.weekday()]} {day.day} {_MONTHS[day.month - 1]} {day.year}"


def day_month_year(day: date) -> str:
    """`date(2026, 11, 2)` -> "2 November 2026", whatever the machine's locale."""
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def day_mon_year(day: date) -> str:
    """`date(2026, 9, 3)` -> "3 Sep 2026", whatever the machine's locale."""
    return f"{day.day} {_MONTHS[day.month - 1][:3]} {day.year}"


def day_from_words(text: str) -> date | None:
    """ "5 March 2026" or "5 Mar 2026" (any case) as a date, whatever the machine's locale; else None."""
    parts = text.split()
    if len(parts) != 3 or not (parts[0].isdigit() and parts[2].isdigit()):
        return None
    months = {name.lower(): number for number, name in enumerate(_MONTHS, start=1)}
    months |= {name[:3].lower(): number for name, number in list(months.items())}
    month = months.get(parts[1].lower().rstrip("."))
    try:
        return date(int(parts[2]), month, int(parts[0])) if month else None
    except ValueError:
        return None


def short_date(day: date) -> str:
    """`date(2026, 11, 2)` -> "Mon  2 Nov 2026" (for aligned listings), whatever the locale."""
    return f"{_DAYS[day.weekday()][:3]} {day.day:>2} {_MONTHS[day.month - 1][:3]} {day.year}"


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
