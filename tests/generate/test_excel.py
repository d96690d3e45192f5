"""Excel forms: what a generated workbook offers a member, and what the reader gets back.

Generated workbooks are inspected independently with openpyxl; returned workbooks are made the
way a member would (typing into the named input cells), and once through LibreOffice Calc.
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
import zipfile
from datetime import date, datetime
from io import BytesIO
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import Cell
from openpyxl.utils import range_boundaries

from pipeline.core.definitions import FieldType, FormDefinition, FormLibrary, parse_definition
from pipeline.core.errors import GenerationError, UnreadableFile
from pipeline.core.identity import FormIdentity, Personalisation
from pipeline.generate.excel import write_xlsx_form
from pipeline.ingest.excel import open_workbook

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


def definitions() -> list[FormDefinition]:
    """Every built-in form (the monitoring form at least) and the sample with every kind."""
    return [*FormLibrary.load().latest(), sample()]


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


def validation_for(workbook: Workbook, cell: Cell):
    rules = workbook["Form"].data_validations.dataValidation
    found = [rule for rule in rules if cell.coordinate in rule.sqref]
    assert len(found) == 1, f"{cell.coordinate} has {len(found)} validations"
    return found[0]


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


@pytest.mark.parametrize("definition", definitions(), ids=lambda d: d.id)
class TestGeneratedWorkbook:
    def test_each_input_has_a_defined_name_from_its_field(self, definition: FormDefinition):
        workbook = load(generate(definition))
        for name in input_names(definition):
            cells = named_cells(workbook, name)
            assert cells[0].parent.title == "Form"
            if "." not in name or definition.field(name.split(".")[0]).type is not FieldType.TABLE:
                assert len(cells) == 1, name
        for f in (f for f in definition.fields if f.is_table):
            for column in f.columns:
                cells = named_cells(workbook, f"{f.id}.{column.id}")
                assert len(cells) == max(f.rows, 10)
                assert len({c.column for c in cells}) == 1

    def test_only_input_cells_can_be_changed(self, definition: FormDefinition):
        workbook = load(generate(definition))
        sheet = workbook["Form"]
        inputs = {c.coordinate for n in input_names(definition) for c in named_cells(workbook, n)}
        assert sheet.protection.sheet
        assert workbook["Lists"].protection.sheet
        assert workbook["Lists"].sheet_state == "hidden"
        for row in sheet.iter_rows(min_row=1, max_row=sheet.max_row + 2,
                                   max_col=sheet.max_column + 2):
            for cell in row:
                assert cell.protection.locked is (cell.coordinate not in inputs), cell.coordinate

    def test_answers_are_checked_by_kind(self, definition: FormDefinition):
        workbook = load(generate(definition))
        for f in definition.fields:
            if f.is_table:
                for column in f.columns:
                    first = named_cells(workbook, f"{f.id}.{column.id}")[0]
                    check_rule(workbook, first, column.type, column.choices)
            elif f.type is not FieldType.MULTI_CHOICE:
                check_rule(workbook, named_cells(workbook, f.id)[0], f.type, f.choices)

    def test_identity_and_marking_travel_with_the_file(self, definition: FormDefinition):
        workbook = load(generate(definition))
        props = {p.name: p.value for p in workbook.custom_doc_props.props}
        assert props["PipelineFormId"] == definition.id
        assert props["PipelineFormVersion"] == str(definition.version)
        assert props["PipelineFormHash"] == definition.hash
        assert props["PipelineToken"] == HULL.token
        assert workbook.properties.title == definition.title
        assert workbook.properties.subject == definition.id
        sheet = workbook["Form"]
        assert sheet["A1"].value == definition.title
        assert sheet["A2"].value == definition.marking
        assert sheet.oddHeader.center.text == definition.marking
        assert sheet.oddFooter.center.text == definition.marking

    def test_a_blank_workbook_reads_back_as_empty(self, definition: FormDefinition):
        returned = open_workbook(generate(definition, Personalisation()))
        values = returned.values(definition)
        assert set(values) == {f.id for f in definition.fields}
        assert returned.identity == FormIdentity(definition.id, definition.version,
                                                 definition.hash)
        for f in definition.fields:
            if f.is_table:
                assert len(values[f.id]) == max(f.rows, 10)
                assert all(v == "" for row in values[f.id] for v in row.values())
            else:
                assert values[f.id] in (None, [])


def check_rule(workbook: Workbook, cell: Cell, kind: FieldType, choices) -> None:
    rule = validation_for(workbook, cell)
    assert rule.showErrorMessage and rule.error
    if choices:
        assert rule.type == "list"
        assert rule.prompt.startswith("Choose one from the list")
        listed = [c.value for c in named_cells(workbook, rule.formula1)]
        assert listed == [c.label for c in choices]
    elif kind is FieldType.DATE:
        assert rule.type == "date"
        assert rule.prompt.startswith("Enter a date, e.g. 14/03/2026")
        assert cell.number_format == "dd/mm/yyyy"
    elif kind is FieldType.NUMBER:
        assert rule.type in ("decimal", "whole")
    else:
        assert rule.type == "textLength"


class TestLayout:
    def test_personalised_copy_is_prefilled(self):
        definition = FormLibrary.load().get("monitoring")
        workbook = load(generate(definition))
        assert named_cells(workbook, "partnership")[0].value == "Hull CDRP"
        assert named_cells(workbook, "member_attending")[0].value == "Cllr A Smith"
        assert named_cells(workbook, "meeting_place")[0].value == "Guildhall, Hull"
        meeting = named_cells(workbook, "meeting_date")[0]
        assert meeting.is_date and meeting.value == datetime(2026, 3, 14)
        assert named_cells(workbook, "meeting_length")[0].value is None

    def test_text_that_looks_like_a_formula_is_stored_as_text(self):
        definition = FormLibrary.load().get("monitoring")
        data = generate(definition, Personalisation(partnership="=Hull CDRP", member="+44 Smith"))
        workbook = load(data)
        cell = named_cells(workbook, "partnership")[0]
        assert cell.value == "=Hull CDRP" and cell.data_type == "s"
        assert named_cells(workbook, "member_attending")[0].data_type == "s"
        with zipfile.ZipFile(BytesIO(data)) as package:
            assert "<f>" not in package.read("xl/worksheets/sheet1.xml").decode()

    def test_numbers_and_whole_numbers_have_their_limits(self):
        workbook = load(generate(sample()))
        people = validation_for(workbook, named_cells(workbook, "people")[0])
        assert (people.type, people.formula1, people.formula2) == ("whole", "0", "500")
        assert validation_for(workbook, named_cells(workbook, "cost")[0]).type == "decimal"

    def test_multi_choice_is_a_yes_cell_per_choice(self):
        workbook = load(generate(sample()))
        housing = named_cells(workbook, "topics.housing")[0]
        assert workbook["Form"].cell(row=housing.row, column=1).value == "Housing"
        rule = validation_for(workbook, housing)
        assert (rule.type, rule.formula1) == ("list", '"Yes"')

    def test_a_single_choice_shown_as_ticks_is_one_dropdown(self):
        workbook = load(generate(sample()))
        agreed = named_cells(workbook, "agreed")
        assert len(agreed) == 1
        assert validation_for(workbook, agreed[0]).type == "list"

    def test_group_shows_its_number_then_numbered_questions(self):
        sheet = load(generate(sample()))["Form"]
        labels = [cell.value for cell in sheet["A"]]
        start = labels.index("2  Does the agreement cover:")
        assert labels[start + 1] == "(1) Take advice"
        assert labels[start + 2] == "2a  Purpose?"
        assert labels[start + 3] == "Assessment"

    def test_table_has_a_heading_row_and_its_rows(self):
        workbook = load(generate(sample()))
        what = named_cells(workbook, "actions.what")
        assert len(what) == 12
        heading = workbook["Form"][what[0].row - 1]
        assert [c.value for c in heading[:5]] == ["What", "Who", "By when", "Priority", "Hours"]

    def test_a_field_id_that_is_an_r1c1_cell_address_is_refused(self):
        raw = {**SAMPLE, "sections": [{"id": "s", "title": "S", "items": [{"id": "r2c3",
                                                                          "label": "Q"}]}]}
        with pytest.raises(GenerationError, match="cell address"):
            generate(parse_definition(raw))


# --- reading returned workbooks ----------------------------------------------------------------


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


class TestReader:
    def test_a_filled_monitoring_form_reads_back_exactly(self):
        definition = FormLibrary.load().get("monitoring")
        workbook = load(generate(definition))
        answers = fill_monitoring(workbook)
        returned = open_workbook(save(workbook))
        assert returned.values(definition) == expected_monitoring(definition, answers)
        assert returned.identity == FormIdentity.for_copy(
            definition.id, definition.version, definition.hash, HULL)

    def test_every_kind_of_answer_reads_back(self):
        data, expected = filled_sample()
        assert open_workbook(data).values(sample()) == expected

    def test_names_of_the_returned_workbook_are_listed(self):
        definition = sample()
        names = open_workbook(generate(definition)).names
        assert set(input_names(definition)) <= names

    def test_a_field_whose_name_was_removed_is_absent(self):
        definition = FormLibrary.load().get("monitoring")
        workbook = load(generate(definition))
        del workbook.defined_names["meeting_place"]
        del workbook.defined_names["pa_issues.decision"]
        returned = open_workbook(save(workbook))
        values = returned.values(definition)
        assert "meeting_place" not in values and "pa_issues" not in values
        assert values["partnership"] == "Hull CDRP"
        assert "meeting_place" not in returned.names

    def test_a_workbook_without_identity_has_none(self):
        returned = open_workbook(save(Workbook()))
        assert returned.identity is None
        assert returned.values(FormLibrary.load().get("monitoring")) == {}

    @pytest.mark.parametrize("data", [b"", b"not a spreadsheet", b"PK\x03\x04broken"])
    def test_a_damaged_file_is_refused_in_plain_words(self, data: bytes):
        with pytest.raises(UnreadableFile, match="could not be opened"):
            open_workbook(data)

    def test_a_truncated_workbook_is_refused(self):
        data = generate(FormLibrary.load().get("monitoring"))
        with pytest.raises(UnreadableFile):
            open_workbook(data[: len(data) // 2])


# --- LibreOffice -------------------------------------------------------------------------------


def resave_in_libreoffice(source: Path, out: Path) -> Path:
    profile = f"file:///tmp/lo-{uuid.uuid4().hex}"
    command = ["soffice", f"-env:UserInstallation={profile}", "--headless", "--convert-to",
               "xlsx:Calc MS Excel 2007 XML", "--outdir", str(out), str(source)]
    try:
        subprocess.run(command, capture_output=True, timeout=120, check=False)
    finally:
        shutil.rmtree(profile.removeprefix("file://"), ignore_errors=True)
    result = out / source.name
    assert result.exists(), "LibreOffice produced no workbook"
    return result


def validation_kinds(workbook: Workbook) -> list[tuple[str, str]]:
    rules = workbook["Form"].data_validations.dataValidation
    return sorted((rule.type, str(rule.sqref)) for rule in rules)


@pytest.mark.libreoffice
@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) not installed")
@pytest.mark.parametrize("form", ["monitoring", "sample"])
def test_a_workbook_resaved_by_libreoffice_reads_the_same(tmp_path: Path, form: str):
    if form == "sample":
        definition = sample()
        data, expected = filled_sample()
    else:
        definition = FormLibrary.load().get("monitoring")
        workbook = load(generate(definition))
        expected = expected_monitoring(definition, fill_monitoring(workbook))
        data = save(workbook)
    source = tmp_path / "in" / f"{form}.xlsx"
    source.parent.mkdir()
    source.write_bytes(data)
    resaved = resave_in_libreoffice(source, tmp_path / "out").read_bytes()
    before, after = open_workbook(data), open_workbook(resaved)
    assert after.identity == before.identity
    assert after.values(definition) == expected
    assert after.names == before.names
    assert validation_kinds(load(resaved)) == validation_kinds(load(data))
    assert load(resaved)["Form"].protection.sheet
