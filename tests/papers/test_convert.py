"""Word to PDF with a real LibreOffice: text survives, batches, and the ways it fails in plain words."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from docx import Document
from pypdf import PdfReader

from pipeline.core.errors import ConversionError
from pipeline.papers.convert import SOFFICE_ENV, pdf_pages, soffice_path, to_pdf

needs_libreoffice = pytest.mark.skipif(
    shutil.which("soffice") is None and shutil.which("libreoffice") is None,
    reason="LibreOffice (soffice) is not installed, so nothing can be converted to PDF",
)


@pytest.fixture(autouse=True)
def own_temp_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test's LibreOffice profiles go under its own folder, so we can see they are removed."""
    profiles = tmp_path / "tmp"
    profiles.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(profiles))
    monkeypatch.delenv(SOFFICE_ENV, raising=False)
    return profiles


def word_document(path: Path, heading: str, text: str) -> Path:
    document = Document()
    document.add_heading(heading, level=1)
    document.add_paragraph(text)
    document.save(path)
    return path


def pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


@needs_libreoffice
@pytest.mark.libreoffice
def test_a_word_document_becomes_a_pdf_with_its_text(tmp_path: Path, own_temp_folder: Path):
    source = word_document(tmp_path / "summary.docx", "Monitoring Summary", "Smith & Sons attended 4 of 5.")
    made = to_pdf([source], tmp_path / "out")
    assert made == {source: tmp_path / "out" / "summary.pdf"}
    assert "Monitoring Summary" in pdf_text(made[source])
    assert "Smith & Sons attended 4 of 5." in pdf_text(made[source])
    assert pdf_pages(made[source]) == 1
    assert list(own_temp_folder.iterdir()) == []  # the LibreOffice profile was removed
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["summary.pdf"]  # no staging left


@needs_libreoffice
@pytest.mark.libreoffice
def test_three_documents_convert_in_one_call(tmp_path: Path):
    sources = [
        word_document(tmp_path / f"paper-{n}.docx", f"Paper {n}", f"Body of paper {n}.") for n in (1, 2, 3)
    ]
    made = to_pdf(sources, tmp_path / "out")
    assert sorted(made) == sorted(sources)
    for number, source in enumerate(sources, start=1):
        assert made[source].name == f"paper-{number}.pdf"
        assert made[source].stat().st_size > 0
        assert f"Body of paper {number}." in pdf_text(made[source])


@needs_libreoffice
@pytest.mark.libreoffice
def test_a_damaged_document_is_named_in_the_error(tmp_path: Path):
    good = word_document(tmp_path / "good.docx", "Good", "Fine.")
    damaged = tmp_path / "damaged.docx"
    damaged.write_bytes(b"PK\x03\x04 this zip stops here")
    with pytest.raises(ConversionError) as caught:
        to_pdf([good, damaged], tmp_path / "out")
    message = str(caught.value)
    assert "LibreOffice produced no output for damaged.docx" in message
    assert "good.docx" not in message


@needs_libreoffice
@pytest.mark.libreoffice
def test_a_conversion_that_takes_too_long_is_stopped(tmp_path: Path, own_temp_folder: Path):
    source = word_document(tmp_path / "slow.docx", "Slow", "Text.")
    with pytest.raises(ConversionError) as caught:
        to_pdf([source], tmp_path / "out", timeout=0.001)
    assert "did not finish converting slow.docx within the timeout of 0.001 seconds" in str(caught.value)
    assert list(own_temp_folder.iterdir()) == []
    assert list((tmp_path / "out").iterdir()) == []


def test_without_libreoffice_the_pdf_is_skipped_with_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))  # a PATH with no soffice on it
    assert soffice_path() is None
    source = word_document(tmp_path / "paper.docx", "Paper", "Text.")
    with pytest.raises(ConversionError) as caught:
        to_pdf([source], tmp_path / "out")
    assert str(caught.value) == (
        "PDF skipped: LibreOffice is not installed. Install it with: apt-get install -y libreoffice-writer"
    )


def test_a_soffice_that_does_not_exist_counts_as_not_installed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    absent = str(tmp_path / "no-such" / "soffice")
    assert soffice_path(absent) is None
    source = word_document(tmp_path / "paper.docx", "Paper", "Text.")
    with pytest.raises(ConversionError, match=r"PDF skipped: LibreOffice was not found at .*no-such/soffice"):
        to_pdf([source], tmp_path / "out", soffice=absent)
    monkeypatch.setenv(SOFFICE_ENV, absent)
    assert soffice_path() is None
    with pytest.raises(ConversionError, match="PIPELINE_SOFFICE"):
        to_pdf([source], tmp_path / "out")


def test_a_missing_document_or_two_with_the_same_name_are_refused(tmp_path: Path):
    with pytest.raises(ConversionError, match="absent.docx could not be found"):
        to_pdf([tmp_path / "absent.docx"], tmp_path / "out")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = word_document(tmp_path / "a" / "paper.docx", "A", "A.")
    second = word_document(tmp_path / "b" / "paper.docx", "B", "B.")
    with pytest.raises(ConversionError, match="would both become paper.pdf"):
        to_pdf([first, second], tmp_path / "out")


def test_nothing_to_convert_needs_no_libreoffice(tmp_path: Path):
    assert to_pdf([], tmp_path / "out", soffice=str(tmp_path / "absent")) == {}
