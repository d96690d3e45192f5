"""The risk register: every partnership on the register, for the Scrutiny and Audit Committee's
annual review, whether or not its checklist came back.

Per partnership: whether it is high-risk by the register and by its latest checklist's screening
answers (the definition's `high_risk` condition), said in words when they disagree; whether its
checklist is complete, incomplete, not yet due or not returned (with when it was sent, when it
was due and how long overdue); the questions whose answer the definition marks as a concern
(`concern: true` on a choice) or that were left open; the accountable body (question 3); when it
was last assessed; and whether an equality impact assessment is held for it. Checklists from
partnerships not on the register are named apart and counted under no partnership. The period
is the date of assessment. With an empty register, the checklists received are listed by name.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pipeline.core.definitions import Field, FormDefinition, FormLibrary, Group
from pipeline.core.values import is_empty
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
from pipeline.store.for_papers import RegisterEntry, SentRow, StoredReturns, Submission

FORM = "risk-checklist"
EIA_FORM = "eia"
HIGH_RISK = "high_risk"
ACCOUNTABLE_BODY = "q3_answer"
ASSESSED_ON = "assessed_on"
NOT_ANSWERED = "Not answered"
UNNAMED = "(partnership not given)"
TITLE = PAPER_TITLES["risk-register"]
COMPLETE, INCOMPLETE, NOT_YET_DUE, NOT_RETURNED, NOT_ASKED = (
    "Complete",
    "Incomplete",
    "Not yet due",
    "Not returned",
    "Not asked for",
)
REGISTER_COLUMNS = (
    Column("partnership", "Partnership"),
    Column("register_high_risk", "High risk by the register"),
    Column("checklist_high_risk", "High risk by the checklist"),
    Column("high_risk_note", "High risk: do they agree?", "flag"),
    Column("status", "Checklist"),
    Column("sent_on", "Checklist sent on", "date"),
    Column("due_on", "Checklist due on", "date"),
    Column("overdue_days", "Days overdue", "number"),
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
UNMATCHED_COLUMNS = (
    Column("partnership", "Name given on the checklist"),
    Column("assessed_on", "Assessed on", "date"),
    Column("submission_id", "Return number", "number"),
)


@dataclass(frozen=True)
class Question:
    """One answer the checklist asks for: its number and its wording as the form shows it."""

    field: Field
    number: str
    text: str


@dataclass
class Register:
    """The register's rows and the counts the sentences use (one computation for both)."""

    register: list[dict[str, Any]] = field(default_factory=list)
    questions: list[dict[str, Any]] = field(default_factory=list)
    unmatched: list[dict[str, Any]] = field(default_factory=list)
    findings: int = 0
    markings: set[str | None] = field(default_factory=set)

    def add(self, row: dict[str, Any], findings: list[dict[str, Any]]) -> None:
        self.findings += len(findings)
        _keep(self.register, row)
        for finding in findings:
            _keep(self.questions, finding)

    def names(self, test: Any) -> list[str]:
        return [row["partnership"] for row in self.register if test(row)]

    def count(self, test: Any) -> int:
        return sum(1 for row in self.register if test(row))


def _keep(rows: list[Any], item: Any) -> None:
    if len(rows) < ANNEX_ROW_LIMIT:
        rows.append(item)


def is_high_risk(row: Mapping[str, Any]) -> bool:
    """High-risk by the register or by the checklist's own screening answers."""
    return row["register_high_risk"] == "Yes" or row["checklist_high_risk"] == "Yes"


def risk_register_figures(
    source: StoredReturns, library: FormLibrary, period: Period, as_at: date | None = None
) -> Figures:
    as_at = as_at or date.today()
    definition = library.get(FORM)
    questions = list(checklist_questions(definition))
    eias = source.partnerships(EIA_FORM)
    entries = source.register()
    latest, unmatched = _latest_checklists(source, definition, questions, period, bool(entries))
    entries = entries or [RegisterEntry(-1, key, False) for key in sorted(latest, key=str.casefold)]
    with_eia = {ident for _, _, ident in eias if ident is not None} | {
        same_partnership(name) for name, _, _ in eias if name
    }
    sent = _latest_sent(source.sent("checklist"))
    built = Register()
    for entry in entries:
        key = entry.id if entry.id >= 0 else entry.name
        checklist = latest.get(key)
        found = _findings(definition, questions, checklist.values) if checklist else []
        row = _register_row(definition, entry, checklist, found, with_eia, sent.get(entry.id), as_at)
        built.add(row, [_finding_row(row["partnership"], question, answer) for question, answer in found])
        if checklist is not None:
            built.markings.add(checklist.marking)
    for checklist in unmatched:
        _keep(built.unmatched, _unmatched_row(checklist))
        built.markings.add(checklist.marking)
    drawn_on = {e.id for e in entries} | {same_partnership(e.name) for e in entries}
    built.markings.update(
        m for name, m, ident in eias if ident in drawn_on or same_partnership(name) in drawn_on
    )
    tables = [
        PaperTable("register", "Risk register", REGISTER_COLUMNS, built.register, count=len(entries)),
        PaperTable(
            "questions",
            "Questions needing attention",
            QUESTION_COLUMNS,
            built.questions,
            count=built.findings,
            paper_limit=60,
        ),
        PaperTable(
            "unmatched", "Not on the register", UNMATCHED_COLUMNS, built.unmatched, count=len(unmatched)
        ),
    ]
    return Figures(
        title=TITLE,
        tables=tables,
        context=_context(definition, period, built, registered=source.register() != [], as_at=as_at),
        markings=list(built.markings),
        notes=[f"Long lists show up to {ANNEX_ROW_LIMIT:,} rows here."],
    )


def _latest_checklists(
    source: StoredReturns,
    definition: FormDefinition,
    questions: list[Question],
    period: Period,
    registered: bool,
) -> tuple[dict[Any, Submission], list[Submission]]:
    """Each partnership's latest checklist in the period (by register id, or by name when the
    register is empty), and the checklists from partnerships not on the register."""
    latest: dict[Any, Submission] = {}
    unmatched: list[Submission] = []
    for checklist in source.submissions(
        FORM, _fields_wanted(definition, questions), period_field=ASSESSED_ON, bounds=period.bounds()
    ):
        if registered and checklist.partnership_id is None:
            unmatched.append(checklist)
            continue
        key = checklist.partnership_id if registered else _typed_name(checklist)
        held = latest.get(key)
        if held is None or str(checklist.values.get(ASSESSED_ON) or "") >= str(
            held.values.get(ASSESSED_ON) or ""
        ):
            latest[key] = checklist
    return latest, unmatched


def _typed_name(checklist: Submission) -> str:
    return " ".join((checklist.partnership or "").split()) or UNNAMED


def _latest_sent(sent: list[SentRow]) -> dict[int, SentRow]:
    return {row.partnership_id: row for row in sent}  # oldest first: the latest wins


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
    """The questions whose answer the definition marks as a concern, or that were left open."""
    found = []
    for question in questions:
        answer = values.get(question.field.id)
        if is_empty(answer):
            if _needed(definition, question, values):
                found.append((question, NOT_ANSWERED))
        elif str(answer) in {c.value for c in question.field.choices if c.concern}:
            found.append((question, question.field.choice_label(str(answer))))
    return found


def _register_row(
    definition: FormDefinition,
    entry: RegisterEntry,
    checklist: Submission | None,
    found: list[tuple[Question, str]],
    with_eia: set[object],
    sent: SentRow | None,
    as_at: date,
) -> dict[str, Any]:
    condition = definition.conditions.get(HIGH_RISK)
    by_register = None if entry.id < 0 else _yes(entry.high_risk)
    by_checklist = None
    if checklist is not None:
        by_checklist = _yes(bool(condition and condition.holds(checklist.values)))
    row = {
        "partnership": entry.name,
        "register_high_risk": by_register,
        "checklist_high_risk": by_checklist,
        "high_risk_note": "The register and the checklist disagree"
        if by_register and by_checklist and by_register != by_checklist
        else "",
        "questions": ", ".join(question.number for question, _ in found) or ("None" if checklist else None),
        "question_count": len(found) if checklist else None,
        "accountable_body": checklist.values.get(ACCOUNTABLE_BODY) if checklist else None,
        "assessed_on": checklist.values.get(ASSESSED_ON) if checklist else None,
        "eia": "Yes" if entry.id in with_eia or same_partnership(entry.name) in with_eia else "No",
    }
    row |= _status(checklist, found, sent, is_high_risk(row), as_at)
    row["high_risk"] = _high_risk_words(by_register, by_checklist)
    return row


def _yes(flag: bool) -> str:
    return "Yes" if flag else "No"


def _status(
    checklist: Submission | None,
    found: list[tuple[Question, str]],
    sent: SentRow | None,
    high_risk: bool,
    as_at: date,
) -> dict[str, Any]:
    """Complete, incomplete, not yet due, not returned or not asked for; in words for the paper."""
    none = {"sent_on": None, "due_on": None, "overdue_days": None}
    if checklist is not None:
        status = INCOMPLETE if any(answer == NOT_ANSWERED for _, answer in found) else COMPLETE
        return {"status": status, **none, "checklist": status}
    if sent is not None and not sent.returned:
        dates = {
            "sent_on": sent.sent_on.isoformat(),
            "due_on": sent.due_on.isoformat() if sent.due_on else None,
        }
        when = f"sent {short_date(sent.sent_on)}" + (
            f", due {short_date(sent.due_on)}" if sent.due_on else ""
        )
        if sent.due_on is not None and as_at <= sent.due_on:
            return {
                "status": NOT_YET_DUE,
                **dates,
                "overdue_days": None,
                "checklist": f"{NOT_YET_DUE} ({when})",
            }
        days = (as_at - sent.due_on).days if sent.due_on else None
        late = f", {days} day{'s' if days != 1 else ''} overdue" if days else ""
        return {
            "status": NOT_RETURNED,
            **dates,
            "overdue_days": days,
            "checklist": f"{NOT_RETURNED}: {when}{late}",
        }
    if high_risk:
        return {"status": NOT_RETURNED, **none, "checklist": f"{NOT_RETURNED}: not sent yet"}
    return {"status": NOT_ASKED, **none, "checklist": f"{NOT_ASKED} (not high-risk)"}


def _high_risk_words(by_register: str | None, by_checklist: str | None) -> str:
    if by_register is None:
        return by_checklist or "—"
    if by_checklist is None:
        return f"{by_register} (by the register)"
    if by_register == by_checklist:
        return by_register
    return f"Register: {by_register}. Checklist: {by_checklist}. They disagree."


def _finding_row(partnership: str, question: Question, answer: str) -> dict[str, Any]:
    return {
        "partnership": partnership,
        "number": question.number,
        "question": question.text,
        "answer": answer,
    }


def _unmatched_row(checklist: Submission) -> dict[str, Any]:
    return {
        "partnership": _typed_name(checklist),
        "assessed_on": checklist.values.get(ASSESSED_ON),
        "submission_id": checklist.id,
    }


def _context(
    definition: FormDefinition, period: Period, built: Register, *, registered: bool, as_at: date
) -> dict[str, object]:
    phrase = period.phrase()
    rows = built.register
    high_risk = [row for row in rows if is_high_risk(row)]
    not_complete = [row for row in high_risk if row["status"] != COMPLETE]
    disagree = [row for row in rows if row["high_risk_note"]]
    without_eia = [row for row in rows if row["eia"] == "No"]
    counts = {
        status: sum(1 for row in rows if row["status"] == status)
        for status in (COMPLETE, INCOMPLETE, NOT_YET_DUE, NOT_RETURNED, NOT_ASKED)
    }
    return {
        "has_returns": bool(rows) or bool(built.unmatched),
        "registered": registered,
        "empty_message": f"No partnership is on the register and no checklists were completed {phrase}."
        if phrase
        else "No partnership is on the register and no risk assessment checklists have been received.",
        "period_words": period_words(period.start, period.end),
        "assessed_phrase": f"assessed {phrase}" if phrase else "assessed to date",
        "partnerships": len(rows),
        "high_risk_count": len(high_risk),
        "register_high_risk_count": sum(1 for row in rows if row["register_high_risk"] == "Yes"),
        "complete_count": counts[COMPLETE],
        "incomplete_count": counts[INCOMPLETE],
        "not_yet_due_count": counts[NOT_YET_DUE],
        "not_returned_count": counts[NOT_RETURNED],
        "not_asked_count": counts[NOT_ASKED],
        "every_high_risk_complete": bool(high_risk) and not not_complete,
        "high_risk_not_complete": some_names([r["partnership"] for r in not_complete], len(not_complete)),
        "high_risk_not_complete_count": len(not_complete),
        "disagreements": some_names([r["partnership"] for r in disagree], len(disagree)),
        "disagreement_count": len(disagree),
        "without_eia": some_names([r["partnership"] for r in without_eia], len(without_eia)),
        "without_eia_count": len(without_eia),
        "unmatched_count": len(built.unmatched),
        "unmatched_names": some_names([r["partnership"] for r in built.unmatched], len(built.unmatched)),
        "accountable_body_question": _question_number(definition, ACCOUNTABLE_BODY),
        "form_title": definition.title,
        "as_at_date": as_at.isoformat(),
    }


def _question_number(definition: FormDefinition, field_id: str) -> str:
    for question in checklist_questions(definition):
        if question.field.id == field_id:
            return f"question {question.number}"
    return definition.field(field_id).label
