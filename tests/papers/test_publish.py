"""The publication folder (`pipeline publish`) from the whole demo, on real tools: LibreOffice makes
the tagged PDFs, pikepdf and the `pdfua` checker read them, headless Chromium + axe-core checks
every page for WCAG 2.2 AA, and no text of a Part 2 paper is anywhere in the folder."""

from __future__ import annotations

import subprocess
from datetime import date
from pathlib import Path

import pytest
from docx import Document

from pipeline.core.config import Settings, settings_for
from pipeline.core.definitions import FormLibrary
from pipeline.core.errors import ConfigError
from pipeline.demo.run import run_demo
from pipeline.papers import PaperRequest, write_paper
from pipeline.papers.convert import to_pdf
from pipeline.papers.pack import build_packs
from pipeline.papers.publish import publish_meeting
from pipeline.schedule import committees
from pipeline.store import Store
from tests.support.axe_browser import browser_or_skip
from tests.support.filling import soffice
from tests.support.pdf_checks import pdfua_errors, structure_problems

pytestmark = [
    pytest.mark.libreoffice,
    pytest.mark.slow,
    pytest.mark.skipif(soffice() is None, reason="LibreOffice (soffice) is not installed"),
]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, Path, Path]:
    """The demo's home with an exempt (Part 2) risk register added to the first meeting, published.

    Returns the settings, the publication folder and the exempt paper's Word file."""
    settings = settings_for(tmp_path_factory.mktemp("publish") / "home")
    library = FormLibrary.load()
    run_demo(settings, library, lambda _line: None)
    with Store.for_home(settings) as store:
        meeting = committees.meetings(store, from_date=date.today())[0]
    exempt = write_paper(
        settings, library,
        PaperRequest("risk-register", meeting_date=meeting.date, committee=meeting.committee,
                     exempt_paragraph=3),
        settings.outbox / "papers", to_pdf=to_pdf,
    )
    build_packs(meeting.date, settings.outbox / "papers", settings.outbox / "packs",
                committee=meeting.committee)  # Part 1 and Part 2, for the PDF checks
    folder = publish_meeting(settings, meeting.date, meeting.committee)
    return settings, folder, exempt.docx


def _published_text(path: Path) -> str:
    if path.suffix == ".pdf":
        return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                              text=True, check=True).stdout
    if path.suffix == ".png":
        return ""
    return path.read_text(encoding="utf-8")


def test_the_folder_holds_the_agenda_part1_papers_pack_and_calendar(demo) -> None:  # type: ignore[no-untyped-def]
    settings, folder, _ = demo
    names = {p.name for p in folder.iterdir()}
    assert folder.parent.parent == settings.outbox / "publish"
    assert {"index.html", "paper.css", "meeting.ics"} <= names
    assert any(n.endswith("-part1.pdf") for n in names) and not any(n.endswith("-part2.pdf") for n in names)
    papers = sorted(n for n in names if n.endswith(".html") and n != "index.html")
    assert papers and all(n.replace(".html", ".pdf") in names for n in papers)
    agenda = (folder / "index.html").read_text(encoding="utf-8")
    for standing in ("Apologies for absence", "Declarations of interest", "Minutes of the last meeting"):
        assert standing in agenda
    for page in papers:
        assert f'href="{page}"' in agenda and f'href="{page.replace(".html", ".pdf")}"' in agenda
    assert "<script" not in agenda and 'lang="en-GB"' in agenda
    assert "BEGIN:VEVENT" in (folder / "meeting.ics").read_text()


def test_nothing_of_part2_is_anywhere_in_the_folder(demo) -> None:  # type: ignore[no-untyped-def]
    _, folder, exempt_docx = demo
    part1_text = "\n".join(
        p.text for f in (exempt_docx.parent).glob("*.docx") if f != exempt_docx
        for p in Document(str(f)).paragraphs
    )
    secret = [p.text.strip() for p in Document(str(exempt_docx)).paragraphs
              if len(p.text.strip()) > 30 and p.text.strip() not in part1_text]
    assert len(secret) >= 5  # the exempt paper's own sentences
    published = "\n".join(_published_text(p) for p in folder.iterdir())
    flat = " ".join(published.split())
    for sentence in secret:
        assert " ".join(sentence.split())[:60] not in flat, sentence
    assert not any(exempt_docx.stem in p.name for p in folder.iterdir())
    # the public agenda names the exempt item and its Schedule 12A paragraph, and nothing else of it
    agenda = (folder / "index.html").read_text(encoding="utf-8")
    assert "Partnership Risk Register" in agenda and "paragraph 3 of Part 1 of Schedule 12A" in agenda


def test_every_pdf_is_tagged_and_passes_the_pdfua_checker(demo) -> None:  # type: ignore[no-untyped-def]
    settings, folder, _ = demo
    pdfs = sorted(settings.outbox.rglob("*.pdf"))  # every PDF the demo wrote, the folder's among them
    assert any(p.parent == folder for p in pdfs)
    assert any(p.name.endswith("-part2.pdf") for p in pdfs)  # the Part 2 pack is checked too
    blank = [p.name for p in pdfs if p.name.endswith("-blank.pdf")]  # and each blank form
    assert sorted(blank) == sorted(f"{d.id}-blank.pdf" for d in FormLibrary.load().latest())
    for pdf in pdfs:
        assert structure_problems(pdf) == [], pdf.name
        assert pdfua_errors(pdf) == [], pdf.name


def test_the_pack_is_one_tagged_document_with_a_section_per_item(demo) -> None:  # type: ignore[no-untyped-def]
    import pikepdf

    _, folder, _ = demo
    (pack,) = folder.glob("*-part1.pdf")
    with pikepdf.open(pack) as pdf:
        assert str(pdf.Root.Lang) == "en-GB"
        assert bool(pdf.Root.ViewerPreferences.DisplayDocTitle)
        assert "agenda pack, Part 1" in str(pdf.docinfo["/Title"])
        document = pdf.Root.StructTreeRoot.K
        sections = [str(kid.T) for kid in document.K]
        with pdf.open_outline() as outline:
            bookmarks = [item.title for item in outline.root]
    assert sections[0] == "Agenda" and sections[1:] == bookmarks


def test_every_page_passes_axe_in_headless_chromium(demo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, folder, _ = demo
    pages = sorted(folder.glob("*.html"))
    with browser_or_skip() as browser:
        for page in pages:
            browser.load(page.as_uri())
            violations = browser.axe()
            assert violations == [], f"{page.name}:\n{browser.describe(violations)}"
            browser.screenshot(tmp_path / f"{page.stem}.png")
            text = browser.text()
            assert "{{" not in text and "{%" not in text
    assert len(pages) >= 3


def test_a_paper_page_has_headings_tables_chart_and_bibliography(demo) -> None:  # type: ignore[no-untyped-def]
    _, folder, _ = demo
    (page,) = folder.glob("monitoring-summary-*.html")
    html = page.read_text(encoding="utf-8")
    assert html.count("<h1>") == 1 and html.count("<h2") >= 9
    assert "<caption>" in html and '<th scope="col"' in html
    assert '<img src="monitoring-summary-' in html and 'alt="Bar chart: Ratings given' in html
    assert '<section class="bibliography"' in html and "<dl>" in html
    assert "@media print" in (folder / "paper.css").read_text()
    assert "<script" not in html


def test_a_day_without_papers_is_explained(demo) -> None:  # type: ignore[no-untyped-def]
    settings, _, _ = demo
    with Store.for_home(settings) as store:
        later = committees.meetings(store, from_date=date.today())
    empty = [m for m in later if not (settings.outbox / "papers" / m.date.isoformat()).is_dir()]
    if not empty:
        pytest.skip("every meeting of the demo has papers")
    with pytest.raises(ConfigError, match="No papers have been written"):
        publish_meeting(settings, empty[0].date, empty[0].committee)
