"""Working days and the s.100B publication deadline, against England and Wales bank holidays;
the wordings of a date and the London day of a moment."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

import pipeline
from pipeline.core.dates import (
    add_working_days,
    bank_holidays,
    clear_working_days_between,
    day_from_words,
    day_mon_year,
    day_month_year,
    is_working_day,
    london_day,
    long_date,
    papers_due_date,
    publication_deadline,
    short_date,
)

GOV_UK_2025 = ["2025-01-01", "2025-04-18", "2025-04-21", "2025-05-05", "2025-05-26", "2025-08-25",
               "2025-12-25", "2025-12-26"]
GOV_UK_2026 = ["2026-01-01", "2026-04-03", "2026-04-06", "2026-05-04", "2026-05-25", "2026-08-31",
               "2026-12-25", "2026-12-28"]


class TestBankHolidays:
    @pytest.mark.parametrize("listed", [GOV_UK_2025, GOV_UK_2026])
    def test_every_weekday_bank_holiday_on_gov_uk_is_not_a_working_day(self, listed):
        for text in listed:
            assert not is_working_day(date.fromisoformat(text)), text

    @pytest.mark.parametrize("year, listed", [(2025, GOV_UK_2025), (2026, GOV_UK_2026)])
    def test_no_other_weekday_is_a_holiday(self, year, listed):
        weekday_holidays = sorted(d.isoformat() for d in bank_holidays(year) if d.weekday() < 5)
        assert weekday_holidays == listed

    def test_boxing_day_2026_on_a_saturday_gives_monday_28_december_as_substitute(self):
        assert date(2026, 12, 26).weekday() == 5
        assert not is_working_day(date(2026, 12, 28))
        assert is_working_day(date(2026, 12, 29))

    def test_christmas_2027_on_a_saturday_gives_two_substitute_days(self):
        assert not is_working_day(date(2027, 12, 27))
        assert not is_working_day(date(2027, 12, 28))
        assert is_working_day(date(2027, 12, 29))

    def test_weekends_are_not_working_days_and_ordinary_weekdays_are(self):
        assert not is_working_day(date(2026, 3, 7))  # Saturday
        assert not is_working_day(date(2026, 3, 8))  # Sunday
        assert is_working_day(date(2026, 3, 9))  # Monday


class TestAddWorkingDays:
    def test_forwards_skips_the_weekend(self):
        assert add_working_days(date(2026, 3, 6), 1) == date(2026, 3, 9)  # Fri -> Mon

    def test_forwards_skips_bank_holidays(self):
        # Thursday 24 Dec 2026 + 1: Fri 25 Christmas, weekend, Mon 28 substitute -> Tue 29
        assert add_working_days(date(2026, 12, 24), 1) == date(2026, 12, 29)

    def test_backwards_skips_easter(self):
        # Tuesday 7 April 2026 - 1: Mon 6 Easter Monday, weekend, Fri 3 Good Friday -> Thu 2
        assert add_working_days(date(2026, 4, 7), -1) == date(2026, 4, 2)

    def test_from_a_weekend_day(self):
        assert add_working_days(date(2026, 3, 7), 1) == date(2026, 3, 9)
        assert add_working_days(date(2026, 3, 7), -1) == date(2026, 3, 6)

    def test_zero_is_the_day_itself(self):
        assert add_working_days(date(2026, 3, 7), 0) == date(2026, 3, 7)

    def test_there_and_back_again(self):
        start = date(2025, 12, 19)
        assert add_working_days(add_working_days(start, 10), -10) == start
        assert add_working_days(start, 10) == date(2026, 1, 7)  # 22,23,24,29,30,31 Dec, 2,5,6,7 Jan


class TestPublicationDeadline:
    def test_meeting_on_6_january_2026_across_christmas_and_new_year(self):
        # Clear days, counting back: Mon 5 Jan, Fri 2 Jan (Thu 1 Jan a bank holiday), Wed 31,
        # Tue 30, Mon 29 Dec. Before those: weekend 27/28, Boxing Day, Christmas Day -> Wed 24.
        meeting = date(2026, 1, 6)
        assert publication_deadline(meeting) == date(2025, 12, 24)
        assert clear_working_days_between(date(2025, 12, 24), meeting) == 5

    def test_plain_week(self):
        # Thursday 12 March 2026: clear days 5, 6, 9, 10, 11 March -> Wednesday 4 March.
        assert publication_deadline(date(2026, 3, 12)) == date(2026, 3, 4)

    def test_meeting_just_after_easter_2026(self):
        # Thursday 9 April 2026: clear days Wed 8, Tue 7, (Mon 6 and Fri 3 holidays), Thu 2, Wed 1,
        # Tue 31 March -> Monday 30 March.
        assert publication_deadline(date(2026, 4, 9)) == date(2026, 3, 30)

    def test_meeting_on_a_monday(self):
        # Monday 16 March 2026: clear days 9-13 March -> Friday 6 March.
        assert publication_deadline(date(2026, 3, 16)) == date(2026, 3, 6)

    def test_the_deadline_is_the_last_day_leaving_five_clear_working_days(self):
        day = date(2025, 1, 1)
        while day < date(2028, 1, 1):
            deadline = publication_deadline(day)
            assert is_working_day(deadline)
            assert clear_working_days_between(deadline, day) == 5, day
            later = add_working_days(deadline, 1)
            assert clear_working_days_between(later, day) < 5, day
            day += timedelta(days=1)

    def test_papers_due_a_number_of_working_days_before_the_deadline(self):
        # Deadline Wed 24 Dec 2025; two working days earlier is Mon 22 Dec.
        assert papers_due_date(date(2026, 1, 6), 2) == date(2025, 12, 22)
        assert papers_due_date(date(2026, 1, 6), 0) == date(2025, 12, 24)
        # Deadline Mon 30 March 2026; one working day earlier is Fri 27 March.
        assert papers_due_date(date(2026, 4, 9), 1) == date(2026, 3, 27)


class TestWordings:
    def test_dates_are_written_out_the_uk_way(self) -> None:
        assert long_date(date(2026, 1, 6)) == "Tuesday 6 January 2026"
        assert long_date(date(2026, 11, 2)) == "Monday 2 November 2026"
        assert day_month_year(date(2026, 3, 5)) == "5 March 2026"
        assert day_mon_year(date(2026, 9, 3)) == "3 Sep 2026"
        assert short_date(date(2026, 11, 2)) == "Mon  2 Nov 2026"

    def test_no_module_names_days_or_months_by_the_machine_locale(self) -> None:
        package = Path(pipeline.__file__).resolve().parent
        assert (package / "core" / "dates.py").is_file()  # the search below looks at the real package
        locale_names = re.compile(r"%[aAbBc]")
        offenders = [str(path.relative_to(package)) for path in package.rglob("*.py")
                     if locale_names.search(path.read_text(encoding="utf-8"))]
        assert offenders == []

    def test_a_moment_falls_on_its_london_day(self) -> None:
        # 23:30 UTC on 1 July is 00:30 on 2 July in London (BST); in January it is the same day.
        assert london_day(datetime(2026, 7, 1, 23, 30, tzinfo=UTC)) == date(2026, 7, 2)
        assert london_day(datetime(2026, 1, 1, 23, 30)) == date(2026, 1, 1)

    def test_a_date_in_words_is_read_with_english_names(self) -> None:
        assert day_from_words("5 March 2026") == date(2026, 3, 5)
        assert day_from_words("5 mar 2026") == date(2026, 3, 5)
        assert day_from_words("31 February 2026") is None
        assert day_from_words("5 Mars 2026") is None
