"""The committee calendar: each committee, the papers it takes, and its meetings.

Meetings come from `committees.yaml` in the pipeline home, or from an iCalendar (`.ics`) file as
councils' committee systems publish them. Each meeting's publication deadline (s.100B) is worked
out from the date, never stored. Tables: `committees` and `committee_meetings` (migration 2).

committees.yaml:

    committees:
      - name: Communities and Partnerships Committee
        papers: [monitoring-summary, survey-results]
        meetings: [2026-12-08, {date: 2027-03-09, title: Annual meeting}]
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import yaml
from dateutil.rrule import rruleset, rrulestr
from icalendar import Calendar, Event, vRecur

from pipeline.core.config import Settings
from pipeline.core.dates import LONDON, long_date, papers_due_date, publication_deadline
from pipeline.core.errors import ConfigError
from pipeline.store import Store
from pipeline.store.rows import CommitteeMeetingRow, FoundMeeting

COMMITTEES_FILE = "committees.yaml"
REPEAT_HORIZON = timedelta(days=2 * 366)  # repeating meetings are listed this far ahead
MAX_REPEATS = 1000  # a repeat rule is cut off here (a FREQ=HOURLY rule would never end)
SOURCE_YAML, SOURCE_ICS = "yaml", "ics"


@dataclass(frozen=True)
class Committee:
    name: str
    papers: tuple[str, ...]


@dataclass(frozen=True)
class Meeting:
    """One committee meeting, with the papers it takes and the last day to publish them."""

    committee: str
    date: date
    title: str
    papers: tuple[str, ...]
    publication_deadline: date

    def papers_due(self, lead_days: int) -> date:
        """The working day to produce the papers: `lead_days` working days before the deadline."""
        return papers_due_date(self.date, lead_days)

    def to_json(self) -> dict[str, Any]:
        return {
            "committee": self.committee,
            "date": self.date.isoformat(),
            "publication_deadline": self.publication_deadline.isoformat(),
            "title": self.title,
            "papers": list(self.papers),
        }


@dataclass
class ImportResult:
    """What an import did: counts of meetings, and each event left out with the reason why."""

    added: int = 0
    already_known: int = 0
    skipped_with_reasons: list[str] = field(default_factory=list)
    updated: int = 0  # a known meeting (same calendar UID) that moved to another date
    removed: int = 0  # cancelled in the calendar, or no longer listed in committees.yaml

    def summary(self) -> str:
        parts = [f"{self.added} meeting(s) added", f"{self.already_known} already known"]
        parts += [f"{n} {what}" for n, what in ((self.updated, "moved"), (self.removed, "removed")) if n]
        lines = [", ".join(parts) + "."]
        lines += [f"Left out: {reason}" for reason in self.skipped_with_reasons]
        return "\n".join(lines)


_Found = FoundMeeting  # a meeting read from a file, before it is stored


def calendar_file(settings: Settings) -> Path:
    """Where the home's committees.yaml lives."""
    return settings.home / COMMITTEES_FILE


# --- queries -------------------------------------------------------------------------------------


def committees(store: Store) -> list[Committee]:
    """Every committee, by name."""
    return [Committee(row.name, row.papers) for row in store.committee_rows()]


def meetings(store: Store, *, committee: str | None = None, from_date: date | None = None) -> list[Meeting]:
    """Meetings in date order (then committee), all or one committee's, on or after `from_date`."""
    if committee is not None:
        _require_committee(store, committee)
    return [_meeting(row) for row in store.committee_meetings(committee=committee, from_date=from_date)]


def _meeting(row: CommitteeMeetingRow) -> Meeting:
    return Meeting(
        committee=row.committee,
        date=row.meeting_date,
        title=row.title or row.committee,
        papers=row.papers,
        publication_deadline=publication_deadline(row.meeting_date),
    )


def meeting_for(store: Store, day: date, committee: str | None = None) -> Meeting:
    """The calendar's meeting on `day` (of `committee`, capitals ignored, when given).

    `committee` is needed only when two committees meet that day. A day with no meeting, or a
    committee that does not meet that day, is a ConfigError naming the nearest meetings (and the
    committee meant, for a near miss).
    """
    that_day = [m for m in meetings(store) if m.date == day]
    wanted = " ".join((committee or "").split()).casefold()
    if wanted:
        found = [m for m in that_day if m.committee.casefold() == wanted]
        if found:
            return found[0]
        raise ConfigError(_not_meeting(store, day, committee or "", that_day))
    if len(that_day) == 1:
        return that_day[0]
    if that_day:
        names = " and ".join(f'"{m.committee}"' for m in that_day)
        raise ConfigError(f"{names} both meet on {long_date(day)}: say which with --committee NAME.")
    raise ConfigError(f"The calendar has no committee meeting on {long_date(day)}. {_nearest(store, day)}")


def committee_named(store: Store, name: str) -> str:
    """The calendar's spelling of committee `name` (capitals and spacing ignored); when the
    calendar has committees and none is called that, a ConfigError naming the one meant."""
    known = [c.name for c in committees(store)]
    wanted = " ".join(name.split()).casefold()
    for committee in known:
        if committee.casefold() == wanted:
            return committee
    if not known:
        return " ".join(name.split())
    close = difflib.get_close_matches(wanted, [k.casefold() for k in known], n=1, cutoff=0.75)
    meant = next((k for k in known if close and k.casefold() == close[0]), None)
    hint = f' Did you mean "{meant}"?' if meant else f" Committees on the calendar: {', '.join(known)}."
    raise ConfigError(f'There is no committee called "{name}".{hint}')


def _not_meeting(store: Store, day: date, committee: str, that_day: list[Meeting]) -> str:
    known = [c.name for c in committees(store)]
    close = difflib.get_close_matches(committee.casefold(), [k.casefold() for k in known], n=1, cutoff=0.75)
    meant = next((k for k in known if close and k.casefold() == close[0]), None)
    if meant is None and committee.casefold() not in {k.casefold() for k in known}:
        start = f'There is no committee called "{committee}".'
    elif meant is not None and meant.casefold() != committee.casefold():
        start = f'There is no committee called "{committee}": did you mean "{meant}"?'
    else:
        start = f'"{meant or committee}" does not meet on {long_date(day)}.'
    if that_day:
        return start + " Meeting that day: " + ", ".join(f'"{m.committee}"' for m in that_day) + "."
    return f"{start} {_nearest(store, day)}"


def _nearest(store: Store, day: date, count: int = 3) -> str:
    """`The nearest meetings: ...` (the closest before or after `day`), or how to add some."""
    every = meetings(store)
    if not every:
        return "The calendar has no meetings yet: import one with 'pipeline calendar import FILE'."
    closest = sorted(every, key=lambda m: (abs((m.date - day).days), m.date, m.committee))[:count]
    listed = "; ".join(f"{m.committee} on {long_date(m.date)}" for m in sorted(closest, key=lambda m: m.date))
    return f"The nearest meetings: {listed}."


def _require_committee(store: Store, name: str) -> None:
    known = [c.name for c in committees(store)]
    if name.casefold() not in {k.casefold() for k in known}:
        listed = ", ".join(known) if known else "none yet: import a calendar first"
        raise ConfigError(f'There is no committee called "{name}". Committees known: {listed}.')


# --- iCalendar import ----------------------------------------------------------------------------


def import_ics(
    store: Store,
    path: Path,
    committee: str,
    papers: list[str] | None = None,
    *,
    today: date | None = None,
) -> ImportResult:
    """Add the meetings (VEVENTs) in the .ics file at `path` to `committee` (created if new).

    Repeating events are listed up to two years from `today`; cancelled events are left out, and
    a meeting imported before that is now cancelled is removed. Importing the same file again adds
    nothing. `papers`, when given, replaces the papers the committee takes.
    """
    path = Path(path)
    calendar = _read_calendar(path)
    horizon = (today or date.today()) + REPEAT_HORIZON
    result = ImportResult()
    found, cancelled = _calendar_meetings(calendar, horizon, result.skipped_with_reasons)
    with store.writing(f"import the calendar {path.name}"):
        committee_id = store.committee_id(_committee_name(committee), papers)
        for uid in cancelled:
            result.removed += store.remove_committee_meeting_uid(committee_id, uid)
        for meeting in found:
            _count(result, store.record_committee_meeting(committee_id, meeting, SOURCE_ICS))
    return result


def _read_calendar(path: Path) -> Calendar:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"The calendar file {path} could not be read: {exc.strerror}.") from exc
    try:
        calendar = Calendar.from_ical(data)
    except ValueError as exc:
        raise ConfigError(
            f"The calendar file {path.name} is not an iCalendar (.ics) file, or it is damaged."
            " Export the committee's meetings again as an .ics file."
        ) from exc
    if calendar.name != "VCALENDAR" or not calendar.walk("VEVENT"):
        raise ConfigError(f"The calendar file {path.name} has no events (meetings) in it.")
    return calendar


def _calendar_meetings(
    calendar: Calendar, horizon: date, skipped: list[str]
) -> tuple[list[_Found], list[str]]:
    """The meetings in `calendar`, and the UIDs of meetings it says are cancelled."""
    events = calendar.walk("VEVENT")
    overrides = {_override_key(e): e for e in events if e.get("RECURRENCE-ID") is not None}
    series = {_uid(e) for e in events if e.get("RECURRENCE-ID") is None and _repeats(e)} - {None}
    found: list[_Found] = []
    cancelled: list[str] = []
    for event in events:
        if event.get("RECURRENCE-ID") is not None and _uid(event) in series:
            continue  # a change to one meeting of a series: applied with its series
        for meeting, is_cancelled in _occurrences(event, horizon, overrides, skipped):
            if is_cancelled:
                cancelled.extend([meeting.uid] if meeting.uid else [])
                skipped.append(f"{_describe(meeting.title, meeting.date)}: cancelled")
            else:
                found.append(meeting)
    return found, cancelled


def _occurrences(
    event: Event, horizon: date, overrides: dict[tuple[str, date], Event], skipped: list[str]
) -> Iterator[tuple[_Found, bool]]:
    """Each (meeting, cancelled?) of one event: itself, or every instance of a repeating one."""
    start, title, uid = _local_date(_start(event)), _title(event), _uid(event)
    if start is None:
        skipped.append(f"{_describe(title, None)}: its start date could not be read")
        return
    if not _repeats(event):
        yield _Found(start, title, uid), _is_cancelled(event)
        return
    for original in _instances(event, horizon, skipped):
        override = overrides.get((uid or "", original))
        source = override if override is not None else event
        day = original if override is None else _local_date(_start(override)) or original
        instance_uid = f"{uid}#{original.isoformat()}" if uid else None
        cancelled = _is_cancelled(event) or _is_cancelled(source)
        yield _Found(day, _title(source) or title, instance_uid), cancelled


def _instances(event: Event, horizon: date, skipped: list[str]) -> list[date]:
    """The local dates of a repeating event (RRULE, RDATE, less EXDATE), up to `horizon`."""
    start = _start(event)
    try:
        rules = _rule_set(event, start)
    except (ValueError, TypeError):
        first = _local_date(start)
        skipped.append(f"{_describe(_title(event), first)}: its repeat rule could not be read, so"
                       " only its first date was kept")
        return [first] if first else []
    days: list[date] = []
    for number, moment in enumerate(rules):
        day = _local_date(moment.replace(tzinfo=start.tzinfo) if isinstance(start, datetime) else moment)
        if day is None or day > horizon:
            break
        if number == MAX_REPEATS:
            skipped.append(f"{_describe(_title(event), day)} and later: more than {MAX_REPEATS} repeats")
            break
        days.append(day)
    excluded = _exdates(event)
    return [day for day in dict.fromkeys(days) if day not in excluded]


def _rule_set(event: Event, start: date | datetime) -> rruleset:
    """The event's repeats in its own wall-clock time (naive), as dateutil expands them."""
    wall = _wall_clock(start, start)
    rules = rruleset()
    for recur in _as_list(event.get("RRULE")):
        rule = vRecur(recur)
        if "UNTIL" in rule:
            rule["UNTIL"] = [_wall_clock(until, start) for until in rule["UNTIL"]]
        rules.rrule(rrulestr(rule.to_ical().decode(), dtstart=wall))
    for rdates in _as_list(event.get("RDATE")):
        for value in rdates.dts:
            rules.rdate(_wall_clock(value.dt, start))
    return rules


def _wall_clock(value: date | datetime, start: date | datetime) -> datetime:
    """`value` as a naive datetime in the time zone of the series' `start`."""
    if not isinstance(value, datetime):
        return datetime.combine(value, time())
    if value.tzinfo is not None and isinstance(start, datetime) and start.tzinfo is not None:
        value = value.astimezone(start.tzinfo)
    elif value.tzinfo is not None:
        value = value.astimezone(LONDON)
    return value.replace(tzinfo=None)


def _exdates(event: Event) -> set[date]:
    days = set()
    for exdates in _as_list(event.get("EXDATE")):
        days.update(_local_date(value.dt) for value in exdates.dts)
    return days


def _override_key(event: Event) -> tuple[str, date]:
    return _uid(event) or "", _local_date(event["RECURRENCE-ID"].dt) or date.min


def _start(event: Event) -> object:
    try:
        return event.decoded("DTSTART") if "DTSTART" in event else None
    except (ValueError, KeyError, TypeError):  # icalendar keeps a value it cannot read as broken
        return None


def _local_date(value: object) -> date | None:
    """The date in England of a DTSTART value (an all-day date, or a time anywhere)."""
    if isinstance(value, datetime):
        return value.astimezone(LONDON).date() if value.tzinfo is not None else value.date()
    return value if isinstance(value, date) else None


def _repeats(event: Event) -> bool:
    return event.get("RRULE") is not None or event.get("RDATE") is not None


def _is_cancelled(event: Event) -> bool:
    return str(event.get("STATUS", "")).upper() == "CANCELLED"


def _title(event: Event) -> str | None:
    return str(event.get("SUMMARY", "")).strip() or None


def _uid(event: Event) -> str | None:
    return str(event.get("UID", "")).strip() or None


def _as_list(value: object) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _describe(title: str | None, day: date | None) -> str:
    name = f'"{title}"' if title else "An event with no title"
    return f"{name} on {day.isoformat()}" if day else name


# --- committees.yaml -----------------------------------------------------------------------------


def load_yaml(store: Store, path: Path) -> ImportResult:
    """Bring the database in line with committees.yaml: each committee's papers and meetings.

    Meetings listed are added; a meeting that came from this file before and is no longer listed
    is removed (meetings imported from a calendar are left alone). Committees not in the file are
    left alone. A mistake anywhere in the file changes nothing and raises ConfigError listing all.
    """
    path = Path(path)
    entries = _read_committees_yaml(path)
    result = ImportResult()
    with store.writing(f"load the committees in {path.name}"):
        for name, papers, found in entries:
            committee_id = store.committee_id(name, papers)
            for meeting in found:
                _count(result, store.record_committee_meeting(committee_id, meeting, SOURCE_YAML))
            result.removed += store.remove_unlisted_meetings(committee_id, SOURCE_YAML,
                                                             [m.date for m in found])
    return result


_Entry = tuple[str, list[str], list[_Found]]
_COMMITTEE_KEYS = {"name", "papers", "meetings"}


def _read_committees_yaml(path: Path) -> list[_Entry]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"The committees file {path} could not be read: {exc.strerror}.") from exc
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" (near line {where.line + 1})" if where is not None else ""
        raise ConfigError(f"The committees file {path.name} is not valid YAML{line}.") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("committees"), list):
        raise ConfigError(f"The committees file {path.name} must start with 'committees:' and a list.")
    problems: list[str] = []
    entries = [_committee_entry(item, number, problems)
               for number, item in enumerate(raw["committees"], start=1)]
    if problems:
        raise ConfigError(f"The committees file {path.name} has mistakes:\n- " + "\n- ".join(problems))
    return [entry for entry in entries if entry is not None]


def _committee_entry(item: object, number: int, problems: list[str]) -> _Entry | None:
    if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"].strip():
        problems.append(f"committee {number} has no name")
        return None
    name = item["name"].strip()
    unknown = sorted(set(item) - _COMMITTEE_KEYS)
    if unknown:
        problems.append(f"{name}: unknown setting(s) {', '.join(map(str, unknown))}"
                        " (expected name, papers, meetings)")
    papers = item.get("papers") or []
    if not isinstance(papers, list) or not all(isinstance(p, str) and p.strip() for p in papers):
        problems.append(f"{name}: 'papers' must be a list of paper names")
        papers = []
    meetings_given = item.get("meetings") or []
    if not isinstance(meetings_given, list):
        problems.append(f"{name}: 'meetings' must be a list of dates")
        meetings_given = []
    found = [_yaml_meeting(m, name, problems) for m in meetings_given]
    return name, [p.strip() for p in papers], [m for m in found if m is not None]


def _yaml_meeting(item: object, committee: str, problems: list[str]) -> _Found | None:
    title = None
    if isinstance(item, dict):
        title = str(item.get("title") or "").strip() or None
        item = item.get("date")
    day = _yaml_date(item)
    if day is None:
        problems.append(f'{committee}: "{item}" is not a date (write dates as YYYY-MM-DD, e.g. 2026-12-08)')
        return None
    return _Found(day, title, None)


def _yaml_date(value: object) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        return None


# --- storing ---------------------------------------------------------------------------------------


def _committee_name(name: str) -> str:
    if not name or not name.strip():
        raise ConfigError("Say which committee the meetings are for (--committee NAME).")
    return name.strip()


def _count(result: ImportResult, outcome: str) -> None:
    if outcome == "added":
        result.added += 1
    elif outcome == "moved":
        result.updated += 1
    else:
        result.already_known += 1
