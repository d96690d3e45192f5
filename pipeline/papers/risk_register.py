"""The risk register: every partnership with a current risk assessment checklist, for the
Scrutiny and Audit Committee's annual review.

Per partnership: whether it is high-risk (the checklist definition's `high_risk` condition),
whether its checklist is complete (every question answered, whether or not it is high-risk),
the questions answered "No" or "Not known yet" or left open, the accountable body (question 3),
when it was last assessed, and whether an equality impact assessment names it. The period is the
date of assessment. Question numbers and wording come from the checklist's definition.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from pipeline.definitions import Field, FormDefinition, FormLibrary, Group
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
from pipeline.papers.source import StoredReturns, Submission
from pipeline.values import is_empty

FORM = "risk-checklist"
EIA_FORM = "eia"
HIGH_RISK = "high_risk"
ACCOUNTABLE_BODY = "q3_answer"
ASSESSED_ON = "assessed_on"
FLAGGED_ANSWERS = ("no", "not_known")
NOT_ANSWERED = "Not answered"
UNNAMED = "(partnership not given)"
TITLE = "Partnership Risk Register: Annual Review"
REGISTER_COLUMNS = (
    Column("partnership", "Partnership"),
    Column("high_risk", "High risk"),
    Column("complete", "Checklist complete"),
    Column("questions", "Questions answered No, Not known yet or not answered"),
    Column("question_count", "How many", "number"),
    Column("accountable_body", "Accountable body"),
    Column("assessed_on", "Last assessed", "date"),
    Column("eia", "Equality impact assessment held"),
)
QUESTION_COLUMNS = (
    Column("partnership", "Partnership"),
    Column("number", "Question"),
    Column("question", "Question asked"),
    Column("answer", "Answer"),
)


@dataclass(frozen=True)
class Question:
    """One answer the checklist asks for: its number and its wording as the form shows it."""

    field: Field
    number: str
    text: str


@dataclass
class Register:
    """The register built one checklist at a time (100,000 checklists never sit in memory)."""

    register: list[dict[str, Any]] = field(default_factory=list)
    questions: list[dict[str, Any]] = field(default_factory=list)
    partnerships: int = 0
    findings: int = 0
    high_risk: int = 0
    complete: int = 0
    incomplete_high_risk: list[str] = field(default_factory=list)
    incomplete_high_risk_count: int = 0
    without_eia: list[str] = field(default_factory=list)
    without_eia_count: int = 0
    markings: set[str | None] = field(default_factory=set)

    def add(self, row: dict[str, Any], findings: list[dict[str, Any]]) -> None:
        self.partnerships += 1
        self.findings += len(findings)
        self.high_risk += row["high_risk"] == "Yes"
        self.complete += row["complete"] == "Yes"
        if row["high_risk"] == "Yes" and row["complete"] == "No":
            self.incomplete_high_risk_count += 1
            _keep(self.incomplete_high_risk, row["partnership"])
        if row["eia"] == "No":
            self.without_eia_count += 1
            _keep(self.without_eia, row["partnership"])
        _keep(self.register, row)
        for finding in findings:
            _keep(self.questions, finding)


def _keep(rows: list[Any], item: Any) -> None:
    if len(rows) < ANNEX_ROW_LIMIT:
        rows.append(item)


def risk_register_figures(source: StoredReturns, library: FormLibrary, period: Period) -> Figures:
    definition = library.get(FORM)
    questions = list(checklist_questions(definition))
    eias = [(same_partnership(name), marking) for name, marking in source.partnerships(EIA_FORM)]
    with_eia = {name for name, _ in eias if name}
    built = Register()
    for checklist in source.submissions(
        FORM,
        _fields_wanted(definition, questions),
        period_field=ASSESSED_ON,
        bounds=period.bounds(),
        by_partnership=True,
    ):
        found = _findings(definition, questions, checklist.values)
        row = _register_row(definition, checklist, found, with_eia)
        built.add(row, [_finding_row(row["partnership"], question, answer) for question, answer in found])
        built.markings.add(checklist.marking)
    drawn_on = {same_partnership(row["partnership"]) for row in built.register}
    built.markings.update(marking for name, marking in eias if name in drawn_on)
    register = PaperTable(
        "register", "Risk register", REGISTER_COLUMNS, built.register, count=built.partnerships
    )
    detail = PaperTable(
        "questions",
        "Questions needing attention",
        QUESTION_COLUMNS,
        built.questions,
        count=built.findings,
        paper_limit=60,
    )
    return Figures(
        title=TITLE,
        tables=[register, detail],
        context=_context(definition, period, built),
        markings=list(built.markings),
        notes=[f"Long lists show up to {ANNEX_ROW_LIMIT:,} rows here."],
    )


def checklist_questions(definition: FormDefinition) -> Iterator[Question]:
    """Every answer a complete checklist has: the grouped questions' fields that can be required."""
    for section in definition.sections:
        for item in section.items:
            if not isinstance(item, Group):
                continue
            for f in item.fields:
                if f.required_when:
                    yield Question(f, f.number or item.number, _question_text(item, f))


def _question_text(group: Group, f: Field) -> str:
    """The question as a reader needs it: 2a is "Does the ... cover the following issues: Purpose...?"."""
    if f.label.strip().lower() == "answer":
        return group.label
    if group.label.rstrip().endswith(":"):
        return f"{group.label.rstrip()} {f.label}"
    return f.label


def _fields_wanted(definition: FormDefinition, questions: list[Question]) -> list[str]:
    tested = [field_id for condition in definition.conditions.values() for field_id, _ in condition.tests]
    return list(dict.fromkeys([ASSESSED_ON, ACCOUNTABLE_BODY, *tested, *(q.field.id for q in questions)]))


def _needed(definition: FormDefinition, question: Question, values: Mapping[str, Any]) -> bool:
    """A complete checklist answers what a high-risk one must, and whatever its own answers call for."""
    condition = question.field.required_when
    if condition is None or condition == HIGH_RISK:
        return True
    return definition.conditions[condition].holds(values)


def _findings(
    definition: FormDefinition, questions: list[Question], values: Mapping[str, Any]
) -> list[tuple[Question, str]]:
    """The questions answered "No" or "Not known yet" (as the form words it), or not answered."""
    found = []
    for question in questions:
        answer = values.get(question.field.id)
        if is_empty(answer):
            if _needed(definition, question, values):
                found.append((question, NOT_ANSWERED))
        elif answer in FLAGGED_ANSWERS and question.field.choices:
            found.append((question, question.field.choice_label(str(answer))))
    return found


def _register_row(
    definition: FormDefinition, checklist: Submission, found: list[tuple[Question, str]], with_eia: set[str]
) -> dict[str, Any]:
    condition = definition.conditions.get(HIGH_RISK)
    return {
        "partnership": " ".join((checklist.partnership or "").split()) or UNNAMED,
        "high_risk": "Yes" if condition and condition.holds(checklist.values) else "No",
        "complete": "No" if any(answer == NOT_ANSWERED for _, answer in found) else "Yes",
        "questions": ", ".join(question.number for question, _ in found) or "None",
        "question_count": len(found),
        "accountable_body": checklist.values.get(ACCOUNTABLE_BODY),
        "assessed_on": checklist.values.get(ASSESSED_ON),
        "eia": "Yes" if same_partnership(checklist.partnership) in with_eia else "No",
    }


def _finding_row(partnership: str, question: Question, answer: str) -> dict[str, Any]:
    return {
        "partnership": partnership,
        "number": question.number,
        "question": question.text,
        "answer": answer,
    }


def _context(definition: FormDefinition, period: Period, built: Register) -> dict[str, object]:
    phrase = period.phrase()
    return {
        "has_returns": built.partnerships > 0,
        "empty_message": f"No partnership risk assessment checklists were completed {phrase}."
        if phrase
        else "No partnership risk assessment checklists have been received.",
        "period_words": period_words(period.start, period.end),
        "assessed_phrase": f"assessed {phrase}" if phrase else "assessed to date",
        "partnerships": built.partnerships,
        "high_risk_count": built.high_risk,
        "complete_count": built.complete,
        "incomplete_high_risk": some_names(built.incomplete_high_risk, built.incomplete_high_risk_count),
        "without_eia": some_names(built.without_eia, built.without_eia_count),
        "accountable_body_question": _question_number(definition, ACCOUNTABLE_BODY),
        "form_title": definition.title,
    }


def _question_number(definition: FormDefinition, field_id: str) -> str:
    for question in checklist_questions(definition):
        if question.field.id == field_id:
            return f"question {question.number}"
    return definition.field(field_id).label
