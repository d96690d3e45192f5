"""The figures behind a paper: tables of plain values that the Word paper and the annex both show.

Each paper module (`monitoring`, `risk_register`, `survey`) turns stored returns into `Figures`:
named `PaperTable`s, a chart, the values the template's sentences use, and the markings of the
records drawn on. The paper shows at most `PAPER_ROW_LIMIT` rows of a long list and says how
many more the annex has; the annex shows at most `ANNEX_ROW_LIMIT` and says so where it stops.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pipeline.core.dates import day_mon_year, day_month_year

PAPER_ROW_LIMIT = 30
NAMES_IN_A_SENTENCE = 20
ANNEX_ROW_LIMIT = 5_000
NOT_KNOWN = "—"  # shown where a figure cannot be given (e.g. missing returns without a register)


@dataclass(frozen=True)
class Column:
    """One column: `key` in each row, the heading the annex shows, and how its values look."""

    key: str
    heading: str
    kind: str = "text"  # text, number, percent, date, score, movement, flag (blank stays blank)


@dataclass
class PaperTable:
    """One table of the paper (and one sheet of the annex)."""

    name: str  # how the template refers to it: {%tr for row in <name>.rows %}
    title: str  # the annex sheet's title
    columns: tuple[Column, ...]
    rows: list[dict[str, Any]]  # at most ANNEX_ROW_LIMIT
    count: int = -1  # how many rows there are in all (more than len(rows) when capped)
    totals: dict[str, Any] | None = None
    paper_limit: int | None = PAPER_ROW_LIMIT

    def __post_init__(self) -> None:
        if self.count < 0:
            self.count = len(self.rows)

    @property
    def shown_in_paper(self) -> list[dict[str, Any]]:
        return self.rows if self.paper_limit is None else self.rows[: self.paper_limit]

    def for_template(self) -> dict[str, Any]:
        """{rows, count, more, totals}: every value as the text the paper prints."""
        shown = self.shown_in_paper
        return {
            "rows": [self._display(row) for row in shown],
            "count": self.count,
            "more": self.count - len(shown),
            "totals": self._display(self.totals) if self.totals else None,
        }

    def _display(self, row: Mapping[str, Any]) -> dict[str, Any]:
        shown = dict(row)
        for column in self.columns:
            shown[column.key] = display(row.get(column.key), column.kind)
        return shown


@dataclass
class Figures:
    """Everything one paper says that comes from the records."""

    title: str  # the default title; a template's own Title property overrides it
    tables: list[PaperTable]
    context: dict[str, Any]  # the sentences' values: counts, messages, labels
    markings: list[str | None] = field(default_factory=list)
    chart: bytes | None = None
    chart_title: str = ""
    notes: list[str] = field(default_factory=list)  # for the annex's first sheet

    def digest(self) -> str:
        """SHA-256 of the figures (not of when they were written): the same data, the same digest."""
        data = {
            "tables": [[t.name, t.count, t.rows, t.totals] for t in self.tables],
            "context": {k: v for k, v in self.context.items() if _plain(v)},
        }
        text = json.dumps(data, sort_keys=True, default=str, ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _plain(value: object) -> bool:
    return isinstance(value, str | int | float | bool | list | dict) or value is None


# --- how values are printed --------------------------------------------------------------------


def short_date(text: object) -> str:
    """A stored `YYYY-MM-DD` as `5 Mar 2026`; anything else as it is."""
    try:
        day = date.fromisoformat(str(text))
    except ValueError:
        return str(text)
    return day_mon_year(day)


def arrow(change: float | None) -> str:
    """The movement of a score: `↑ 0.25`, `↓ 0.10`, `→ 0.00`; `—` when there is nothing to compare."""
    if change is None:
        return NOT_KNOWN
    rounded = round(change, 2)
    if rounded > 0:
        return f"↑ {rounded:.2f}"
    if rounded < 0:
        return f"↓ {abs(rounded):.2f}"
    return "→ 0.00"


_DISPLAY: dict[str, Callable[[Any], str]] = {
    "number": lambda v: f"{v:,}" if isinstance(v, int) else str(v),
    "percent": lambda v: f"{v:.0f}%",
    "score": lambda v: f"{v:.2f}",
    "date": short_date,
    "movement": arrow,
}


def display(value: Any, kind: str) -> str:
    """A value as the paper prints it; blanks print as `—`."""
    if kind == "movement":
        return arrow(value)
    if kind == "flag":
        return str(value or "")
    if value is None or value == "":
        return NOT_KNOWN
    return _DISPLAY.get(kind, str)(value)


def period_words(start: date | None, end: date | None) -> str:
    """`1 January 2026 to 31 March 2026`, `from 1 January 2026`, `to 31 March 2026` or `all dates`."""
    if start and end:
        return f"{day_month_year(start)} to {day_month_year(end)}"
    if start:
        return f"from {day_month_year(start)}"
    if end:
        return f"to {day_month_year(end)}"
    return "all dates"


def same_partnership(name: str | None) -> str:
    """The key two spellings of one partnership share: case and spacing ignored."""
    return " ".join((name or "").split()).casefold()


def some_names(names: list[str], total: int) -> list[str]:
    """At most NAMES_IN_A_SENTENCE names for a sentence, then how many more the annex lists."""
    shown = names[:NAMES_IN_A_SENTENCE]
    if total > len(shown):
        shown.append(f"and {total - len(shown):,} more listed in the annex")
    return shown
