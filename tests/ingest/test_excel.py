"""The Excel reader (pipeline.ingest.excel): what it gets back from a returned workbook, filled
as a member fills it (typed into the named cells) or saved again in LibreOffice Calc, and how it
refuses a damaged one."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from openpyxl import Workbook

from pipeline.core.definitions import FormLibrary
from pipeline.core.errors import UnreadableFile
from pipeline.core.identity import FormIdentity
from pipeline.ingest.excel import open_workbook
from tests.support.filling import resave_in_libreoffice
from tests.support.workbooks import (
    HULL,
    expected_monitoring,
    fill_monitoring,
    filled_sample,
    generate,
    input_names,
    load,
    sample,
    save,
    validation_kinds,
)

# --- reading returned workbooks ----------------------------------------------------------------


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
    resaved = resave_in_libreoffice(source, tmp_path / "out", "xlsx:Calc MS Excel 2007 XML").read_bytes()
    before, after = open_workbook(data), open_workbook(resaved)
    assert after.identity == before.identity
    assert after.values(definition) == expected
    assert after.names == before.names
    assert validation_kinds(load(resaved)) == validation_kinds(load(data))
    assert load(resaved)["Form"].protection.sheet
