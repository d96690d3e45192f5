"""The stakeholder survey results: per pledge item, this year against last year and the baseline.

Scores run from 5 for the first choice of the agreement scale ("Strongly agree") down to 1 for
the last ("Strongly disagree"); "% agree" counts the first two choices. This year is the latest
survey year within the period; last year the survey before it; the baseline the earliest survey
year stored (the strategy's first survey sets it). Pledge wording comes from the definition.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from pipeline.core.definitions import Field, FormDefinition, FormLibrary
from pipeline.papers.charts import grouped_bars
from pipeline.papers.figures import Column, Figures, PaperTable, some_names
from pipeline.papers.request import PAPER_TITLES, Period
from pipeline.store.for_papers import RegisterEntry, SentRow, StoredReturns

FORM = "stakeholder-survey"
YEAR = "survey_year"
PLEDGE_SECTION = "pledge"
AGREEING = 2  # the first two choices of the scale agree
TITLE = PAPER_TITLES["survey-results"]


@dataclass
class Answers:
    """Every survey's answers, counted: year -> field -> choice value -> how many."""

    counts: dict[int, dict[str, Counter[str]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(Counter))
    )
    respondents: Counter[int] = field(default_factory=Counter)
    from_register: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))  # year -> ids
    unmatched: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))  # year -> names
    markings: dict[int, set[str | None]] = field(default_factory=lambda: defaultdict(set))


@dataclass(frozen=True)
class Years:
    this: int | None
    last: int | None
    baseline: int | None


def survey_figures(source: StoredReturns, library: FormLibrary, period: Period) -> Figures:
    definition = library.get(FORM)
    pledges = pledge_fields(definition)
    answers = _count(source, pledges)
    years = _years(answers, period)
    results = _results_table(pledges, answers, years)
    respondents = _respondents_table(answers, years)
    used = {y for y in (years.this, years.last, years.baseline) if y is not None}
    markings = list({m for year in used for m in answers.markings[year]})
    entries = source.register()
    silent = _non_respondents_table(entries, answers, years, source.sent("survey"))
    context = _context(definition, period, years, answers)
    context |= _response_context(entries, answers, years, silent)
    context["declined"] = [row["number"] for row in results.rows if (row["change_last"] or 0) < 0]
    chart = _chart(pledges, results, years) if years.this is not None else None
    return Figures(
        title=TITLE,
        tables=[respondents, silent, results],
        context=context,
        markings=markings,
        chart=chart,
        chart_title="Mean score per pledge item",
    )


def pledge_fields(definition: FormDefinition) -> list[Field]:
    for section in definition.sections:
        if section.id == PLEDGE_SECTION:
            return [f for f in section.fields() if f.choices]
    return []


def score(spec: Field, value: str) -> int | None:
    """5 for the first choice of a five-point scale ... 1 for the last; None if not a choice."""
    values = [choice.value for choice in spec.choices]
    return len(values) - values.index(value) if value in values else None


def _count(source: StoredReturns, pledges: list[Field]) -> Answers:
    answers = Answers()
    for survey in source.submissions(FORM, [YEAR, *(p.id for p in pledges)]):
        year = _year(survey.values.get(YEAR))
        if year is None:
            continue
        answers.respondents[year] += 1
        answers.markings[year].add(survey.marking)
        if survey.partnership_id is not None:
            answers.from_register[year].add(survey.partnership_id)
        else:
            answers.unmatched[year].append(" ".join((survey.partnership or "").split()) or "(not given)")
        for pledge in pledges:
            value = survey.values.get(pledge.id)
            if value is not None:
                answers.counts[year][pledge.id][str(value)] += 1
    return answers


def _year(value: object) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None


def _years(answers: Answers, period: Period) -> Years:
    years = sorted(answers.respondents)
    within = [y for y in years if period.contains_year(y)]
    this = within[-1] if within else None
    earlier = [y for y in years if this is not None and y < this]
    return Years(this, earlier[-1] if earlier else None, years[0] if this is not None else None)


def _mean(spec: Field, counts: Counter[str]) -> float | None:
    scored = [(score(spec, value), n) for value, n in counts.items() if score(spec, value)]
    total = sum(n for _, n in scored)
    return sum(s * n for s, n in scored if s) / total if total else None


def _agree(spec: Field, counts: Counter[str]) -> float | None:
    total = sum(counts[c.value] for c in spec.choices)
    agreeing = sum(counts[c.value] for c in spec.choices[:AGREEING])
    return 100 * agreeing / total if total else None


def _change(now: float | None, before: float | None) -> float | None:
    return None if now is None or before is None else round(now - before, 2)


def _results_table(pledges: list[Field], answers: Answers, years: Years) -> PaperTable:
    rows = [_pledge_row(pledge, answers, years) for pledge in pledges]
    columns = (
        Column("number", "No."),
        Column("pledge", "Pledge item"),
        Column("baseline", f"Mean score, {_named(years.baseline, 'baseline')}", "score"),
        Column("last", f"Mean score, {_named(years.last, 'last year')}", "score"),
        Column("this", f"Mean score, {_named(years.this, 'this year')}", "score"),
        Column("agree", f"% agree, {_named(years.this, 'this year')}", "percent"),
        Column("change_last", "Movement on last year", "movement"),
        Column("change_baseline", "Movement on the baseline", "movement"),
    )
    return PaperTable("results", "Results by pledge item", columns, rows, paper_limit=None)


def _pledge_row(pledge: Field, answers: Answers, years: Years) -> dict[str, object]:
    def mean(year: int | None) -> float | None:
        found = _mean(pledge, answers.counts[year][pledge.id]) if year is not None else None
        return round(found, 2) if found is not None else None

    this, last, baseline = mean(years.this), mean(years.last), mean(years.baseline)
    agree = _agree(pledge, answers.counts[years.this][pledge.id]) if years.this is not None else None
    return {
        "number": pledge.number,
        "pledge": pledge.label,
        "baseline": baseline,
        "last": last,
        "this": this,
        "agree": round(agree, 1) if agree is not None else None,
        "change_last": _change(this, last),
        "change_baseline": _change(this, baseline) if years.baseline != years.this else None,
    }


def _named(year: int | None, role: str) -> str:
    return f"{year} ({role})" if year is not None else role


def _respondents_table(answers: Answers, years: Years) -> PaperTable:
    shown = [y for y in sorted(answers.respondents) if years.this is not None and y <= years.this]
    rows = [{"year": str(y), "role": _roles(y, years), "respondents": answers.respondents[y]} for y in shown]
    columns = (
        Column("year", "Survey year"),
        Column("role", "Compared as"),
        Column("respondents", "Respondents", "number"),
    )
    return PaperTable("respondents", "Respondents by year", columns, rows, paper_limit=None)


def _non_respondents_table(
    entries: list[RegisterEntry], answers: Answers, years: Years, sent: list[SentRow]
) -> PaperTable:
    """The register's partnerships that sent no survey for this year, with when it was sent."""
    responded = answers.from_register[years.this] if years.this is not None else set()
    asked = {row.partnership_id: row for row in sent if years.this is None or row.sent_on.year == years.this}
    rows = [
        {
            "partnership": entry.name,
            "sent_on": asked[entry.id].sent_on.isoformat() if entry.id in asked else None,
            "due_on": asked[entry.id].due_on.isoformat()
            if entry.id in asked and asked[entry.id].due_on
            else None,
        }
        for entry in entries
        if entry.id not in responded
    ]
    columns = (
        Column("partnership", "Partnership"),
        Column("sent_on", "Survey sent on", "date"),
        Column("due_on", "Due on", "date"),
    )
    return PaperTable("non_respondents_table", "Did not respond", columns, rows)


def _response_context(
    entries: list[RegisterEntry], answers: Answers, years: Years, silent: PaperTable
) -> dict[str, object]:
    this = years.this
    unmatched = answers.unmatched[this] if this is not None else []
    return {
        "registered": bool(entries),
        "register_count": len(entries),
        "register_responded": len(answers.from_register[this]) if this is not None else 0,
        "non_respondent_count": silent.count,
        "non_respondents": some_names([row["partnership"] for row in silent.rows], silent.count),
        "unmatched_count": len(unmatched),
        "unmatched_names": some_names(unmatched, len(unmatched)),
    }


def _roles(year: int, years: Years) -> str:
    named = [
        name
        for role_year, name in (
            (years.baseline, "Baseline"),
            (years.last, "Last year"),
            (years.this, "This year"),
        )
        if role_year == year
    ]
    return " and ".join(named)


def _context(definition: FormDefinition, period: Period, years: Years, answers: Answers) -> dict[str, object]:
    phrase = _years_phrase(period)
    return {
        "has_returns": years.this is not None,
        "empty_message": f"No stakeholder survey returns were received for {phrase}."
        if phrase
        else "No stakeholder survey returns have been received.",
        "years": {"this": years.this, "last": years.last, "baseline": years.baseline},
        "respondents_this": answers.respondents[years.this] if years.this is not None else 0,
        "respondents_last": answers.respondents[years.last] if years.last is not None else 0,
        "has_last": years.last is not None,
        "has_baseline": years.baseline is not None and years.baseline != years.this,
        "scale": _scale_words(definition),
        "form_title": definition.title,
    }


def _years_phrase(period: Period) -> str:
    start, end = period.start, period.end
    if start and end:
        return (
            f"the survey year {start.year}"
            if start.year == end.year
            else f"the survey years {start.year} to {end.year}"
        )
    if start:
        return f"survey years from {start.year}"
    if end:
        return f"survey years up to {end.year}"
    return ""


def _scale_words(definition: FormDefinition) -> str:
    pledges = pledge_fields(definition)
    if not pledges:
        return ""
    choices = pledges[0].choices
    return f"{len(choices)} for “{choices[0].label}” down to 1 for “{choices[-1].label}”"


def _chart(pledges: list[Field], results: PaperTable, years: Years) -> bytes:
    series: dict[int, tuple[str, list[float | None]]] = {}
    for role, year, name in (
        ("baseline", years.baseline, "baseline"),
        ("last", years.last, "last year"),
        ("this", years.this, "this year"),
    ):
        if year is not None and year not in series:
            series[year] = (f"{year} ({name})", [row[role] for row in results.rows])
    maximum = max((len(p.choices) for p in pledges), default=5)
    return grouped_bars(
        [f"Pledge {p.number}" for p in pledges],
        list(series.values()),
        maximum=maximum,
        axis_label=f"Mean score ({maximum} = strongly agree, 1 = strongly disagree)",
    )
