"""The monitoring summary: what the partnership monitoring returns for a period add up to.

Per partnership on the register: the meetings in the period whose return was due by the day the
paper is written, the returns received (one per meeting: a corrected copy replaces, never adds),
on time and late, and the returns missing with those meetings named. Returns from partnerships
not on the register are named apart and counted under no partnership. Then the agenda
and attendance ratings (counts and a chart); the challenges raised and the actions agreed, with
the overdue ones called out; the issues and decisions; and the partnerships whose attendance was
rated of low or no value in every return of the period, flagged for review of the Authority's
involvement. The period is the meetings' dates. Labels come from the monitoring form's definition.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from pipeline.core.dates import day_month_year
from pipeline.core.definitions import FormDefinition, FormLibrary
from pipeline.papers.charts import rating_bars
from pipeline.papers.figures import (
    ANNEX_ROW_LIMIT,
    Column,
    Figures,
    PaperTable,
    period_words,
    same_partnership,
    short_date,
    some_names,
)
from pipeline.papers.request import PAPER_TITLES, Period
from pipeline.store.for_papers import RegisterEntry, StoredReturns, Submission, Test

FORM = "monitoring"
MEETING_DATE = "meeting_date"
RATINGS = ("agenda_rating", "attendance_rating")
ATTENDANCE = "attendance_rating"
LOW_ATTENDANCE = ("low_value", "no_value")  # "of low or no value": the bottom of the scale
ISSUE_TABLES = (("pa_issues", ("issue", "decision")), ("force_issues", ("issue", "decision")))
CHALLENGE_COLUMNS = ("challenge", "action", "by_whom", "by_when")
CHALLENGE_TABLES = ("challenges_by_pa", "challenges_to_pa")
DUE = "by_when"
OVERDUE = "Overdue"
UNNAMED = "(partnership not given)"
TITLE = PAPER_TITLES["monitoring-summary"]


@dataclass
class Tally:
    """One partnership's returns in the period, against the meetings that were due one."""

    name: str
    due: list[date] = field(default_factory=list)  # register meetings whose return was due
    received: dict[str, bool] = field(default_factory=dict)  # meeting date -> that return was late
    on_register: bool = True
    ratings: dict[str, Counter[str]] = field(default_factory=lambda: {r: Counter() for r in RATINGS})

    @property
    def late(self) -> int:
        return sum(self.received.values())

    @property
    def missing(self) -> list[date]:
        return [day for day in self.due if day.isoformat() not in self.received]


UNMATCHED = "not on the register"


def monitoring_figures(
    source: StoredReturns,
    library: FormLibrary,
    period: Period,
    as_at: date,
) -> Figures:
    definition = library.get(FORM)
    returns = list(
        source.submissions(
            FORM,
            [MEETING_DATE, *RATINGS],
            period_field=MEETING_DATE,
            bounds=period.bounds(),
        )
    )
    entries = source.register()
    due_days = definition.due.days if definition.due else 0
    tallies = _tally(returns, entries, _due_meetings(source, period, as_at, due_days))
    source.choose([(r.id, _shown_name(r, bool(entries)), r.values[MEETING_DATE]) for r in returns])
    rating_tables = [_rating_table(definition, name, tallies) for name in RATINGS]
    tables = [
        _returns_table(tallies),
        _unmatched_table(returns, bool(entries)),
        *rating_tables,
        _review_table(definition, tallies),
        _overdue_table(source, definition, as_at),
        *(_challenge_table(source, definition, name, as_at) for name in CHALLENGE_TABLES),
        *(_issue_table(source, definition, name, columns) for name, columns in ISSUE_TABLES),
    ]
    context = _context(definition, period, tallies, tables, len(returns), registered=bool(entries))
    chart = _chart(definition, rating_tables) if returns else None
    return Figures(
        title=TITLE,
        tables=tables,
        context=context,
        chart=chart,
        chart_title="Ratings given in the monitoring returns",
        markings=list({r.marking for r in returns}),
        notes=_notes(bool(entries)),
    )


# --- per partnership ---------------------------------------------------------------------------


def _due_meetings(source: StoredReturns, period: Period, as_at: date, due_days: int) -> dict[int, list[date]]:
    """Register partnership id -> its meetings in the period whose return was due before `as_at`."""
    start, end = period.bounds()
    due: dict[int, list[date]] = {}
    for partnership_id, day in source.register_meetings(start, min(end, as_at.isoformat())):
        if day + timedelta(days=due_days) < as_at:
            due.setdefault(partnership_id, []).append(day)
    return due


def _tally(
    returns: list[Submission], entries: list[RegisterEntry], due: dict[int, list[date]]
) -> dict[object, Tally]:
    """Per register partnership (by name when the register is empty); UNMATCHED holds the rest."""
    tallies: dict[object, Tally] = {e.id: Tally(e.name, sorted(due.get(e.id, []))) for e in entries}
    for record in returns:
        key = _key(record, bool(entries))
        if key not in tallies:
            tallies[key] = Tally(_typed(record), on_register=False)
        tally = tallies[key]
        tally.received[str(record.values.get(MEETING_DATE))] = record.late  # one per meeting
        for rating in RATINGS:
            if record.values.get(rating):
                tally.ratings[rating][str(record.values[rating])] += 1
    return tallies


def _key(record: Submission, registered: bool) -> object:
    if not registered:
        return same_partnership(record.partnership)
    return record.partnership_id if record.partnership_id is not None else UNMATCHED


def _typed(record: Submission) -> str:
    return " ".join((record.partnership or "").split()) or UNNAMED


def _shown_name(record: Submission, registered: bool) -> str:
    """The register's name for the return's partnership, or the typed name marked as not on it."""
    if record.register_name:
        return record.register_name
    return f"{_typed(record)} ({UNMATCHED})" if registered else _typed(record)


def _returns_table(tallies: dict[object, Tally]) -> PaperTable:
    rows = []
    for tally in sorted(_partnerships(tallies), key=lambda t: t.name.casefold()):
        received = len(tally.received)
        rows.append(
            {
                "partnership": tally.name,
                "due": len(tally.due) if tally.on_register else None,
                "received": received,
                "on_time": received - tally.late,
                "late": tally.late,
                "missing": len(tally.missing) if tally.on_register else None,
                "missing_meetings": ", ".join(short_date(day.isoformat()) for day in tally.missing),
            }
        )
    totals: dict[str, object] = {"partnership": "Total", "missing_meetings": ""}
    for key in ("due", "received", "on_time", "late", "missing"):
        values = [r[key] for r in rows if r[key] is not None]
        totals[key] = sum(values) if values or key not in ("due", "missing") else None
    columns = (
        Column("partnership", "Partnership"),
        Column("due", "Returns due", "number"),
        Column("received", "Returns received", "number"),
        Column("on_time", "On time", "number"),
        Column("late", "Late", "number"),
        Column("missing", "Missing", "number"),
        Column("missing_meetings", "Meetings with no return", "flag"),
    )
    return PaperTable("returns", "Returns by partnership", columns, rows, totals=totals, paper_limit=None)


def _partnerships(tallies: dict[object, Tally]) -> list[Tally]:
    return [tally for key, tally in tallies.items() if key != UNMATCHED]


def _unmatched_table(returns: list[Submission], registered: bool) -> PaperTable:
    rows = [
        {
            "partnership": _typed(r),
            "meeting": r.values.get(MEETING_DATE),
            "received_on": r.received_at[:10],
            "submission_id": r.id,
        }
        for r in returns
        if registered and r.partnership_id is None
    ]
    columns = (
        Column("partnership", "Name given on the return"),
        Column("meeting", "Meeting", "date"),
        Column("received_on", "Received", "date"),
        Column("submission_id", "Return number", "number"),
    )
    return PaperTable("unmatched", "Not on the register", columns, rows)


def _rating_table(definition: FormDefinition, rating: str, tallies: dict[object, Tally]) -> PaperTable:
    spec = definition.field(rating)
    counts: Counter[str] = Counter()
    for tally in tallies.values():
        counts.update(tally.ratings[rating])
    rated = sum(counts[c.value] for c in spec.choices)
    rows = [
        {
            "level": choice.label,
            "meetings": counts[choice.value],
            "percent": 100 * counts[choice.value] / rated if rated else None,
        }
        for choice in spec.choices
    ]
    totals = {"level": "Total", "meetings": rated, "percent": 100.0 if rated else None}
    columns = (
        Column("level", spec.label),
        Column("meetings", "Meetings", "number"),
        Column("percent", "Share of meetings", "percent"),
    )
    name = "agenda" if rating == "agenda_rating" else "attendance"
    return PaperTable(name, spec.label, columns, rows, totals=totals, paper_limit=None)


def _review_table(definition: FormDefinition, tallies: dict[object, Tally]) -> PaperTable:
    """Partnerships whose attendance was rated of low or no value in every return of the period."""
    rows = []
    for tally in sorted(_partnerships(tallies), key=lambda t: t.name.casefold()):
        given = tally.ratings[ATTENDANCE]
        rated = sum(given.values())
        if rated and rated == len(tally.received) and all(v in LOW_ATTENDANCE for v in given):
            rows.append(
                {
                    "partnership": tally.name,
                    "meetings": len(tally.received),
                    "attendance": _rating_words(definition, ATTENDANCE, given),
                    "agenda": _rating_words(definition, "agenda_rating", tally.ratings["agenda_rating"]),
                }
            )
    columns = (
        Column("partnership", "Partnership"),
        Column("meetings", "Meetings attended", "number"),
        Column("attendance", definition.field(ATTENDANCE).label),
        Column("agenda", definition.field("agenda_rating").label),
    )
    return PaperTable("review", "Partnerships for review", columns, rows)


def _rating_words(definition: FormDefinition, rating: str, given: Counter[str]) -> str:
    spec = definition.field(rating)
    return "; ".join(f"{c.label} ({given[c.value]})" for c in spec.choices if given[c.value])


# --- table rows: actions, challenges, decisions -------------------------------------------------


def _challenge_table(source: StoredReturns, definition: FormDefinition, name: str, as_at: date) -> PaperTable:
    spec = definition.field(name)
    rows, count = source.table_rows(
        name, CHALLENGE_COLUMNS, order=("partnership", "meeting", DUE), limit=ANNEX_ROW_LIMIT
    )
    for row in rows:
        row["status"] = OVERDUE if _overdue(row, as_at) else ""
    columns = (
        Column("partnership", "Partnership"),
        Column("meeting", "Meeting", "date"),
        *(Column(c.id, c.label, "date" if c.id == DUE else "text") for c in spec.columns),
        Column("status", "Status", "flag"),
    )
    return PaperTable(name, spec.label, columns, rows, count=count)


def _overdue_table(source: StoredReturns, definition: FormDefinition, as_at: date) -> PaperTable:
    """Actions whose date has passed, from both challenge tables, the longest overdue first."""
    late_test = (Test(DUE, "<", as_at.isoformat()),)
    rows, count = [], 0
    for name in CHALLENGE_TABLES:
        found, in_all = source.table_rows(
            name, CHALLENGE_COLUMNS, late_test, order=(DUE, "partnership"), limit=ANNEX_ROW_LIMIT
        )
        rows += [{**row, "days": (as_at - date.fromisoformat(row[DUE])).days} for row in found]
        count += in_all
    rows.sort(key=lambda row: (row[DUE], row["partnership"].casefold(), row["meeting"]))
    spec = definition.field(CHALLENGE_TABLES[0])
    labels = {c.id: c.label for c in spec.columns}
    columns = (
        Column("partnership", "Partnership"),
        Column("meeting", "Meeting", "date"),
        Column("action", labels["action"]),
        Column("by_whom", labels["by_whom"]),
        Column(DUE, labels[DUE], "date"),
        Column("days", "Days overdue", "number"),
    )
    return PaperTable("overdue", "Overdue actions", columns, rows[:ANNEX_ROW_LIMIT], count=count)


def _issue_table(
    source: StoredReturns, definition: FormDefinition, name: str, column_ids: tuple[str, ...]
) -> PaperTable:
    spec = definition.field(name)
    rows, count = source.table_rows(name, column_ids, order=("partnership", "meeting"), limit=ANNEX_ROW_LIMIT)
    columns = (
        Column("partnership", "Partnership"),
        Column("meeting", "Meeting", "date"),
        *(Column(c.id, c.label) for c in spec.columns if c.id in column_ids),
    )
    return PaperTable(name, spec.label, columns, rows, count=count)


def _overdue(row: Mapping[str, object], as_at: date) -> bool:
    due = row.get(DUE)
    return isinstance(due, str) and due < as_at.isoformat()


# --- what the sentences say -------------------------------------------------------------------


def _context(
    definition: FormDefinition,
    period: Period,
    tallies: dict[object, Tally],
    tables: list[PaperTable],
    meetings: int,
    *,
    registered: bool,
) -> dict[str, object]:
    by_name = {table.name: table for table in tables}
    totals = by_name["returns"].totals or {}
    missing = [t for t in sorted(_partnerships(tallies), key=lambda t: t.name.casefold()) if t.missing]
    unmatched = by_name["unmatched"]
    phrase = period.phrase()
    return {
        "has_returns": meetings > 0,
        "registered": registered,
        "empty_message": f"No monitoring returns were received for meetings {phrase}."
        if phrase
        else "No monitoring returns have been received.",
        "meetings_phrase": f"meetings held {phrase}" if phrase else "all meetings to date",
        "held_phrase": f"held {phrase}" if phrase else "held to date",
        "period_words": period_words(period.start, period.end),
        "meetings": meetings,
        "due": totals.get("due") or 0,
        "received": totals.get("received") or 0,
        "partnerships": sum(1 for t in _partnerships(tallies) if t.received),
        "late": totals.get("late") or 0,
        "on_time": totals.get("on_time") or 0,
        "missing": totals.get("missing") or 0,
        "missing_list": some_names(
            [f"{t.name} ({', '.join(map(day_month_year, t.missing))})" for t in missing], len(missing)
        ),
        "unmatched_count": unmatched.count,
        "unmatched_names": some_names(
            list(dict.fromkeys(row["partnership"] for row in unmatched.rows)),
            len({row["partnership"] for row in unmatched.rows}),
        ),
        "overdue_count": by_name["overdue"].count,
        "review_count": by_name["review"].count,
        "review_names": some_names(
            [row["partnership"] for row in by_name["review"].rows], by_name["review"].count
        ),
        "due_days": definition.due.days if definition.due else None,
        "missing_note": None
        if registered
        else "Missing returns (—) can be counted once the partnership register is imported.",
        "labels": _labels(definition),
        "form_title": definition.title,
    }


def _labels(definition: FormDefinition) -> dict[str, dict[str, str]]:
    """Every field's label and its columns' labels, for the template: labels.pa_issues.issue."""
    return {f.id: {"label": f.label, **{c.id: c.label for c in f.columns}} for f in definition.fields}


def _notes(registered: bool) -> list[str]:
    notes = [
        f"Long lists show up to {ANNEX_ROW_LIMIT:,} rows here; the paper shows the first rows "
        "and says how many more there are.",
        "A return is due for each meeting on the partnership register; a corrected copy replaces "
        "the return it corrects and is counted once.",
    ]
    if not registered:
        notes.append("Missing returns are not counted: the partnership register is empty.")
    return notes


def _chart(definition: FormDefinition, rating_tables: list[PaperTable]) -> bytes:
    panels = [
        (
            definition.field(rating).label,
            [row["level"] for row in table.rows],
            [row["meetings"] for row in table.rows],
        )
        for rating, table in zip(RATINGS, rating_tables, strict=True)
    ]
    return rating_bars(panels)
