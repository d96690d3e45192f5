"""The monitoring summary: what the partnership monitoring returns for a period add up to.

Per partnership: meetings attended and returns received, on time, late and missing; the agenda
and attendance ratings (counts and a chart); the challenges raised and the actions agreed, with
the overdue ones called out; the issues and decisions; and the partnerships whose attendance was
rated of low or no value in every return of the period, flagged for review of the Authority's
involvement. The period is the meetings' dates. Labels come from the monitoring form's definition.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from pipeline.definitions import FormDefinition, FormLibrary
from pipeline.papers.charts import rating_bars
from pipeline.papers.figures import (
    ANNEX_ROW_LIMIT,
    Column,
    Figures,
    PaperTable,
    period_words,
    same_partnership,
    some_names,
)
from pipeline.papers.request import Period
from pipeline.papers.source import StoredReturns, Submission, Test

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
TITLE = "Partnership Monitoring Summary"


@dataclass
class Tally:
    """One partnership's returns in the period."""

    name: str
    meetings: int = 0  # current returns: one per meeting attended
    received: int = 0  # every return received, corrected copies included
    late: int = 0
    ratings: dict[str, Counter[str]] = field(default_factory=lambda: {r: Counter() for r in RATINGS})


def monitoring_figures(
    source: StoredReturns,
    library: FormLibrary,
    period: Period,
    as_at: date,
    expected: Mapping[str, int] | None = None,
) -> Figures:
    definition = library.get(FORM)
    returns = list(
        source.submissions(
            FORM,
            [MEETING_DATE, *RATINGS],
            period_field=MEETING_DATE,
            bounds=period.bounds(),
            with_superseded=True,
        )
    )
    tallies = _tally(returns)
    current = [r for r in returns if r.current]
    source.choose([(r.id, _shown_name(tallies, r.partnership), r.values[MEETING_DATE]) for r in current])
    rating_tables = [_rating_table(definition, name, tallies) for name in RATINGS]
    tables = [
        _returns_table(tallies, expected),
        *rating_tables,
        _review_table(definition, tallies),
        _overdue_table(source, definition, as_at),
        *(_challenge_table(source, definition, name, as_at) for name in CHALLENGE_TABLES),
        *(_issue_table(source, definition, name, columns) for name, columns in ISSUE_TABLES),
    ]
    context = _context(definition, period, tallies, tables, expected, len(current))
    chart = _chart(definition, rating_tables) if current else None
    return Figures(
        title=TITLE,
        tables=tables,
        context=context,
        chart=chart,
        chart_title="Ratings given in the monitoring returns",
        markings=list({r.marking for r in returns}),
        notes=_notes(expected),
    )


# --- per partnership ---------------------------------------------------------------------------


def _tally(returns: list[Submission]) -> dict[str, Tally]:
    tallies: dict[str, Tally] = {}
    for record in returns:
        key = same_partnership(record.partnership)
        tally = tallies.setdefault(key, Tally(" ".join((record.partnership or "").split()) or UNNAMED))
        tally.received += 1
        if not record.current:
            continue
        tally.meetings += 1
        tally.late += record.late
        for rating in RATINGS:
            if record.values.get(rating):
                tally.ratings[rating][str(record.values[rating])] += 1
    return tallies


def _shown_name(tallies: dict[str, Tally], partnership: str | None) -> str:
    return tallies[same_partnership(partnership)].name


def _returns_table(tallies: dict[str, Tally], expected: Mapping[str, int] | None) -> PaperTable:
    wanted = {same_partnership(name): count for name, count in (expected or {}).items()}
    names = {key: tally.name for key, tally in tallies.items() if tally.received}
    for key, name in ((same_partnership(n), n) for n in (expected or {})):
        names.setdefault(key, name)
    rows = []
    for key in sorted(names, key=lambda k: names[k].casefold()):
        tally = tallies.get(key) or Tally(names[key])
        missing = max(0, wanted[key] - tally.meetings) if key in wanted else None
        rows.append(
            {
                "partnership": names[key],
                "meetings": tally.meetings,
                "received": tally.received,
                "on_time": tally.meetings - tally.late,
                "late": tally.late,
                "missing": missing,
            }
        )
    missing = [r["missing"] for r in rows if r["missing"] is not None]
    totals = {"partnership": "Total", "missing": sum(missing) if expected is not None else None}
    totals |= {key: sum(r[key] for r in rows) for key in ("meetings", "received", "on_time", "late")}
    columns = (
        Column("partnership", "Partnership"),
        Column("meetings", "Meetings attended", "number"),
        Column("received", "Returns received", "number"),
        Column("on_time", "On time", "number"),
        Column("late", "Late", "number"),
        Column("missing", "Missing", "number"),
    )
    return PaperTable("returns", "Returns by partnership", columns, rows, totals=totals, paper_limit=None)


def _rating_table(definition: FormDefinition, rating: str, tallies: dict[str, Tally]) -> PaperTable:
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


def _review_table(definition: FormDefinition, tallies: dict[str, Tally]) -> PaperTable:
    """Partnerships whose attendance was rated of low or no value in every return of the period."""
    rows = []
    for tally in sorted(tallies.values(), key=lambda t: t.name.casefold()):
        given = tally.ratings[ATTENDANCE]
        rated = sum(given.values())
        if rated and rated == tally.meetings and all(v in LOW_ATTENDANCE for v in given):
            rows.append(
                {
                    "partnership": tally.name,
                    "meetings": tally.meetings,
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
    tallies: dict[str, Tally],
    tables: list[PaperTable],
    expected: Mapping[str, int] | None,
    meetings: int,
) -> dict[str, object]:
    by_name = {table.name: table for table in tables}
    late = sum(t.late for t in tallies.values())
    phrase = period.phrase()
    return {
        "has_returns": meetings > 0,
        "empty_message": f"No monitoring returns were received for meetings {phrase}."
        if phrase
        else "No monitoring returns have been received.",
        "meetings_phrase": f"meetings held {phrase}" if phrase else "all meetings to date",
        "period_words": period_words(period.start, period.end),
        "meetings": meetings,
        "partnerships": sum(1 for t in tallies.values() if t.meetings),
        "late": late,
        "on_time": meetings - late,
        "overdue_count": by_name["overdue"].count,
        "review_count": by_name["review"].count,
        "review_names": some_names(
            [row["partnership"] for row in by_name["review"].rows], by_name["review"].count
        ),
        "due_days": definition.due.days if definition.due else None,
        "missing_note": None
        if expected is not None
        else "Missing returns (—) can be counted once the partnership register says which meetings were due.",
        "labels": _labels(definition),
        "form_title": definition.title,
    }


def _labels(definition: FormDefinition) -> dict[str, dict[str, str]]:
    """Every field's label and its columns' labels, for the template: labels.pa_issues.issue."""
    return {f.id: {"label": f.label, **{c.id: c.label for c in f.columns}} for f in definition.fields}


def _notes(expected: Mapping[str, int] | None) -> list[str]:
    notes = [
        f"Long lists show up to {ANNEX_ROW_LIMIT:,} rows here; the paper shows the first rows "
        "and says how many more there are."
    ]
    if expected is None:
        notes.append("Missing returns are not counted: expected returns come from the partnership register.")
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
