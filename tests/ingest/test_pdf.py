"""Returned forms as PDF: what the reader gets from a flat PDF a member saved from the filled Word
form (made here by real LibreOffice), from a PDF with real form fields, and from bad files.
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date
from pathlib import Path

import pdfplumber
import pytest
from pypdf import PdfReader, PdfWriter
from pypdf.generic import NameObject

from pipeline.core.definitions import FormDefinition, FormLibrary
from pipeline.core.errors import UnknownForm, UnreadableFile
from pipeline.core.identity import Personalisation
from pipeline.generate.forms import form_bytes
from pipeline.ingest.pdf import pdf_identity, pdf_token, read_pdf_values
from pipeline.ooxml.package import replace_parts
from tests.support.filling import fill_docx, resave_in_libreoffice, soffice

LIBRARY = FormLibrary.load()
HULL = Personalisation(
    partnership="Hull & East Riding <Safer> Communities",
    member="Cllr A Smith",
    meeting_title="Community Safety Board",
    meeting_date=date(2026, 3, 14),
    meeting_place="Guildhall, Hull",
)
CHALLENGES = [
    {"challenge": f"Street lighting on estate {n} is poor & CCTV coverage has <gaps>",
     "action": f"Survey estate {n}", "by_whom": f"Officer {n}", "by_when": f"2026-04-{n + 1:02d}"}
    for n in range(7)
]
MONITORING = {
    "meeting_length": "2 hours",
    "police_officer_attending": "Insp. R Jones & PC <Lee>",
    "pa_issues": [
        {"issue": "Budget & <precept> review for 2026/27", "decision": "Agreed to defer to June"},
        {"issue": "Knife crime in the city centre", "decision": ""},
    ],
    "challenges_by_pa": CHALLENGES,
    "agenda_rating": ["highly_relevant"],
    "attendance_rating": ["of_value"],
}
RISK = {
    "assessed_on": "2026-02-01",
    "screen_money": "yes",
    "q1_answer": "not_known",
    "q1_comment": "Agreement signed & dated <2023>; legal advice taken",
    "q2a": "yes",
    "q3_answer": "Hull City Council",
    "q13_answer": "no",
    "q16_agency": "East Riding of Yorkshire Council",
}
EIA = {
    "title": "Stop & search <pilot>",
    "b8_answer": "Community panels review every search",
    "b8_impact": ["medium"],
    "b9_impact": ["high"],
    "b10_impact": ["low"],
    "b3a_internal": "Staff survey",
}
BOX_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
needs_soffice = pytest.mark.skipif(soffice() is None, reason="LibreOffice (soffice) is not installed")


def uk(iso: str) -> str:
    """A date as the Word form shows it (and so as the PDF prints it)."""
    return date.fromisoformat(iso).strftime("%d/%m/%Y")


def filled_rows(rows: object) -> list[dict[str, str]]:
    assert isinstance(rows, list)
    return [row for row in rows if any(v.strip() for v in row.values())]


def pdf_from_libreoffice(definition: FormDefinition, values: dict[str, object], folder: Path,
                         *, rows_may_split: bool = False) -> bytes:
    """The filled Word form saved as PDF by real LibreOffice, as a member would. With
    `rows_may_split`, a copy made before the generator kept each question's row whole."""
    data, _ = form_bytes(definition, "docx", HULL)
    if rows_may_split:
        data = without_cant_split(data)
    docx = folder / f"{definition.id}{'-split' if rows_may_split else ''}.docx"
    docx.write_bytes(fill_docx(data, values))
    return resave_in_libreoffice(docx, folder / "out", "pdf:writer_pdf_Export").read_bytes()


def without_cant_split(docx: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(docx)) as archive:
        document = archive.read("word/document.xml")
    return replace_parts(docx, {"word/document.xml": re.sub(rb"<w:cantSplit\s*/>", b"", document)})


def rows_broken_by_pages(data: bytes) -> int:
    """How many pages open with the rest of a question row (a left cell not starting "N.")."""
    broken = 0
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        for page in pdf.pages[1:]:
            tables = page.extract_tables()
            first = (tables[0][0][0] or "") if tables and tables[0] else ""
            broken += not re.match(r"[0-9]+\. ", first)
    return broken


@pytest.fixture(scope="module")
def lo_pdfs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    if soffice() is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    folder = tmp_path_factory.mktemp("pdf")
    forms = {"monitoring": MONITORING, "risk-checklist": RISK, "eia": EIA}
    made = {form_id: pdf_from_libreoffice(LIBRARY.get(form_id), values, folder)
            for form_id, values in forms.items()}
    made["split"] = pdf_from_libreoffice(LIBRARY.get("risk-checklist"), RISK, folder,
                                         rows_may_split=True)
    return made


# --- flat PDFs saved by LibreOffice --------------------------------------------------------------


@needs_soffice
class TestMonitoringFromLibreOffice:
    def test_the_footer_identifies_the_form(self, lo_pdfs: dict[str, bytes]) -> None:
        assert pdf_identity(lo_pdfs["monitoring"]) == ("monitoring", 1)

    def test_no_token_survives_the_export(self, lo_pdfs: dict[str, bytes]) -> None:
        assert pdf_token(lo_pdfs["monitoring"]) is None

    def test_prefilled_and_typed_answers(self, lo_pdfs: dict[str, bytes]) -> None:
        values = read_pdf_values(lo_pdfs["monitoring"], LIBRARY.get("monitoring"))
        assert values["partnership"] == "Hull & East Riding <Safer> Communities"
        assert values["meeting_title"] == "Community Safety Board"
        assert values["meeting_date"] == "14/03/2026"
        assert values["meeting_place"] == "Guildhall, Hull"
        assert values["meeting_length"] == "2 hours"
        assert values["member_attending"] == "Cllr A Smith"
        assert values["police_officer_attending"] == "Insp. R Jones & PC <Lee>"

    def test_table_rows_with_wrapped_text(self, lo_pdfs: dict[str, bytes]) -> None:
        values = read_pdf_values(lo_pdfs["monitoring"], LIBRARY.get("monitoring"))
        assert filled_rows(values["pa_issues"]) == MONITORING["pa_issues"]
        assert len(values["pa_issues"]) == 5  # the blank rows Word printed are kept, as blanks

    def test_rows_added_beyond_the_printed_five_run_onto_the_next_page(
            self, lo_pdfs: dict[str, bytes]) -> None:
        values = read_pdf_values(lo_pdfs["monitoring"], LIBRARY.get("monitoring"))
        expected = [{**row, "by_when": uk(row["by_when"])} for row in CHALLENGES]
        assert values["challenges_by_pa"] == expected

    def test_untouched_tables_read_as_blank_rows(self, lo_pdfs: dict[str, bytes]) -> None:
        values = read_pdf_values(lo_pdfs["monitoring"], LIBRARY.get("monitoring"))
        assert values["challenges_to_pa"] and filled_rows(values["challenges_to_pa"]) == []
        assert filled_rows(values["force_issues"]) == []

    def test_tick_tables(self, lo_pdfs: dict[str, bytes]) -> None:
        values = read_pdf_values(lo_pdfs["monitoring"], LIBRARY.get("monitoring"))
        assert values["agenda_rating"] == ["highly_relevant"]
        assert values["attendance_rating"] == ["of_value"]

    def test_a_different_form_is_not_taken_for_this_one(self, lo_pdfs: dict[str, bytes]) -> None:
        with pytest.raises(UnknownForm, match="does not look like the Partnership Monitoring Form"):
            read_pdf_values(lo_pdfs["risk-checklist"], LIBRARY.get("monitoring"))


@needs_soffice
class TestChecklistFromLibreOffice:
    def test_identity(self, lo_pdfs: dict[str, bytes]) -> None:
        assert pdf_identity(lo_pdfs["risk-checklist"]) == ("risk-checklist", 1)

    def test_numbered_questions_and_their_parts(self, lo_pdfs: dict[str, bytes]) -> None:
        values = read_pdf_values(lo_pdfs["risk-checklist"], LIBRARY.get("risk-checklist"))
        assert values["q1_answer"] == "not_known"
        assert values["q1_comment"] == RISK["q1_comment"]
        assert values["q2a"] == "yes"
        assert values["q3_answer"] == "Hull City Council"
        assert values["q13_answer"] == "no"
        assert values["q16_agency"] == "East Riding of Yorkshire Council"

    def test_drop_downs_and_boxes_left_alone_read_as_empty(self, lo_pdfs: dict[str, bytes]) -> None:
        values = read_pdf_values(lo_pdfs["risk-checklist"], LIBRARY.get("risk-checklist"))
        assert values["screen_money"] == "yes"
        assert values["screen_contracts"] == ""  # "Choose an item."
        assert values["q2b"] == "" and values["q2_comment"] == ""  # "Click here to enter text."
        assert values["assessed_on"] == "01/02/2026"

    def test_every_question_is_found(self, lo_pdfs: dict[str, bytes]) -> None:
        definition = LIBRARY.get("risk-checklist")
        values = read_pdf_values(lo_pdfs["risk-checklist"], definition)
        assert set(values) == {f.id for f in definition.fields}

    def test_rows_broken_across_pages_in_an_older_copy(self, lo_pdfs: dict[str, bytes]) -> None:
        assert rows_broken_by_pages(lo_pdfs["split"]) >= 1  # else this test proves nothing
        definition = LIBRARY.get("risk-checklist")
        values = read_pdf_values(lo_pdfs["split"], definition)
        assert set(values) == {f.id for f in definition.fields}
        expected = {**RISK, "assessed_on": uk(RISK["assessed_on"])}
        assert {k: values[k] for k in RISK} == expected


@needs_soffice
class TestImpactAssessmentFromLibreOffice:
    def test_inline_high_medium_low_ticks(self, lo_pdfs: dict[str, bytes]) -> None:
        values = read_pdf_values(lo_pdfs["eia"], LIBRARY.get("eia"))
        assert values["b8_impact"] == ["medium"]
        assert values["b9_impact"] == ["high"]
        assert values["b10_impact"] == ["low"]

    def test_answers_beside_the_ticks(self, lo_pdfs: dict[str, bytes]) -> None:
        values = read_pdf_values(lo_pdfs["eia"], LIBRARY.get("eia"))
        assert values["title"] == "Stop & search <pilot>"
        assert values["b8_answer"] == "Community panels review every search"
        assert values["b3a_internal"] == "Staff survey"
        assert values["b3b_external"] == ""
        assert values["partnership"] == "Hull & East Riding <Safer> Communities"


# --- PDFs made by other programs (reportlab stands in for them) ----------------------------------


def acroform_pdf() -> bytes:
    """A PDF with real form fields named by field id, its tick box 'on' state /On, not /Yes."""
    pytest.importorskip("reportlab", reason="reportlab is needed to build a PDF with form fields")
    from reportlab.pdfgen.canvas import Canvas

    buffer = io.BytesIO()
    canvas = Canvas(buffer)
    form = canvas.acroForm
    texts = {"partnership": "Hull & <Goole>", "meeting_date": "14/03/2026",
             "pa_issues.issue.1": "Budget", "pa_issues.decision.1": "Deferred",
             "pa_issues.issue.2": "Knife crime", "PipelineFormId": "monitoring",
             "PipelineFormVersion": "1", "PipelineToken": "5f2b9c0d1e3a4b6c"}
    for n, (name, value) in enumerate(texts.items()):
        form.textfield(name=name, value=value, x=40, y=780 - 30 * n, width=300, height=20)
    form.checkbox(name="agenda_rating.highly_relevant", checked=True, x=40, y=400)
    form.checkbox(name="agenda_rating.no_value", checked=False, x=80, y=400)
    canvas.showPage()
    canvas.save()
    return _renamed_on_state(buffer.getvalue(), "/On")


def _renamed_on_state(data: bytes, state: str) -> bytes:
    writer = PdfWriter(clone_from=io.BytesIO(data))
    for annotation in writer.pages[0]["/Annots"]:
        widget = annotation.get_object()
        appearances = widget.get("/AP", {}).get("/N", {})
        if "/Yes" in appearances:
            appearances[NameObject(state)] = appearances.pop("/Yes")
            for key in ("/V", "/AS"):
                if widget.get(key) == "/Yes":
                    widget[NameObject(key)] = NameObject(state)
    return _written(writer)


def _written(writer: PdfWriter) -> bytes:
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def flat_pdf_from_another_program() -> bytes:
    """The monitoring form's layout printed by something other than LibreOffice, with a line
    break typed inside an answer and answers long enough to wrap."""
    pytest.importorskip("reportlab", reason="reportlab is needed to build a flat PDF")
    from reportlab.lib import colors
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    style = getSampleStyleSheet()["BodyText"]

    def grid(rows: list[list[str]], widths: list[float]) -> Table:
        table = Table([[Paragraph(cell, style) for cell in row] for row in rows], colWidths=widths)
        table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.black)]))
        return table

    def footer(canvas: object, _doc: object) -> None:
        canvas.drawString(60, 30, "Partnership Monitoring Form \u2022 form monitoring, version 1")

    labels = grid([
        ["<b>Partnership *</b><br/><i>The partnership whose meeting this was.</i>",
         "Hull &amp; Goole"],
        ["<b>Date of meeting *</b>", "14/03/2026"],
    ], [200, 280])
    issues = grid([
        ["<b>Issues on agenda relevant to PA objectives</b>",
         "<b>Decisions made relevant to PA objectives</b>"],
        ["A long discussion of the precept and of how the partnership spends its grant",
         "Agreed<br/>Review in June"],
        ["Type here", "Type here"],
    ], [240, 240])
    buffer = io.BytesIO()
    SimpleDocTemplate(buffer).build([labels, Spacer(0, 12), issues], onFirstPage=footer)
    return buffer.getvalue()


def tick_table_pdf(marks: list[str]) -> bytes:
    """The monitoring form's agenda rating printed with `marks` in its Tick column."""
    pytest.importorskip("reportlab", reason="reportlab is needed to build a flat PDF")
    from reportlab.lib import colors
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.platypus import SimpleDocTemplate, Table, TableStyle

    if not BOX_FONT.exists():
        pytest.skip(f"{BOX_FONT} (a font with tick-box glyphs) is not installed")
    pdfmetrics.registerFont(TTFont("DejaVuSans", str(BOX_FONT)))
    field = LIBRARY.get("monitoring").field("agenda_rating")
    rows = [["Agenda Rating", "Tick"], *([c.label, m] for c, m in zip(field.choices, marks, strict=True))]
    table = Table(rows, style=TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                                          ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
                                          ("FONTNAME", (1, 1), (1, -1), "DejaVuSans")]))
    buffer = io.BytesIO()
    SimpleDocTemplate(buffer).build([table])
    return buffer.getvalue()


class TestAcroForm:
    def test_fields_named_by_id(self) -> None:
        values = read_pdf_values(acroform_pdf(), LIBRARY.get("monitoring"))
        assert values["partnership"] == "Hull & <Goole>"
        assert values["meeting_date"] == "14/03/2026"
        assert "meeting_place" not in values  # no such field in the PDF: not found, not blank

    def test_a_tick_box_whose_on_state_is_not_yes(self) -> None:
        data = acroform_pdf()
        fields = PdfReader(io.BytesIO(data)).get_fields()
        assert fields["agenda_rating.highly_relevant"]["/V"] == "/On"
        assert read_pdf_values(data, LIBRARY.get("monitoring"))["agenda_rating"] == ["highly_relevant"]

    def test_table_rows_by_column_and_row_number(self) -> None:
        values = read_pdf_values(acroform_pdf(), LIBRARY.get("monitoring"))
        assert values["pa_issues"] == [{"issue": "Budget", "decision": "Deferred"},
                                       {"issue": "Knife crime", "decision": ""}]

    def test_identity_and_token_from_hidden_fields(self) -> None:
        data = acroform_pdf()
        assert pdf_identity(data) == ("monitoring", 1)
        assert pdf_token(data) == "5f2b9c0d1e3a4b6c"


class TestOtherProducers:
    def test_wrapped_lines_join_and_a_typed_line_break_stays(self) -> None:
        values = read_pdf_values(flat_pdf_from_another_program(), LIBRARY.get("monitoring"))
        assert values["partnership"] == "Hull & Goole"
        assert values["meeting_date"] == "14/03/2026"
        assert values["pa_issues"] == [
            {"issue": "A long discussion of the precept and of how the partnership spends its grant",
             "decision": "Agreed\nReview in June"},
            {"issue": "", "decision": ""},
        ]

    def test_identity_from_the_footer(self) -> None:
        assert pdf_identity(flat_pdf_from_another_program()) == ("monitoring", 1)

    def test_identity_from_document_information(self) -> None:
        writer = PdfWriter(clone_from=io.BytesIO(flat_pdf_from_another_program()))
        writer.add_metadata({"/PipelineFormId": "eia", "/PipelineFormVersion": "2",
                             "/PipelineToken": "abc123"})
        data = _written(writer)
        assert pdf_identity(data) == ("eia", 2)
        assert pdf_token(data) == "abc123"


    def test_a_tick_typed_as_x(self) -> None:
        data = tick_table_pdf(["\u2610", "X", "\u2610", "\u2610", "\u2610"])
        assert read_pdf_values(data, LIBRARY.get("monitoring")) == {"agenda_rating": ["highly_relevant"]}

    def test_tick_boxes_that_print_as_something_else_are_not_guessed(self) -> None:
        data = tick_table_pdf(["?", "?", "X", "?", "?"])
        with pytest.raises(UnreadableFile, match="tick boxes in this PDF cannot be read"):
            read_pdf_values(data, LIBRARY.get("monitoring"))


# --- files we refuse -----------------------------------------------------------------------------


class TestRefused:
    def test_password_protected(self) -> None:
        writer = PdfWriter(clone_from=io.BytesIO(flat_pdf_from_another_program()))
        writer.encrypt("pw")
        with pytest.raises(UnreadableFile, match="password-protected.*without a password"):
            read_pdf_values(_written(writer), LIBRARY.get("monitoring"))

    def test_restricted_but_openable_without_a_password_is_read(self) -> None:
        writer = PdfWriter(clone_from=io.BytesIO(flat_pdf_from_another_program()))
        writer.encrypt(user_password="", owner_password="owner")
        values = read_pdf_values(_written(writer), LIBRARY.get("monitoring"))
        assert values["partnership"] == "Hull & Goole"

    @pytest.mark.parametrize("data", [b"", b"this is not a PDF", b"%PDF-1.7\n1 0 obj\n<< /Type"])
    def test_damaged_or_not_a_pdf(self, data: bytes) -> None:
        with pytest.raises(UnreadableFile, match="damaged or is not really a PDF"):
            read_pdf_values(data, LIBRARY.get("monitoring"))
        with pytest.raises(UnreadableFile):
            pdf_identity(data)

    def test_too_many_pages(self) -> None:
        writer = PdfWriter()
        for _ in range(51):
            writer.add_blank_page(595, 842)
        with pytest.raises(UnreadableFile, match="51 pages: too long to be one of our forms"):
            read_pdf_values(_written(writer), LIBRARY.get("monitoring"))

    def test_a_page_without_text(self) -> None:
        writer = PdfWriter()
        writer.add_blank_page(595, 842)
        data = _written(writer)
        assert pdf_identity(data) is None
        with pytest.raises(UnreadableFile, match="no text"):
            read_pdf_values(data, LIBRARY.get("monitoring"))
