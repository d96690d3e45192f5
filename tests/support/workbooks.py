"""Excel forms for tests: a sample definition with every kind of answer, generated workbooks
(read without the module under test), typing into their named cells as a member does, and the
monitoring and sample workbooks filled with the raw values the reader should give back."""

from __future__ import annotations

from datetime import date, datetime
from io import BytesIO

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import Cell
from openpyxl.utils import range_boundaries

from pipeline.core.definitions import FieldType, FormDefinition, parse_definition
from pipeline.core.identity import FormIdentity, Personalisation
from pipeline.generate.excel import write_xlsx_form

HULL = Personalisation(
    partnership="Hull CDRP",
    member="Cllr A Smith",
    meeting_title="Community Safety Board",
    meeting_date=date(2026, 3, 14),
    meeting_place="Guildhall, Hull",
    token="5f2b9c0d1e3a4b6c",
)


HYPERLINK = '=HYPERLINK("http://example.com/x","click me")'


SAMPLE = {
    "id": "sample",
    "version": 3,
    "title": "Every kind of answer",
    "marking": "OFFICIAL",
    "instructions": "Answer every question.",
    "sections": [
        {
            "id": "one",
            "title": "Plain answers",
            "intro": "Some plain questions.",
            "items": [
                {"id": "name", "label": "Your name", "prefill": "member", "help": "In full."},
                {"id": "story", "label": "What happened", "type": "long_text"},
                {"id": "when", "label": "When", "type": "date", "prefill": "meeting_date"},
                {"id": "people", "label": "How many people", "type": "number", "integer": True,
                 "min": 0, "max": 500},
                {"id": "cost", "label": "Cost in pounds", "type": "number"},
                {"id": "colour", "label": "Colour", "type": "choice",
                 "choices": ["Red", "Dark blue", "=Green"]},
                {"id": "agreed", "label": "Agreed", "type": "yes_no", "display": "ticks"},
                {"id": "topics", "label": "Topics", "type": "multi_choice",
                 "choices": ["Housing", "Road safety", "Youth work"]},
            ],
        },
        {
            "id": "two",
            "title": "Grouped and tabled",
            "items": [
                {"group": "2", "label": "Does the agreement cover:", "note": "(1) Take advice",
                 "fields": [
                     {"id": "q2a", "number": "2a", "label": "Purpose?", "type": "yes_no"},
                     {"id": "q2_comment", "number": "2", "label": "Assessment",
                      "type": "long_text"},
                 ]},
                {"id": "actions", "label": "Actions", "type": "table", "rows": 12,
                 "columns": [
                     {"id": "what", "label": "What", "type": "long_text"},
                     {"id": "who", "label": "Who", "type": "text"},
                     {"id": "due", "label": "By when", "type": "date"},
                     {"id": "priority", "label": "Priority", "type": "choice",
                      "choices": ["High", "Low"]},
                     {"id": "hours", "label": "Hours", "type": "number"},
                 ]},
            ],
        },
    ],
}


def sample() -> FormDefinition:
    return parse_definition(SAMPLE)


def generate(definition: FormDefinition, person: Personalisation = HULL) -> bytes:
    person = person.with_token()
    identity = FormIdentity.for_copy(definition.id, definition.version, definition.hash, person)
    return write_xlsx_form(definition, person, identity)


def load(data: bytes) -> Workbook:
    return load_workbook(BytesIO(data))


def named_cells(workbook: Workbook, name: str) -> list[Cell]:
    """The cells a workbook defined name covers, read without the module under test."""
    (sheet, ref), *_ = workbook.defined_names[name].destinations
    min_col, min_row, max_col, max_row = range_boundaries(ref.replace("$", ""))
    rows = workbook[sheet].iter_rows(min_row=min_row, max_row=max_row,
                                     min_col=min_col, max_col=max_col)
    return [cell for row in rows for cell in row]


def input_names(definition: FormDefinition) -> list[str]:
    names = []
    for f in definition.fields:
        if f.is_table:
            names += [f"{f.id}.{c.id}" for c in f.columns]
        elif f.type is FieldType.MULTI_CHOICE:
            names += [f"{f.id}.{c.value}" for c in f.choices]
        else:
            names.append(f.id)
    return names


def type_into(workbook: Workbook, name: str, value: object, row: int = 0) -> None:
    """What a member does: type into a named input (text stays text, as Excel shows it)."""
    cell = named_cells(workbook, name)[row]
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"


def save(workbook: Workbook) -> bytes:
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def fill_monitoring(workbook: Workbook) -> dict[str, object]:
    """Fill the monitoring form as a member would; return the raw values the reader should give."""
    type_into(workbook, "partnership", "Hull CDRP")
    type_into(workbook, "meeting_length", "  2 hours ")
    type_into(workbook, "police_officer_attending", HYPERLINK)
    type_into(workbook, "meeting_date", datetime(2026, 3, 14))
    type_into(workbook, "pa_issues.issue", "Street lighting", row=0)
    type_into(workbook, "pa_issues.decision", "Survey agreed", row=0)
    type_into(workbook, "pa_issues.issue", HYPERLINK, row=1)
    type_into(workbook, "challenges_by_pa.by_when", datetime(2026, 4, 1), row=0)
    type_into(workbook, "challenges_by_pa.by_whom", "Inspector Jones", row=0)
    type_into(workbook, "agenda_rating", "Meeting was highly relevant to PA partnership objectives")
    type_into(workbook, "attendance_rating", "attendance of VALUE to pa objectives/reputation")
    return {
        "partnership": "Hull CDRP",
        "meeting_length": "2 hours",
        "police_officer_attending": HYPERLINK,
        "meeting_date": "2026-03-14",
        "agenda_rating": "highly_relevant",
        "attendance_rating": "of_value",
        "meeting_title": "Community Safety Board",
        "meeting_place": "Guildhall, Hull",
        "member_attending": "Cllr A Smith",
    }


def expected_monitoring(definition: FormDefinition, answers: dict[str, object]) -> dict:
    expected = {}
    for f in definition.fields:
        if f.is_table:
            expected[f.id] = [{c.id: "" for c in f.columns} for _ in range(max(f.rows, 10))]
        else:
            expected[f.id] = answers.get(f.id)
    expected["pa_issues"][0] = {"issue": "Street lighting", "decision": "Survey agreed"}
    expected["pa_issues"][1] = {"issue": HYPERLINK, "decision": ""}
    expected["challenges_by_pa"][0].update(by_when="2026-04-01", by_whom="Inspector Jones")
    return expected


def filled_sample() -> tuple[bytes, dict[str, object]]:
    workbook = load(generate(sample()))
    type_into(workbook, "name", "=Ann Other")
    type_into(workbook, "story", "Line one\nLine two")
    type_into(workbook, "people", 42)
    type_into(workbook, "cost", 12.5)
    type_into(workbook, "colour", "=Green")
    type_into(workbook, "agreed", "Maybe")
    type_into(workbook, "topics.housing", "Yes")
    type_into(workbook, "topics.youth_work", "x")
    type_into(workbook, "q2a", "No")
    type_into(workbook, "actions.what", "Fix lights", row=0)
    type_into(workbook, "actions.due", datetime(2026, 5, 1), row=0)
    type_into(workbook, "actions.priority", "High", row=0)
    type_into(workbook, "actions.hours", 3, row=0)
    type_into(workbook, "actions.who", "PCSO Lee", row=1)
    type_into(workbook, "actions.priority", "Urgent", row=1)
    blank = {"what": "", "who": "", "due": "", "priority": "", "hours": ""}
    rows = [dict(blank) for _ in range(12)]
    rows[0].update(what="Fix lights", due="2026-05-01", priority="high", hours="3")
    rows[1].update(who="PCSO Lee", priority="Urgent")
    expected = {
        "name": "=Ann Other", "story": "Line one\nLine two", "when": "2026-03-14",
        "people": "42", "cost": "12.5", "colour": "green", "agreed": "Maybe",
        "topics": ["housing", "youth_work"], "q2a": "no", "q2_comment": None, "actions": rows,
    }
    return save(workbook), expected


def validation_kinds(workbook: Workbook) -> list[tuple[str, str]]:
    rules = workbook["Form"].data_validations.dataValidation
    return sorted((rule.type, str(rule.sqref)) for rule in rules)
