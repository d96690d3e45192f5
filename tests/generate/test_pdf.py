"""The blank forms as tagged PDF, made by the real LibreOffice and read back with pikepdf, the
`pdfua` checker and pdfplumber: what a screen-reader user meets when they open one."""

from __future__ import annotations

from pathlib import Path

import pikepdf
import pytest

from pipeline.cli import main
from pipeline.core.definitions import FormLibrary
from pipeline.generate.pdf import write_blank_pdfs
from tests.support.filling import soffice
from tests.support.pdf_checks import pdfua_errors, structure_problems, tagged_text

pytestmark = [
    pytest.mark.libreoffice,
    pytest.mark.skipif(soffice() is None, reason="LibreOffice (soffice) is not installed"),
]
LIBRARY = FormLibrary.load()


@pytest.fixture(scope="module")
def blank_pdfs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every form's blank PDF, made in one LibreOffice run: {form id: PDF}."""
    written = write_blank_pdfs(LIBRARY.latest(), tmp_path_factory.mktemp("blank"))
    return {path.name.removesuffix("-blank.pdf"): path for path in written}


def test_every_blank_form_is_a_tagged_pdf_that_passes_the_checks(blank_pdfs: dict[str, Path]) -> None:
    assert sorted(blank_pdfs) == sorted(d.id for d in LIBRARY.latest())
    for form_id, pdf in blank_pdfs.items():
        assert structure_problems(pdf) == [], form_id  # tagged, en-GB, title shown, bookmarks, all pages
        assert pdfua_errors(pdf) == [], form_id
        with pikepdf.open(pdf) as opened:
            assert str(opened.docinfo["/Title"]) == LIBRARY.get(form_id).title


def test_the_title_is_the_one_h1_and_each_question_heads_its_answer(blank_pdfs: dict[str, Path]) -> None:
    elements = tagged_text(blank_pdfs["monitoring"], 0)
    headings = [(role, text) for role, text in elements if role.startswith("H")]
    assert headings[0] == ("H1", "Partnership Monitoring Form")
    assert [role for role, _ in headings].count("H1") == 1
    assert ("H2", "The meeting") in headings
    # a question row: the label is the row's header (TH), the answer box its cell (TD)
    at = elements.index(("TH", "Partnership * The partnership whose meeting this was."))
    assert elements[at - 1] == ("TR", "") and elements[at + 1][0] == "TD"
    # the instructions' box is read as its paragraphs, not as a one-cell table
    tables = [n for n, (role, _) in enumerate(elements) if role == "Table"]
    assert elements.index(("H2", "The meeting")) < tables[0]
    assert any(role == "P" and text.startswith("Please complete this form") for role, text in elements)


def test_a_tick_table_keeps_its_header_row_heading_the_columns(blank_pdfs: dict[str, Path]) -> None:
    scopes = _header_scopes(blank_pdfs["monitoring"])
    assert scopes.count("Column") >= 4 and scopes.count("Row") >= 7 and "" not in scopes


def test_generate_writes_a_blank_pdf_and_refuses_a_personal_one(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    home = tmp_path / "home"
    assert main(["generate", "risk-checklist", "--format", "pdf", "--home", str(home)]) == 0
    path = Path(capsys.readouterr().out.strip())
    assert path == home / "outbox" / "risk-checklist-blank.pdf" and structure_problems(path) == []
    assert main(["generate", "monitoring", "--format", "pdf", "--member", "Jane Smith",
                 "--home", str(home)]) == 2
    assert "A PDF is made of the blank form only" in capsys.readouterr().err
    assert not (home / "outbox" / "monitoring-blank.pdf").exists()


def _header_scopes(path: Path) -> list[str]:
    """The /Scope of every TH in the PDF, as pdfplumber reads the structure tree."""
    import pdfplumber

    found: list[str] = []

    def walk(element: dict) -> None:
        if element["type"] == "TH":
            found.append(str((element.get("attributes") or {}).get("Scope", "")))
        for child in element.get("children", []):
            walk(child)

    with pdfplumber.open(path) as pdf:
        for element in pdf.structure_tree:
            walk(element)
    return found
