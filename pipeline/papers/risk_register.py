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
from dataclasses import dataclass
from typing import Any

from pipeline.definitions import Field, FormDefinition, FormLibrary, Group
from pipeline.papers.figures import ANNEX_ROW_LIMIT, Column, Figures, PaperTable, period_words, same_partnership
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
TITLE = "Partnership Risk Register: Annual Review"


@dataclass(frozen=True)
class Question:
    """One answer the checklist asks for: its number and its wording as the form shows it."""

    field: Field
    number: str
    text: str


@dataclass(frozen=True)
class Finding:
    """A question of one checklist answered "No" or "Not known yet", or not answered."""

    question: Question
    answer: str


def risk_register_figures(source: StoredReturns, library: FormLibrary, period: Period) -> Figures:
    definition = library.get(FORM)
    questions = list(checklist_questions(definition))
    fields = _fields_wanted(definition, questions)
    checklists = list(source.submissions(FORM, fields, period_field=ASSESSED_ON, bounds=period.bounds()))
    checklists.sort(key=lambda c: same_partnership(c.partnership))
    eias = [(same_partnership(name), marking) for name, marking in source.partnerships(EIA_FORM)]
    with_eia = {name for name, _ in eias if name}
    findings = {c.id: _findings(definition, questions, c.values) for c in checklists}
    register = _register_table(definition, checklists, findings, with_eia)
    detail = _findings_table(checklists, findings)
    drawn_on = {same_partnership(c.partnership) for c in checklists}
    markings = [c.marking for c in checklists] + [m for name, m in eias if name in drawn_on]
    context = _context(definition, period, register)
    return Figures(title=TITLE, tables=[register, detail], context=context, markings=markings,
                   notes=[f"Long lists show up to {ANNEX_ROW_LIMIT:,} rows here."])


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
    ids = [ASSESSED_ON, ACCOUNTABLE_BODY, *tested, *(q.field.id for q in questions)]
    return list(dict.fromkeys(ids))


def _needed(definition: FormDefinition, question: Question, values: Mapping[str, Any]) -> bool:
    """A complete checklist answers what a high-risk one must, and whatever its own answers call for."""
    condition = question.field.required_when
    if condition is None or condition == HIGH_RISK:
        return True
    return definition.conditions[condition].holds(values)


def _findings(definition: FormDefinition, questions: list[Question], values: Mapping[str, Any]) -> list[Finding]:
    found = []
    for question in questions:
        answer = values.get(question.field.id)
        if is_empty(answer):
            if _needed(definition, question, values):
                found.append(Finding(question, NOT_ANSWERED))
        elif answer in FLAGGED_ANSWERS and question.field.choices:
            found.append(Finding(question, question.field.choice_label(str(answer))))
    return found


def _is_high_risk(definition: FormDefinition, values: Mapping[str, Any]) -> bool:
    condition = definition.conditions.get(HIGH_RISK)
    return bool(condition and condition.holds(values))


def _register_table(definition: FormDefinition, checklists: list[Submission],
                    findings: dict[int, list[Finding]], with_eia: set[str]) -> PaperTable:
    rows = []
    for checklist in checklists:
        found = findings[checklist.id]
        rows.append({
            "partnership": checklist.partnership or "(partnership not given)",
            "high_risk": "Yes" if _is_high_risk(definition, checklist.values) else "No",
            "complete": "No" if any(f.answer == NOT_ANSWERED for f in found) else "Yes",
            "questions": ", ".join(f.question.number for f in found) or "None",
            "question_count": len(found),
            "accountable_body": checklist.values.get(ACCOUNTABLE_BODY),
            "assessed_on": checklist.values.get(ASSESSED_ON),
            "eia": "Yes" if same_partnership(checklist.partnership) in with_eia else "No",
        })
    columns = (Column("partnership", "Partnership"), Column("high_risk", "High risk"),
               Column("complete", "Checklist complete"),
               Column("questions", "Questions answered No, Not known yet or not answered"),
               Column("question_count", "How many", "number"),
               Column("accountable_body", "Accountable body"),
               Column("assessed_on", "Last assessed", "date"), Column("eia", "Equality impact assessment"))
    return PaperTable("register", "Risk register", columns, rows[:ANNEX_ROW_LIMIT], count=len(rows))


def _findings_table(checklists: list[Submission], findings: dict[int, list[Finding]]) -> PaperTable:
    rows = [{"partnership": checklist.partnership or "(partnership not given)",
             "number": finding.question.number, "question": finding.question.text,
             "answer": finding.answer}
            for checklist in checklists for finding in findings[checklist.id]]
    columns = (Column("partnership", "Partnership"), Column("number", "Question"),
               Column("question", "Question asked"), Column("answer", "Answer"))
    return PaperTable("questions", "Questions needing attention", columns, rows[:ANNEX_ROW_LIMIT],
                      count=len(rows), paper_limit=60)


def _context(definition: FormDefinition, period: Period, register: PaperTable) -> dict[str, object]:
    rows = register.rows
    phrase = period.phrase()
    high = [r for r in rows if r["high_risk"] == "Yes"]
    return {
        "has_returns": bool(rows),
        "empty_message": f"No partnership risk assessment checklists were completed {phrase}."
        if phrase else "No partnership risk assessment checklists have been received.",
        "period_words": period_words(period.start, period.end),
        "assessed_phrase": f"assessed {phrase}" if phrase else "assessed to date",
        "partnerships": register.count,
        "high_risk_count": len(high),
        "complete_count": sum(1 for r in rows if r["complete"] == "Yes"),
        "incomplete_high_risk": [r["partnership"] for r in high if r["complete"] == "No"],
        "without_eia": [r["partnership"] for r in rows if r["eia"] == "No"],
        "high_risk_test": definition.conditions[HIGH_RISK].label if HIGH_RISK in definition.conditions
        else "",
        "accountable_body_question": _group_label(definition, ACCOUNTABLE_BODY),
        "form_title": definition.title,
    }


def _group_label(definition: FormDefinition, field_id: str) -> str:
    for question in checklist_questions(definition):
        if question.field.id == field_id:
            return f"{question.number}. {question.text}"
    return definition.field(field_id).label
