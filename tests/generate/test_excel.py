"""Excel forms as generated (pipeline.generate.excel): what a workbook offers a member, inspected
independently with openpyxl. What the reader gets back from a returned one: tests/ingest/test_excel.py."""

from __future__ import annotations

import zipfile
from datetime import datetime
from io import BytesIO

import pytest
from openpyxl import Workbook
from openpyxl.cell.cell import Cell

from pipeline.core.definitions import FieldType, FormDefinition, FormLibrary, parse_definition
from pipeline.core.errors import GenerationError
from pipeline.core.identity import FormIdentity, Personalisation
from pipeline.ingest.excel import open_workbook
from tests.support.workbooks import (
    HULL,
    SAMPLE,
    generate,
    input_names,
    load,
    named_cells,
    sample,
)


def definitions() -> list[FormDefinition]:
    """Every built-in form (the monitoring form at least) and the sample with every kind."""
    return [*FormLibrary.load().latest(), sample()]


def validation_for(workbook: Workbook, cell: Cell):
    rules = workbook["Form"].data_validations.dataValidation
    found = [rule for rule in rules if cell.coordinate in rule.sqref]
    assert len(found) == 1, f"{cell.coordinate} has {len(found)} validations"
    return found[0]


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
