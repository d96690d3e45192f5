"""The agenda pack, read back with pypdf: pages, bookmarks, page numbers, markings and Part 2."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest
from docx import Document
from pypdf import PdfReader
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

from pipeline.core.dates import long_date
from pipeline.core.errors import ConfigError, GenerationError
from pipeline.papers.pack import build_packs, highest_marking, pack_summary, part2_statement

MEETING = date(2026, 1, 6)
COMMITTEE = "Communities and Partnerships Committee"


def fake_paper_pdf(path: Path, text: str, pages: int) -> Path:
    """A PDF whose every page says `text` and which page of the paper it is."""
    canvas = Canvas(str(path), pagesize=A4)
    for number in range(1, pages + 1):
        canvas.setFont("Helvetica", 14)
        canvas.drawString(72, 760, f"{text} - paper page {number}")
        canvas.showPage()
    canvas.save()
    return path


def write_manifest(papers_dir: Path, name: str, **fields) -> Path:
    folder = papers_dir / MEETING.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    manifest = {
        "kind": name,
        "title": name,
        "committee": COMMITTEE,
        "meeting_date": MEETING.isoformat(),
        "period_from": "2025-04-01",
        "period_to": "2025-12-31",
        "exempt": False,
        "exempt_paragraph": None,
        "marking": "NOT PROTECTIVELY MARKED",
        "docx": None,
        "pdf": None,
        "annex": None,
        "generated_at": "2026-01-02T09:00:00",
    }
    manifest.update(fields)
    path = folder / f"{name}.json"
    path.write_text(json.dumps(manifest), encoding="utf-8")
    return path


def add_paper(papers_dir: Path, kind: str, title: str, pages: int, **fields) -> None:
    folder = papers_dir / MEETING.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    pdf = fake_paper_pdf(folder / f"{kind}.pdf", f"Text of {title}", pages)
    write_manifest(papers_dir, kind, title=title, pdf=pdf.name, **fields)


@pytest.fixture
def papers(tmp_path: Path) -> Path:
    """Four papers for one meeting: 1, 3 (RESTRICTED), 2 (exempt, paragraph 3) and 2 pages."""
    papers_dir = tmp_path / "papers"
    add_paper(papers_dir, "annual-report", "Annual Partnerships Report", 2)
    add_paper(papers_dir, "survey-results", "Stakeholder Survey Results", 2, exempt=True, exempt_paragraph=3)
    add_paper(papers_dir, "risk-register", "Partnership Risk Register", 3, marking="RESTRICTED")
    add_paper(papers_dir, "monitoring-summary", "Partnership Monitoring Summary", 1)
    return papers_dir


def page_texts(path: Path) -> list[str]:
    return [page.extract_text() for page in PdfReader(path).pages]


def test_one_pack_per_part_named_after_the_committee_and_date(papers: Path, tmp_path: Path):
    packs = build_packs(MEETING, papers, tmp_path / "out")
    assert [path.name for path in packs] == [
        "communities-and-partnerships-committee-2026-01-06-part1.pdf",
        "communities-and-partnerships-committee-2026-01-06-part2.pdf",
    ]
    assert all(path.is_file() for path in packs)


def test_part1_is_the_agenda_then_the_public_papers_in_kind_order(papers: Path, tmp_path: Path):
    part1, _ = build_packs(MEETING, papers, tmp_path / "out")
    summary = pack_summary(part1)
    assert summary["pages"] == 1 + 1 + 3 + 2
    assert summary["bookmarks"] == [
        "1. Partnership Monitoring Summary",
        "2. Partnership Risk Register",
        "3. Annual Partnerships Report",
    ]
    assert summary["starts"] == [2, 3, 6]
    texts = page_texts(part1)
    assert "Text of Partnership Monitoring Summary - paper page 1" in texts[1]
    assert "Text of Partnership Risk Register - paper page 1" in texts[2]
    assert "Text of Annual Partnerships Report - paper page 1" in texts[5]


def test_the_agenda_page_lists_each_item_with_the_page_it_starts_on(papers: Path, tmp_path: Path):
    part1, _ = build_packs(MEETING, papers, tmp_path / "out", authority="Cambridgeshire Police Authority")
    agenda = " ".join(page_texts(part1)[0].split())
    for expected in (
        "Cambridgeshire Police Authority",
        COMMITTEE,
        "Tuesday 6 January 2026",
        "Agenda",
        "1 Partnership Monitoring Summary",
        "2 Partnership Risk Register",
        "3 Annual Partnerships Report",
    ):
        assert expected in agenda
    rows = [line.split() for line in page_texts(part1)[0].splitlines()]
    assert ["2"] in rows and ["3"] in rows and ["6"] in rows  # the Page column


def test_page_numbers_run_through_the_whole_pack(papers: Path, tmp_path: Path):
    part1, part2 = build_packs(MEETING, papers, tmp_path / "out")
    texts = page_texts(part1)
    for number, text in enumerate(texts, start=1):
        assert f"Page {number} of 7" in text
    assert "Page 3 of 7" in texts[2]
    assert "Page 3 of 3" in page_texts(part2)[2]


def test_an_exempt_paper_is_never_in_the_public_pack(papers: Path, tmp_path: Path):
    part1, part2 = build_packs(MEETING, papers, tmp_path / "out")
    public = "\n".join(page_texts(part1))
    assert "Stakeholder Survey" not in public
    assert "Stakeholder Survey" not in str(PdfReader(part1).metadata)
    assert "Exclusion of the press and public" in public  # the public is told there is Part 2 business
    exempt = "\n".join(page_texts(part2))
    assert "Text of Stakeholder Survey Results - paper page 2" in exempt
    assert "Partnership Monitoring Summary" not in exempt


def test_part2_says_it_is_not_for_publication_and_why(papers: Path, tmp_path: Path):
    _, part2 = build_packs(MEETING, papers, tmp_path / "out")
    summary = pack_summary(part2)
    assert summary["pages"] == 1 + 2
    assert summary["bookmarks"] == ["4. Stakeholder Survey Results"]  # numbering continues from Part 1
    assert summary["starts"] == [2]
    agenda = " ".join(page_texts(part2)[0].split())
    assert (
        "Part 2 — not for publication: exempt information under paragraph 3 of Part 1 of Schedule 12A "
        "to the Local Government Act 1972" in agenda
    )


def test_each_pack_carries_the_highest_marking_of_its_own_papers(papers: Path, tmp_path: Path):
    part1, part2 = build_packs(MEETING, papers, tmp_path / "out")
    assert pack_summary(part1)["marking"] == "RESTRICTED"
    assert page_texts(part1)[0].count("RESTRICTED") >= 2  # header and footer of the agenda
    assert pack_summary(part2)["marking"] == "NOT PROTECTIVELY MARKED"
    assert "RESTRICTED" not in page_texts(part2)[0]


def test_no_part2_pack_without_exempt_items_and_a_stale_one_is_removed(tmp_path: Path):
    papers_dir, out = tmp_path / "papers", tmp_path / "out"
    add_paper(papers_dir, "monitoring-summary", "Partnership Monitoring Summary", 1)
    out.mkdir()
    stale = out / "communities-and-partnerships-committee-2026-01-06-part2.pdf"
    fake_paper_pdf(stale, "An old exempt paper", 1)
    packs = build_packs(MEETING, papers_dir, out)
    assert [path.name for path in packs] == ["communities-and-partnerships-committee-2026-01-06-part1.pdf"]
    assert not stale.exists()
    assert "Exclusion of the press and public" not in page_texts(packs[0])[0]


def test_one_pack_per_committee_or_only_the_one_asked_for(tmp_path: Path):
    papers_dir, out = tmp_path / "papers", tmp_path / "out"
    add_paper(papers_dir, "monitoring-summary", "Partnership Monitoring Summary", 1)
    add_paper(
        papers_dir, "risk-register", "Partnership Risk Register", 2, committee="Scrutiny and Audit Committee"
    )
    names = [path.name for path in build_packs(MEETING, papers_dir, out)]
    assert names == [
        "communities-and-partnerships-committee-2026-01-06-part1.pdf",
        "scrutiny-and-audit-committee-2026-01-06-part1.pdf",
    ]
    only = build_packs(MEETING, papers_dir, tmp_path / "only", committee="scrutiny and audit committee")
    assert [path.name for path in only] == ["scrutiny-and-audit-committee-2026-01-06-part1.pdf"]
    assert pack_summary(only[0])["bookmarks"] == ["1. Partnership Risk Register"]


def test_an_explicit_order_puts_the_items_in_that_order(papers: Path, tmp_path: Path):
    part1, _ = build_packs(MEETING, papers, tmp_path / "out", order=["annual-report", "risk-register"])
    assert pack_summary(part1)["bookmarks"] == [
        "1. Annual Partnerships Report",
        "2. Partnership Risk Register",
        "3. Partnership Monitoring Summary",
    ]


def test_no_papers_for_the_meeting_is_a_clear_error(tmp_path: Path):
    with pytest.raises(ConfigError) as caught:
        build_packs(MEETING, tmp_path / "papers", tmp_path / "out")
    assert str(caught.value) == (
        "No papers have been written for the meeting on Tuesday 6 January 2026: "
        "run 'pipeline paper KIND --meeting-date 2026-01-06' first."
    )


def test_no_papers_for_the_committee_asked_for_is_a_clear_error(papers: Path, tmp_path: Path):
    with pytest.raises(ConfigError, match="for the Police and Crime Panel meeting on Tuesday 6 January 2026"):
        build_packs(MEETING, papers, tmp_path / "out", committee="Police and Crime Panel")


def test_a_damaged_paper_pdf_is_named_in_the_error(tmp_path: Path):
    papers_dir = tmp_path / "papers"
    add_paper(papers_dir, "monitoring-summary", "Partnership Monitoring Summary", 1)
    (papers_dir / MEETING.isoformat() / "monitoring-summary.pdf").write_bytes(b"%PDF-1.4 not really")
    with pytest.raises(GenerationError, match="The PDF of 'Partnership Monitoring Summary'"):
        build_packs(MEETING, papers_dir, tmp_path / "out")


def test_a_paper_with_only_a_word_file_is_converted_by_libreoffice(tmp_path: Path):
    if shutil.which("soffice") is None and shutil.which("libreoffice") is None:
        pytest.skip("LibreOffice (soffice) is not installed, so a Word-only paper cannot be converted")
    papers_dir = tmp_path / "papers"
    folder = papers_dir / MEETING.isoformat()
    folder.mkdir(parents=True)
    document = Document()
    document.add_heading("Partnership Monitoring Summary", level=1)
    document.add_paragraph("Seven partnerships returned their forms on time.")
    document.save(folder / "monitoring-summary.docx")
    write_manifest(
        papers_dir,
        "monitoring-summary",
        title="Partnership Monitoring Summary",
        docx="monitoring-summary.docx",
    )
    (part1,) = build_packs(MEETING, papers_dir, tmp_path / "out")
    assert (folder / "monitoring-summary.pdf").stat().st_size > 0
    assert pack_summary(part1)["bookmarks"][0] == "1. Partnership Monitoring Summary"
    assert "Seven partnerships returned their forms on time." in page_texts(part1)[1]


def test_a_paper_with_neither_pdf_nor_word_file_says_to_write_it_again(tmp_path: Path):
    papers_dir = tmp_path / "papers"
    write_manifest(papers_dir, "risk-register", title="Partnership Risk Register")
    with pytest.raises(GenerationError, match="has neither a PDF nor a Word file"):
        build_packs(MEETING, papers_dir, tmp_path / "out")


def test_markings_and_dates_as_a_committee_writes_them():
    assert highest_marking(["NOT PROTECTIVELY MARKED", "RESTRICTED", "PROTECT"]) == "RESTRICTED"
    assert highest_marking(["OFFICIAL", "official-sensitive"]) == "OFFICIAL-SENSITIVE"
    assert highest_marking([]) == "NOT PROTECTIVELY MARKED"
    assert long_date(date(2026, 1, 6)) == "Tuesday 6 January 2026"
    assert part2_statement([1, 3, 7]).endswith(
        "paragraphs 1, 3 and 7 of Part 1 of Schedule 12A to the Local Government Act 1972"
    )


def test_the_agenda_page_is_tagged_as_a_heading_and_a_table_of_items(papers: Path, tmp_path: Path):
    from tests.support.pdf_checks import artifact_text, structure_problems, tagged_text

    standing = ("Apologies for absence", "Declarations of interest")
    part1, part2 = build_packs(MEETING, papers, tmp_path / "out", standing_items=standing)
    elements = tagged_text(part1, 0)
    assert elements[:5] == [("P", "Police and Crime Commissioner"), ("P", COMMITTEE),
                            ("P", "Tuesday 6 January 2026"), ("H1", "Agenda"),
                            ("H2", "Part 1: items open to the press and public")]
    rows, covering = _rows(elements[5:]), "Covering 1 April 2025 to 31 December 2025"
    assert rows[0] == [("TH", "Item"), ("TH", "Business"), ("TH", "Page")]
    assert rows[1:] == [
        [("TD", "1"), ("TD", "Apologies for absence"), ("TD", "")],
        [("TD", "2"), ("TD", "Declarations of interest"), ("TD", "")],
        [("TD", "3"), ("TD", f"Partnership Monitoring Summary {covering}"), ("TD", "2")],
        [("TD", "4"), ("TD", f"Partnership Risk Register {covering} · RESTRICTED"), ("TD", "3")],
        [("TD", "5"), ("TD", f"Annual Partnerships Report {covering}"), ("TD", "6")],
    ]  # the title and its details are two paragraphs of the cell (TD > P, P)
    assert ("H2", "Exclusion of the press and public") in elements
    decoration = artifact_text(part1, 0)  # the marking lines and the page stamp: not read as content
    assert "Page 1 of 7" in decoration and decoration.count("RESTRICTED") == 2
    # Part 2's red box is drawn with a table but read as its heading and note, not as a table
    exempt = [(role, text.replace(" ", "")) for role, text in tagged_text(part2, 0)]  # wrapped lines
    assert exempt[3:5] == [("H1", "Agenda"), ("H2", part2_statement([3]).replace(" ", ""))]
    assert [role for role, _ in exempt].count("Table") == 1  # the items, not the box
    for pack in (part1, part2):  # (the fake papers themselves are untagged)
        assert [p for p in structure_problems(pack) if "pages not reached" not in p] == []


def test_an_agenda_over_two_pages_is_one_table_with_its_header_read_once(tmp_path: Path):
    from tests.support.pdf_checks import artifact_text, tagged_text

    papers_dir = tmp_path / "papers"
    add_paper(papers_dir, "monitoring-summary", "Partnership Monitoring Summary", 1)
    standing = tuple(f"Standing item number {n}" for n in range(1, 41))
    (part1,) = build_packs(MEETING, papers_dir, tmp_path / "out", standing_items=standing)
    first, second = tagged_text(part1, 0), tagged_text(part1, 1)
    cells = [text for role, text in first + second if role == "TD" and text.startswith("Standing")]
    assert cells == list(standing)
    assert [role for role, _ in first + second].count("TH") == 3
    assert not any(role == "TH" for role, _ in second)
    assert "ItemBusinessPage" in artifact_text(part1, 1).replace(" ", "")  # repeated for the eye only


def _rows(elements: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    """The table's rows from tagged_text's list: each TR and the cells after it."""
    rows: list[list[tuple[str, str]]] = []
    for role, text in elements:
        if role == "TR":
            rows.append([])
        elif role in {"TH", "TD"}:
            rows[-1].append((role, text))
        elif rows:
            break
    return rows
