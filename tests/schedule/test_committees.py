"""The committee calendar: committees.yaml, .ics import, and each meeting's publication deadline."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar, Event

from pipeline.core.errors import ConfigError
from pipeline.schedule.committees import committees, import_ics, load_yaml, meetings

LONDON = ZoneInfo("Europe/London")
UTC = ZoneInfo("UTC")
TODAY = date(2026, 1, 15)
COMMUNITIES = "Communities and Partnerships Committee"
SCRUTINY = "Scrutiny and Audit Committee"


def event(uid: str, summary: str, start: date | datetime, **props: object) -> Event:
    item = Event()
    item.add("uid", uid)
    item.add("summary", summary)
    item.add("dtstart", start)
    for name, value in props.items():
        item.add(name.replace("_", "-"), value)
    return item


def write_ics(path: Path, *events: Event) -> Path:
    calendar = Calendar()
    calendar.add("prodid", "-//Test council//Committees//EN")
    calendar.add("version", "2.0")
    for item in events:
        calendar.add_component(item)
    path.write_bytes(calendar.to_ical())
    return path


def council_calendar(path: Path) -> Path:
    return write_ics(
        path,
        event("budget@council", "Budget meeting", datetime(2026, 2, 10, 10, 0, tzinfo=LONDON)),
        event("away-day@council", "Away day", date(2026, 2, 24)),  # an all-day event
        event("quarterly@council", "Quarterly review", datetime(2026, 3, 12, 14, 0, tzinfo=LONDON),
              rrule={"freq": "monthly", "count": 3}),
        event("scrapped@council", "Scrapped meeting", datetime(2026, 2, 17, 10, 0, tzinfo=LONDON),
              status="CANCELLED"),
    )


def dates(found) -> list[str]:
    return [m.date.isoformat() for m in found]


class TestIcsImport:
    def test_events_repeats_and_cancellations(self, store, tmp_path):
        result = import_ics(store, council_calendar(tmp_path / "council.ics"), COMMUNITIES,
                            ["monitoring-summary"], today=TODAY)

        assert (result.added, result.already_known) == (5, 0)
        assert result.skipped_with_reasons == ['"Scrapped meeting" on 2026-02-17: cancelled']
        found = meetings(store)
        assert dates(found) == ["2026-02-10", "2026-02-24", "2026-03-12", "2026-04-12", "2026-05-12"]
        assert [m.title for m in found][:3] == ["Budget meeting", "Away day", "Quarterly review"]
        assert {m.committee for m in found} == {COMMUNITIES}
        assert all(m.papers == ("monitoring-summary",) for m in found)

    def test_deadlines_are_five_clear_working_days_before(self, store, tmp_path):
        import_ics(store, council_calendar(tmp_path / "council.ics"), COMMUNITIES, today=TODAY)

        deadlines = {m.date.isoformat(): m.publication_deadline.isoformat() for m in meetings(store)}
        assert deadlines["2026-02-10"] == "2026-02-02"  # Tue 10 Feb: clear 3,4,5,6,9 Feb
        assert deadlines["2026-03-12"] == "2026-03-04"  # Thu 12 Mar: clear 5,6,9,10,11 Mar
        # Sun 12 Apr 2026: clear 10, 9, 8, 7 Apr and 2 Apr (Good Friday, Easter Monday) -> 1 Apr
        assert deadlines["2026-04-12"] == "2026-04-01"

    def test_importing_the_same_file_again_adds_nothing(self, store, tmp_path):
        path = council_calendar(tmp_path / "council.ics")
        import_ics(store, path, COMMUNITIES, today=TODAY)

        again = import_ics(store, path, COMMUNITIES, today=TODAY)

        assert (again.added, again.already_known, again.updated) == (0, 5, 0)
        assert len(meetings(store)) == 5

    def test_a_meeting_moved_or_cancelled_in_a_later_export(self, store, tmp_path):
        import_ics(store, council_calendar(tmp_path / "council.ics"), COMMUNITIES, today=TODAY)
        later = write_ics(
            tmp_path / "later.ics",
            event("budget@council", "Budget meeting", datetime(2026, 2, 11, 10, 0, tzinfo=LONDON)),
            event("away-day@council", "Away day", date(2026, 2, 24), status="CANCELLED"),
        )

        result = import_ics(store, later, COMMUNITIES, today=TODAY)

        assert (result.added, result.updated, result.removed) == (0, 1, 1)
        assert "2026-02-11" in dates(meetings(store))
        assert not {"2026-02-10", "2026-02-24"} & set(dates(meetings(store)))

    def test_times_are_read_as_dates_in_england(self, store, tmp_path):
        # 23:30 UTC on 30 June is 00:30 on 1 July in London (British Summer Time).
        path = write_ics(tmp_path / "utc.ics",
                         event("late@council", "Late", datetime(2026, 6, 30, 23, 30, tzinfo=UTC)))

        import_ics(store, path, SCRUTINY, today=TODAY)

        assert dates(meetings(store)) == ["2026-07-01"]

    def test_weekly_until_with_an_exception_and_one_meeting_cancelled(self, store, tmp_path):
        start = datetime(2026, 9, 1, 18, 0, tzinfo=LONDON)
        series = event("weekly@council", "Weekly panel", start,
                       rrule={"freq": "weekly", "until": datetime(2026, 9, 29, 17, 0, tzinfo=UTC)},
                       exdate=datetime(2026, 9, 8, 18, 0, tzinfo=LONDON))
        off = event("weekly@council", "Weekly panel", datetime(2026, 9, 15, 18, 0, tzinfo=LONDON),
                    recurrence_id=datetime(2026, 9, 15, 18, 0, tzinfo=LONDON), status="CANCELLED")
        moved = event("weekly@council", "Weekly panel (moved)", datetime(2026, 9, 23, 18, 0, tzinfo=LONDON),
                      recurrence_id=datetime(2026, 9, 22, 18, 0, tzinfo=LONDON))
        path = write_ics(tmp_path / "weekly.ics", series, off, moved)

        result = import_ics(store, path, SCRUTINY, today=TODAY)

        found = meetings(store, committee=SCRUTINY)
        assert dates(found) == ["2026-09-01", "2026-09-23", "2026-09-29"]
        assert found[1].title == "Weekly panel (moved)"
        assert result.skipped_with_reasons == ['"Weekly panel" on 2026-09-15: cancelled']

    def test_a_repeat_without_an_end_is_listed_for_two_years(self, store, tmp_path):
        path = write_ics(tmp_path / "forever.ics",
                         event("forever@council", "Monthly", date(2026, 1, 5), rrule={"freq": "monthly"}))

        import_ics(store, path, SCRUTINY, today=TODAY)

        found = dates(meetings(store))
        assert found[0] == "2026-01-05"
        assert found[-1] <= "2028-01-17" and len(found) == 25

    def test_an_event_with_an_unreadable_date_is_left_out_with_the_reason(self, store, tmp_path):
        path = tmp_path / "odd.ics"
        path.write_bytes(
            b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n"
            b"BEGIN:VEVENT\r\nUID:a\r\nSUMMARY:Odd\r\nDTSTART:next tuesday\r\nEND:VEVENT\r\n"
            b"BEGIN:VEVENT\r\nUID:b\r\nSUMMARY:Fine\r\nDTSTART;VALUE=DATE:20261208\r\nEND:VEVENT\r\n"
            b"END:VCALENDAR\r\n"
        )

        result = import_ics(store, path, SCRUTINY, today=TODAY)

        assert result.added == 1
        assert result.skipped_with_reasons == ['"Odd": its start date could not be read']

    def test_a_broken_file_is_a_config_error_naming_it(self, store, tmp_path):
        path = tmp_path / "broken.ics"
        path.write_text("this is not a calendar\n")

        with pytest.raises(ConfigError, match=r"broken\.ics is not an iCalendar"):
            import_ics(store, path, SCRUTINY, today=TODAY)
        assert committees(store) == []

    def test_a_missing_file_or_one_without_events(self, store, tmp_path):
        with pytest.raises(ConfigError, match="could not be read"):
            import_ics(store, tmp_path / "nowhere.ics", SCRUTINY, today=TODAY)
        empty = write_ics(tmp_path / "empty.ics")
        with pytest.raises(ConfigError, match=r"empty\.ics has no events"):
            import_ics(store, empty, SCRUTINY, today=TODAY)


COMMITTEES_YAML = f"""
committees:
  - name: {COMMUNITIES}
    papers: [monitoring-summary, survey-results]
    meetings: [2026-12-08, {{date: 2026-03-12, title: Spring meeting}}]
  - name: {SCRUTINY}
    papers: [risk-register]
    meetings: ["2026-06-30"]
"""


class TestYaml:
    def test_committees_papers_and_meetings(self, store, tmp_path):
        path = tmp_path / "committees.yaml"
        path.write_text(COMMITTEES_YAML)

        result = load_yaml(store, path)

        assert result.added == 3
        assert [(c.name, c.papers) for c in committees(store)] == [
            (COMMUNITIES, ("monitoring-summary", "survey-results")),
            (SCRUTINY, ("risk-register",)),
        ]
        found = meetings(store)
        assert [(m.committee, m.date.isoformat(), m.title) for m in found] == [
            (COMMUNITIES, "2026-03-12", "Spring meeting"),
            (SCRUTINY, "2026-06-30", SCRUTINY),
            (COMMUNITIES, "2026-12-08", COMMUNITIES),
        ]
        assert found[0].to_json() == {
            "committee": COMMUNITIES,
            "date": "2026-03-12",
            "publication_deadline": "2026-03-04",
            "title": "Spring meeting",
            "papers": ["monitoring-summary", "survey-results"],
        }
        json.dumps([m.to_json() for m in found])  # what `pipeline calendar --json` prints

    def test_loading_again_adds_nothing_and_drops_a_meeting_taken_out(self, store, tmp_path):
        path = tmp_path / "committees.yaml"
        path.write_text(COMMITTEES_YAML)
        load_yaml(store, path)
        import_ics(store, write_ics(tmp_path / "c.ics", event("x", "Extra", date(2026, 10, 1))),
                   COMMUNITIES, today=TODAY)
        path.write_text(COMMITTEES_YAML.replace("2026-12-08, ", ""))

        result = load_yaml(store, path)

        assert (result.added, result.already_known, result.removed) == (0, 2, 1)
        assert dates(meetings(store, committee=COMMUNITIES)) == ["2026-03-12", "2026-10-01"]

    def test_filters_by_committee_and_from_date(self, store, tmp_path):
        path = tmp_path / "committees.yaml"
        path.write_text(COMMITTEES_YAML)
        load_yaml(store, path)

        assert dates(meetings(store, from_date=date(2026, 6, 30))) == ["2026-06-30", "2026-12-08"]
        assert dates(meetings(store, committee="scrutiny and audit committee")) == ["2026-06-30"]
        with pytest.raises(ConfigError, match='no committee called "Planning"'):
            meetings(store, committee="Planning")

    def test_every_mistake_is_listed_and_nothing_is_stored(self, store, tmp_path):
        path = tmp_path / "committees.yaml"
        path.write_text(
            "committees:\n"
            "  - name: Good Committee\n    meetings: [2026-12-08]\n"
            "  - name: Bad Committee\n    meetings: [08/12/2026]\n    paper: [x]\n"
            "  - papers: [x]\n"
        )

        with pytest.raises(ConfigError) as raised:
            load_yaml(store, path)

        message = str(raised.value)
        assert "committees.yaml has mistakes" in message
        assert 'Bad Committee: "08/12/2026" is not a date' in message
        assert "Bad Committee: unknown setting(s) paper" in message
        assert "committee 3 has no name" in message
        assert committees(store) == []

    def test_a_file_that_is_not_yaml(self, store, tmp_path):
        path = tmp_path / "committees.yaml"
        path.write_text("committees: [\n  - name: x\n")
        with pytest.raises(ConfigError, match=r"committees\.yaml is not valid YAML \(near line"):
            load_yaml(store, path)
        path.write_text("- just a list\n")
        with pytest.raises(ConfigError, match="must start with 'committees:'"):
            load_yaml(store, path)


def test_a_repeat_rule_that_cannot_be_read_keeps_the_first_date(store, tmp_path):
    path = tmp_path / "odd-rule.ics"
    path.write_bytes(
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n"
        b"BEGIN:VEVENT\r\nUID:r\r\nSUMMARY:Odd rule\r\nDTSTART;VALUE=DATE:20261208\r\n"
        b"RRULE:FREQ=SOMETIMES\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )

    result = import_ics(store, path, SCRUTINY, today=TODAY)

    assert dates(meetings(store)) == ["2026-12-08"]
    assert result.skipped_with_reasons == [
        '"Odd rule" on 2026-12-08: its repeat rule could not be read, so only its first date was kept'
    ]
