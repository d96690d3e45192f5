"""The partnership register: the empty template, importing a filled one, and what is stored."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date, datetime
from io import BytesIO

import pytest
from openpyxl import load_workbook

from pipeline.core.errors import ConfigError
from pipeline.schedule.register import (
    MEETINGS_SHEET,
    PARTNERSHIPS_SHEET,
    PartnershipType,
    import_register,
    meetings_between,
    partnership,
    partnerships,
    write_register_template,
)

TODAY = date(2026, 1, 15)
P, M = PARTNERSHIPS_SHEET, MEETINGS_SHEET

# name, type, area, representative, email, lead officer, email, 5 x high risk, notes
GOOD_PARTNERSHIPS = [
    ["Northtown Community Safety Partnership", "Crime and Disorder Reduction Partnership (CDRP)",
     "Northtown", "Cllr Ann Able", "ann.able@example.gov.uk", "Bob Officer", "bob@example.gov.uk",
     "Yes", "No", "No", "No", "No", "Funds a joint team"],
    ["Southvale LSP", "LSP", "Southvale", "Cllr Carl Dee", "carl.dee@example.gov.uk", None, None,
     None, None, None, None, None, None],
    ["County Children's Trust", "Children's Trust / Board", "County", "Cllr Di Eve",
     "di.eve@example.gov.uk", None, None, "No", "No", "No", "No", "No", None],
    ["Local Criminal Justice Board", "local criminal justice board", "County", "Cllr Ed Fox",
     "ed.fox@example.gov.uk", None, None, "No", "No", "Yes", "No", "Yes", None],
]
BAD_PARTNERSHIPS = [
    ["Eastfield Forum", "Book club", "Eastfield", "Cllr Gil", "gil@example.gov.uk"],  # row 6
    [None, "Collaboration", "Westbury", "Cllr Hal", "hal@example.gov.uk"],  # row 7
    ["Westbury Prevent", "PREVENT group", "Westbury", "Cllr Ivy", "ivy at example"],  # row 8
    ["southvale lsp", "LSP", "Southvale", "Cllr Carl Dee", "carl.dee@example.gov.uk"],  # row 9
]
# partnership, date, title, place
GOOD_MEETINGS = [
    ["Northtown Community Safety Partnership", datetime(2026, 2, 10), "Board", "Town Hall"],
    ["Southvale LSP", "03/03/2026", "Quarterly meeting", None],
]
BAD_MEETINGS = [
    ["Northtown Community Safety Partnership", datetime(2025, 12, 1), "Too late", None],  # row 4
    ["Nowhere Partnership", datetime(2026, 3, 1), None, None],  # row 5
    ["Southvale LSP", "next Tuesday", None, None],  # row 6
    ["Northtown Community Safety Partnership", datetime(2026, 2, 10), "Again", None],  # row 7
    ["Westbury Prevent", datetime(2026, 4, 1), None, None],  # row 8
]


def filled_register(partnership_rows: list[list], meeting_rows: list[list]) -> bytes:
    """The template as the clerk would fill it in."""
    workbook = load_workbook(BytesIO(write_register_template()))
    for sheet, rows in ((workbook[P], partnership_rows), (workbook[M], meeting_rows)):
        for number, values in enumerate(rows, start=2):
            for column, value in enumerate(values, start=1):
                sheet.cell(row=number, column=column, value=value)
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def problems_by_place(result) -> dict[tuple[str, int], str]:
    return {(p.sheet, p.row): f"{p.column}: {p.message}" for p in result.problems}


class TestTemplate:
    def test_sheets_headings_and_frozen_header_row(self):
        workbook = load_workbook(BytesIO(write_register_template()))

        assert workbook.sheetnames == ["Instructions", P, M]
        headings = [cell.value for cell in workbook[P][1]]
        assert headings[:7] == ["Partnership name", "Type", "Area", "Representative name",
                                "Representative email", "Lead officer", "Lead officer email"]
        assert headings[7:] == [
            "High risk: money", "High risk: allocation of resources",
            "High risk: joint performance targets",
            "High risk: property or staff owned by the partnership", "High risk: contracts", "Notes",
        ]
        meeting_headings = [cell.value for cell in workbook[M][1]]
        assert meeting_headings == ["Partnership name", "Meeting date", "Title", "Place"]
        assert all(cell.font.bold for cell in workbook[P][1])
        assert workbook[P].freeze_panes == "B2" and workbook[M].freeze_panes == "A2"
        assert workbook[P].column_dimensions["A"].width == 40
        assert "pipeline register import" in " ".join(str(c.value) for c in workbook["Instructions"]["A"])

    def test_drop_downs_and_date_check(self):
        workbook = load_workbook(BytesIO(write_register_template()))

        rules = {str(rule.sqref): rule for rule in workbook[P].data_validations.dataValidation}
        type_rule = rules["B2:B501"]
        assert type_rule.type == "list"
        assert all(kind.value in type_rule.formula1 for kind in PartnershipType)
        assert rules["H2:H501"].formula1 == '"Yes,No"' and rules["L2:L501"].formula1 == '"Yes,No"'
        date_rule = workbook[M].data_validations.dataValidation[0]
        assert (str(date_rule.sqref), date_rule.type) == ("B2:B501", "date")
        assert workbook[M]["B2"].number_format == "dd/mm/yyyy"

    def test_the_empty_template_imports_nothing(self, store):
        result = import_register(store, write_register_template(), today=TODAY)

        assert (result.partnerships_added, result.meetings_added, result.problems) == (0, 0, [])


class TestImport:
    def test_good_rows_are_stored_and_each_bad_row_is_reported(self, store):
        data = filled_register(GOOD_PARTNERSHIPS + BAD_PARTNERSHIPS, GOOD_MEETINGS + BAD_MEETINGS)

        result = import_register(store, data, today=TODAY)

        assert (result.partnerships_added, result.meetings_added) == (4, 2)
        assert [p.name for p in partnerships(store)] == [
            "County Children's Trust", "Local Criminal Justice Board",
            "Northtown Community Safety Partnership", "Southvale LSP",
        ]
        found = problems_by_place(result)
        assert found == {
            (P, 6): 'Type: "Book club" is not a type of partnership the register knows;'
                    " choose one from the list.",
            (P, 7): "Partnership name: The partnership has no name.",
            (P, 8): 'Representative email: "ivy at example" is not an email address'
                    " (write just the address, e.g. jo.bloggs@council.gov.uk).",
            (P, 9): 'Partnership name: "southvale lsp" is already on row 3; give each partnership'
                    " one row only.",
            (M, 4): "Meeting date: 01/12/2025 is in the past; only meetings still to come can be added.",
            (M, 5): 'Partnership name: "Nowhere Partnership" is not on the Partnerships sheet or in'
                    " the register; add it there first.",
            (M, 6): 'Meeting date: "next Tuesday" is not a date; write it as a date, for example'
                    " 31/12/2026.",
            (M, 7): "Meeting date: This meeting is already on row 2; give each meeting one row only.",
            (M, 8): 'Partnership name: "Westbury Prevent" was not imported (see row 8 of the'
                    " Partnerships sheet), so neither was its meeting.",
        }
        assert str(result.problems[0]) == (
            'Partnerships sheet, row 6, Type: "Book club" is not a type of partnership the register'
            " knows; choose one from the list."
        )

    def test_what_is_stored_for_a_partnership_and_its_meetings(self, store):
        import_register(store, filled_register(GOOD_PARTNERSHIPS, GOOD_MEETINGS), today=TODAY)

        northtown = partnership(store, "northtown community safety partnership")
        assert northtown is not None
        assert northtown.type is PartnershipType.CDRP
        assert (northtown.representative, northtown.representative_email) == (
            "Cllr Ann Able", "ann.able@example.gov.uk")
        assert (northtown.lead_officer, northtown.notes) == ("Bob Officer", "Funds a joint team")
        assert partnership(store, "Southvale LSP").type is PartnershipType.LSP
        found = meetings_between(store, date(2026, 2, 1), date(2026, 3, 3))
        assert [(m.partnership, m.meeting_date, m.title, m.place) for m in found] == [
            ("Northtown Community Safety Partnership", date(2026, 2, 10), "Board", "Town Hall"),
            ("Southvale LSP", date(2026, 3, 3), "Quarterly meeting", None),
        ]
        assert found[0].partnership_id == northtown.id
        assert meetings_between(store, date(2026, 2, 11), date(2026, 3, 2)) == []
        assert partnership(store, "Nowhere") is None

    def test_high_risk_when_any_criterion_applies(self, store):
        import_register(store, filled_register(GOOD_PARTNERSHIPS, []), today=TODAY)

        by_name = {p.name: p for p in partnerships(store)}
        assert by_name["Northtown Community Safety Partnership"].high_risk
        assert by_name["Northtown Community Safety Partnership"].risk_criteria == ("money",)
        assert by_name["Local Criminal Justice Board"].risk_criteria == (
            "joint performance targets", "contracts")
        assert not by_name["Southvale LSP"].high_risk  # blanks count as No
        assert not by_name["County Children's Trust"].high_risk

    def test_importing_again_updates_and_never_duplicates(self, store):
        import_register(store, filled_register(GOOD_PARTNERSHIPS, GOOD_MEETINGS), today=TODAY)
        changed = [row[:] for row in GOOD_PARTNERSHIPS]
        changed[1][0] = "SOUTHVALE LSP"  # same partnership, other capitals
        changed[1][4] = "new.rep@example.gov.uk"
        changed[1][11] = "Yes"
        meetings = [GOOD_MEETINGS[0][:3] + ["Council Chamber"], GOOD_MEETINGS[1]]

        # the first meeting is in the past by now: already known, so not a problem
        result = import_register(store, filled_register(changed, meetings), today=date(2026, 2, 20))

        assert result.problems == []
        assert result.partnerships_added == 0
        assert (result.partnerships_updated, result.partnerships_unchanged) == (1, 3)
        assert (result.meetings_added, result.meetings_updated, result.meetings_unchanged) == (0, 1, 1)
        assert len(partnerships(store)) == 4
        southvale = partnership(store, "southvale lsp")
        assert southvale.name == "SOUTHVALE LSP"
        assert southvale.representative_email == "new.rep@example.gov.uk"
        assert southvale.high_risk
        assert [m.place for m in meetings_between(store, date(2026, 1, 1), date(2026, 12, 31))] == [
            "Council Chamber", None]

    def test_a_meeting_for_a_partnership_already_in_the_register(self, store):
        import_register(store, filled_register(GOOD_PARTNERSHIPS, []), today=TODAY)

        result = import_register(store, filled_register([], GOOD_MEETINGS), today=TODAY)

        assert (result.meetings_added, result.problems) == (2, [])

    def test_text_that_looks_like_a_formula_is_kept_as_text(self, store):
        row = ["=HYPERLINK(\"x\")", "LSP", None, None, None, None, None]
        workbook = load_workbook(BytesIO(filled_register([], [])))
        for column, value in enumerate(row, start=1):
            workbook[P].cell(row=2, column=column).value = value
            workbook[P].cell(row=2, column=column).data_type = "s"
        buffer = BytesIO()
        workbook.save(buffer)

        import_register(store, buffer.getvalue(), today=TODAY)

        assert [p.name for p in partnerships(store)] == ['=HYPERLINK("x")']

    def test_a_workbook_without_the_register_columns(self, store):
        workbook = load_workbook(BytesIO(write_register_template()))
        workbook[P]["B1"].value = "Kind"
        buffer = BytesIO()
        workbook.save(buffer)

        result = import_register(store, buffer.getvalue(), today=TODAY)

        assert [str(p) for p in result.problems] == [
            'Partnerships sheet, row 1: This sheet has no column headed "Type". Put the heading back'
            " (the template shows them) and import again."
        ]

    def test_a_file_that_is_not_a_workbook(self, store):
        with pytest.raises(ConfigError, match="register could not be imported"):
            import_register(store, b"name,type\nNorthtown,LSP\n", today=TODAY, source_name="register.csv")


@pytest.mark.libreoffice
def test_a_register_saved_again_in_libreoffice_calc_imports_the_same(store, tmp_path):
    if shutil.which("soffice") is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    source = tmp_path / "register.xlsx"
    source.write_bytes(filled_register(GOOD_PARTNERSHIPS, GOOD_MEETINGS))
    out = tmp_path / "out"
    subprocess.run(
        ["soffice", f"-env:UserInstallation=file://{tmp_path}/profile", "--headless",
         "--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir", str(out), str(source)],
        check=False, capture_output=True, timeout=120,
    )
    assert (out / "register.xlsx").exists(), "LibreOffice wrote no workbook"

    result = import_register(store, (out / "register.xlsx").read_bytes(), today=TODAY)

    assert (result.partnerships_added, result.meetings_added, result.problems) == (4, 2, [])
    assert partnership(store, "Local Criminal Justice Board").risk_criteria == (
        "joint performance targets", "contracts")
