"""What a paper is asked for (kind, period, meeting, committee, exempt paragraph) and what it gives."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from pipeline.core.dates import day_month_year
from pipeline.core.errors import ConfigError

PAPER_KINDS = ("monitoring-summary", "risk-register", "survey-results")
PAPER_TITLES = {  # the title each paper carries, and is listed under
    "monitoring-summary": "Partnership Monitoring Summary",
    "risk-register": "Partnership Risk Register: Annual Review",
    "survey-results": "Partnership Stakeholder Survey Results",
}
DEFAULT_COMMITTEES = {
    "monitoring-summary": "Communities and Partnerships Committee",
    "risk-register": "Scrutiny and Audit Committee",
    "survey-results": "Communities and Partnerships Committee",
}

# Part 1 of Schedule 12A to the Local Government Act 1972 (as revised in 2006): the descriptions
# of exempt information a paper may cite.
SCHEDULE_12A = "Part 1 of Schedule 12A to the Local Government Act 1972"
EXEMPT_PARAGRAPHS = {
    1: "Information relating to any individual.",
    2: "Information which is likely to reveal the identity of an individual.",
    3: "Information relating to the financial or business affairs of any particular person"
    " (including the authority holding that information).",
    4: "Information relating to any consultations or negotiations, or contemplated consultations"
    " or negotiations, in connection with any labour relations matter arising between the"
    " authority or a Minister of the Crown and employees of, or office holders under, the authority.",
    5: "Information in respect of which a claim to legal professional privilege could be maintained"
    " in legal proceedings.",
    6: "Information which reveals that the authority proposes (a) to give under any enactment a"
    " notice under or by virtue of which requirements are imposed on a person; or (b) to make an"
    " order or direction under any enactment.",
    7: "Information relating to any action taken or to be taken in connection with the prevention,"
    " investigation or prosecution of crime.",
}


@dataclass(frozen=True)
class Period:
    """The dates a paper covers; either end may be open."""

    start: date | None = None
    end: date | None = None

    def phrase(self) -> str:
        """`between 1 January 2026 and 31 March 2026`, `on or after ...`, or "" when open."""
        if self.start and self.end:
            return f"between {day_month_year(self.start)} and {day_month_year(self.end)}"
        if self.start:
            return f"on or after {day_month_year(self.start)}"
        if self.end:
            return f"on or before {day_month_year(self.end)}"
        return ""

    def bounds(self) -> tuple[str, str]:
        """The ends as ISO text for comparing with stored dates (open ends reach any date)."""
        return (
            self.start.isoformat() if self.start else "0000-01-01",
            self.end.isoformat() if self.end else "9999-12-31",
        )

    def contains_year(self, year: int) -> bool:
        return (self.start is None or year >= self.start.year) and (self.end is None or year <= self.end.year)


@dataclass(frozen=True)
class PaperRequest:
    """One paper to write. Open period ends take every record; `exempt_paragraph` None = public."""

    kind: str
    period_from: date | None = None
    period_to: date | None = None
    meeting_date: date | None = None
    committee: str | None = None
    exempt_paragraph: int | None = None
    author: str | None = None
    contact_officer: str | None = None
    contact_phone: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in PAPER_KINDS:
            raise ConfigError(
                f"There is no paper called {self.kind!r}. Choose one of: {', '.join(PAPER_KINDS)}."
            )
        if self.period_from and self.period_to and self.period_from > self.period_to:
            raise ConfigError(
                f"The period starts ({self.period_from}) after it ends ({self.period_to}): swap the dates."
            )
        paragraph = self.exempt_paragraph
        if paragraph is not None and (isinstance(paragraph, bool) or paragraph not in EXEMPT_PARAGRAPHS):
            raise ConfigError(
                f"The exempt paragraph must be a number from 1 to 7 ({SCHEDULE_12A}); "
                f"{paragraph!r} is not one."
            )

    @property
    def exempt(self) -> bool:
        return self.exempt_paragraph is not None

    @property
    def committee_name(self) -> str:
        return (self.committee or "").strip() or DEFAULT_COMMITTEES[self.kind]

    @property
    def period(self) -> Period:
        return Period(self.period_from, self.period_to)


@dataclass(frozen=True)
class PaperFiles:
    """The files one paper was written to; `pdf` None with `pdf_note` saying why."""

    docx: Path
    annex: Path
    manifest: Path
    pdf: Path | None
    pdf_note: str | None
