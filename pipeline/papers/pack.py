"""The committee agenda pack: one meeting's papers merged into a Part 1 (public) and a Part 2 pack.

Reads the paper manifests `papers_dir/<meeting date>/*.json`, orders the items, puts every exempt
item in Part 2 and never in Part 1, and writes per committee an agenda page (reportlab) followed
by the papers' PDFs (pypdf), with a bookmark per item and "Page N of M" running through the pack,
then carries the papers' structure trees into it (pikepdf) so the pack is one tagged PDF.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from xml.sax.saxutils import escape

from pypdf import PdfReader, PdfWriter
from pypdf.errors import PyPdfError

from pipeline.core import marking
from pipeline.core.config import AuthorityConfig
from pipeline.core.dates import day_month_year, long_date
from pipeline.core.errors import ConfigError, ConversionError, GenerationError
from pipeline.core.files import replacing
from pipeline.core.marking import DEFAULT_MARKING
from pipeline.papers import convert
from pipeline.papers.tagging import Element, PageTags, add_to_structure

KIND_ORDER = ("monitoring-summary", "risk-register", "survey-results")
SCHEDULE_12A = "Part 1 of Schedule 12A to the Local Government Act 1972"
MARKING_METADATA_KEY = "/ProtectiveMarking"
PACK_LANGUAGE = "en-GB"


ConvertToPdf = Callable[[list[Path], Path], dict[Path, Path]]


@dataclass(frozen=True)
class Paper:
    """One paper's manifest: what the pack needs to list and merge it."""

    kind: str
    title: str
    committee: str
    exempt: bool
    exempt_paragraph: int | None
    marking: str
    pdf: Path | None
    docx: Path | None
    period_from: date | None
    period_to: date | None
    manifest: Path


@dataclass(frozen=True)
class AgendaItem:
    number: int
    paper: Paper
    first_page: int  # 1-based page of the pack where the paper starts
    pages: int


@dataclass(frozen=True)
class PackHeading:
    """What the agenda page and the page stamps say about the pack as a whole."""

    authority: str
    committee: str
    meeting_date: date
    part: int
    marking: str
    exempt_in_part2: int = 0  # Part 1 only: how many items the press and public are excluded for
    exempt_paragraphs: tuple[int, ...] = ()
    standing_items: tuple[str, ...] = ()  # Part 1 only: apologies, declarations, minutes (configured)


# --- public API -----------------------------------------------------------------------------------


def build_packs(
    meeting_date: date,
    papers_dir: Path,
    out_dir: Path,
    *,
    committee: str | None = None,
    authority: str = AuthorityConfig().name,
    order: Sequence[str] | None = None,
    to_pdf: ConvertToPdf = convert.to_pdf,
    manifests: Sequence[Path] = (),
    standing_items: Sequence[str] = (),
) -> list[Path]:
    """Write `<committee>-<date>-part1.pdf` (and `-part2.pdf` when any item is exempt) per committee.

    The papers are those in `papers_dir/<date>/` and the `manifests` the store recorded for the
    meeting (wherever they were written); the same manifest found both ways counts once.
    """
    papers = _unique(read_papers(papers_dir, meeting_date)
                     + [_read_manifest(path) for path in manifests if path.is_file()])
    if committee is not None:
        papers = [paper for paper in papers if _same_committee(paper.committee, committee)]
    if not papers:
        raise ConfigError(_no_papers_message(meeting_date, committee))
    papers = _with_pdfs(papers, to_pdf)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for group in _by_committee(papers):
        written += _committee_packs(order_papers(group, order), meeting_date, out_dir, authority,
                                    tuple(standing_items))
    return written


def pack_summary(path: Path) -> dict:
    """A pack's page count, top-level bookmark titles and their 1-based pages, and its marking."""
    try:
        reader = PdfReader(path)
        outline = [item for item in reader.outline if not isinstance(item, list)]
        starts = [reader.get_destination_page_number(item) + 1 for item in outline]
        info = reader.metadata or {}
        return {
            "path": path,
            "pages": len(reader.pages),
            "bookmarks": [str(item.title) for item in outline],
            "starts": starts,
            "title": info.get("/Title"),
            "marking": info.get(MARKING_METADATA_KEY),
        }
    except (OSError, PyPdfError, ValueError) as exc:
        raise GenerationError(f"The agenda pack {path.name} could not be read: it may be damaged.") from exc


def highest_marking(markings: Iterable[str]) -> str:
    """The most protective of the papers' markings (one order for papers and packs)."""
    return marking.highest_marking(None, markings)


def order_papers(papers: Iterable[Paper], order: Sequence[str] | None = None) -> list[Paper]:
    """Items in `order` of kinds (default: monitoring, risk register, survey), then the rest by kind."""
    preferred = list(order) if order is not None else list(KIND_ORDER)

    def key(paper: Paper) -> tuple[int, str, str]:
        rank = preferred.index(paper.kind) if paper.kind in preferred else len(preferred)
        return rank, paper.kind, paper.title.casefold()

    return sorted(papers, key=key)


# --- reading the manifests ------------------------------------------------------------------------


def read_papers(papers_dir: Path, meeting_date: date) -> list[Paper]:
    """Every paper manifest written for the meeting, in file-name order."""
    folder = papers_dir / meeting_date.isoformat()
    if not folder.is_dir():
        return []
    return [_read_manifest(path) for path in sorted(folder.glob("*.json"))]


def _unique(papers: list[Paper]) -> list[Paper]:
    """One paper per kind and committee: the manifest written last wins."""
    kept: dict[tuple[str, str], Paper] = {}
    for paper in sorted(papers, key=lambda p: p.manifest.stat().st_mtime):
        kept[(paper.kind, " ".join(paper.committee.split()).casefold())] = paper
    return sorted(kept.values(), key=lambda p: p.manifest.name)


def _read_manifest(path: Path) -> Paper:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not all(data.get(key) for key in ("kind", "title", "committee")):
            raise ValueError("kind, title or committee missing")
        paragraph = data.get("exempt_paragraph")
        return Paper(
            kind=str(data["kind"]),
            title=str(data["title"]).strip(),
            committee=str(data["committee"]).strip(),
            # a paragraph given without the flag still means exempt: err on the side of Part 2
            exempt=bool(data.get("exempt")) or paragraph is not None,
            exempt_paragraph=int(paragraph) if paragraph is not None else None,
            marking=str(data.get("marking") or DEFAULT_MARKING).strip(),
            pdf=_manifest_path(path, data.get("pdf")),
            docx=_manifest_path(path, data.get("docx")),
            period_from=_optional_date(data.get("period_from")),
            period_to=_optional_date(data.get("period_to")),
            manifest=path,
        )
    except (OSError, ValueError, TypeError) as exc:
        raise GenerationError(
            f"The paper record {path.name} could not be read ({exc}). Write that paper again with "
            "'pipeline paper KIND --meeting-date YYYY-MM-DD'."
        ) from exc


def _manifest_path(manifest: Path, value: object) -> Path | None:
    if not value:
        return None
    path = Path(str(value))
    return path if path.is_absolute() else manifest.parent / path


def _optional_date(value: object) -> date | None:
    return date.fromisoformat(str(value)) if value else None


def _with_pdfs(papers: list[Paper], to_pdf: ConvertToPdf) -> list[Paper]:
    """Convert (in one LibreOffice run per folder) the papers that have a Word file but no PDF."""
    needing = [paper for paper in papers if paper.pdf is None or not paper.pdf.is_file()]
    for paper in needing:
        if paper.docx is None or not paper.docx.is_file():
            raise GenerationError(
                f"The paper '{paper.title}' has neither a PDF nor a Word file to put in the pack. Write it "
                f"again with 'pipeline paper {paper.kind} --meeting-date YYYY-MM-DD'."
            )
    converted: dict[Path, Path] = {}
    for folder in sorted({paper.docx.parent for paper in needing if paper.docx}):
        sources = [paper.docx for paper in needing if paper.docx and paper.docx.parent == folder]
        try:
            converted.update({source.resolve(): pdf for source, pdf in to_pdf(sources, folder).items()})
        except ConversionError as exc:
            raise ConversionError(
                f"The agenda pack cannot be built without every paper as a PDF. {exc}"
            ) from exc
    return [
        replace(paper, pdf=converted[paper.docx.resolve()]) if paper in needing else paper for paper in papers
    ]


# --- grouping and splitting -----------------------------------------------------------------------


def _same_committee(left: str, right: str) -> bool:
    return " ".join(left.split()).casefold() == " ".join(right.split()).casefold()


def _by_committee(papers: list[Paper]) -> list[list[Paper]]:
    groups: dict[str, list[Paper]] = {}
    for paper in papers:
        groups.setdefault(" ".join(paper.committee.split()).casefold(), []).append(paper)
    return list(groups.values())


def _committee_packs(
    papers: list[Paper], meeting_date: date, out_dir: Path, authority: str, standing: tuple[str, ...] = ()
) -> list[Path]:
    public = [paper for paper in papers if not paper.exempt]
    exempt = [paper for paper in papers if paper.exempt]
    stem = f"{committee_slug(papers[0].committee)}-{meeting_date.isoformat()}"
    paragraphs = tuple(sorted({p.exempt_paragraph for p in exempt if p.exempt_paragraph is not None}))
    part1 = PackHeading(
        authority,
        papers[0].committee,
        meeting_date,
        1,
        highest_marking(p.marking for p in public),
        exempt_in_part2=len(exempt),
        exempt_paragraphs=paragraphs,
        standing_items=standing,
    )
    written = [write_pack(part1, public, len(standing) + 1, out_dir / f"{stem}-part1.pdf")]
    part2_path = out_dir / f"{stem}-part2.pdf"
    if exempt:
        part2 = replace(part1, part=2, marking=highest_marking(p.marking for p in exempt), exempt_in_part2=0,
                        standing_items=())
        written.append(write_pack(part2, exempt, len(standing) + len(public) + 1, part2_path))
    else:
        part2_path.unlink(missing_ok=True)  # a Part 2 left from an earlier run no longer belongs here
    return written


def committee_slug(committee: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", committee.casefold()).strip("-") or "committee"


# --- composing one pack ---------------------------------------------------------------------------


def write_pack(heading: PackHeading, papers: list[Paper], first_number: int, path: Path) -> Path:
    """Agenda page(s), then each paper, bookmarked and page-numbered; written atomically to `path`."""
    readers = [_open_pdf(paper) for paper in papers]
    items, agenda = _agenda_with_page_numbers(heading, papers, [len(r.pages) for r in readers], first_number)
    writer = PdfWriter()
    writer.append(PdfReader(BytesIO(agenda.pdf)), import_outline=False)
    for item, reader in zip(items, readers, strict=True):
        writer.append(reader, outline_item=_bookmark(item))  # the paper's own headings nest beneath
    stamp_pages(writer, heading)
    writer.add_metadata(_metadata(heading))
    writer.page_mode = "/UseOutlines"
    _declare_language_and_title(writer)
    saved = _save_atomically(writer, path)
    carry_structure(saved, [paper.pdf for paper in papers if paper.pdf], agenda=agenda,
                    titles=[_bookmark(item) for item in items])
    return saved


def _agenda_with_page_numbers(
    heading: PackHeading, papers: list[Paper], page_counts: list[int], first_number: int
) -> tuple[list[AgendaItem], AgendaPage]:
    """Draw the agenda until the page numbers it lists agree with its own length."""
    agenda_pages = 1
    for _ in range(5):
        items = _number_items(papers, page_counts, first_number, agenda_pages)
        agenda = agenda_pdf(heading, items)
        drawn = agenda.pages
        if drawn == agenda_pages:
            return items, agenda
        agenda_pages = drawn
    raise GenerationError("The agenda page could not be laid out: its page numbers would not settle.")


def _number_items(
    papers: list[Paper], page_counts: list[int], first_number: int, agenda_pages: int
) -> list[AgendaItem]:
    items, page = [], agenda_pages + 1
    for offset, (paper, count) in enumerate(zip(papers, page_counts, strict=True)):
        items.append(AgendaItem(first_number + offset, paper, page, count))
        page += count
    return items


def _open_pdf(paper: Paper) -> PdfReader:
    assert paper.pdf is not None
    try:
        reader = PdfReader(paper.pdf)
        if not reader.pages:
            raise ValueError("no pages")
        return reader
    except (OSError, PyPdfError, ValueError) as exc:
        raise GenerationError(
            f"The PDF of '{paper.title}' ({paper.pdf.name}) could not be read: it may be damaged. Write the "
            f"paper again with 'pipeline paper {paper.kind} --meeting-date YYYY-MM-DD'."
        ) from exc


def _bookmark(item: AgendaItem) -> str:
    return f"{item.number}. {item.paper.title}"


def _metadata(heading: PackHeading) -> dict[str, str]:
    part = "Part 1" if heading.part == 1 else "Part 2 (not for publication)"
    return {
        "/Title": f"{heading.committee}, {long_date(heading.meeting_date)}: agenda pack, {part}",
        "/Author": heading.authority,
        "/Subject": heading.marking,
        MARKING_METADATA_KEY: heading.marking,
    }


def _declare_language_and_title(writer: PdfWriter) -> None:
    """The pack's language (en-GB) and its title shown as the window title, as the papers have."""
    from pypdf.generic import BooleanObject, DictionaryObject, NameObject, TextStringObject

    root = writer._root_object
    root[NameObject("/Lang")] = TextStringObject(PACK_LANGUAGE)
    root[NameObject("/ViewerPreferences")] = DictionaryObject(
        {NameObject("/DisplayDocTitle"): BooleanObject(True)}
    )


def carry_structure(pack: Path, sources: list[Path], *, agenda: AgendaPage, titles: list[str]) -> None:
    """Make the merged pack one tagged PDF: every paper's structure tree under a section of its own,
    the agenda page(s) a section of their own (heading, the items as a table), and the structure tree
    reaching every page.

    pypdf's page-by-page merge drops the papers' structure trees; this carries them over with
    pikepdf (qpdf): each paper's tree is copied, its page references pointed at the pack's pages and
    its parent-tree numbers moved past the papers before it. Measured on the demo: the alternative,
    one Word document for the whole pack, would lose each paper's own page numbering and marking.
    """
    import pikepdf

    try:
        with replacing(pack) as temporary, pikepdf.open(pack) as pdf:
            _tag_pack(pdf, sources, agenda, titles)
            pdf.save(temporary)
    except (OSError, pikepdf.PdfError, KeyError, ValueError, TypeError) as exc:
        raise GenerationError(
            f"The agenda pack {pack.name} could not be tagged for accessibility: {exc}"
        ) from exc


def _tag_pack(pdf, sources: list[Path], agenda: AgendaPage, titles: list[str]) -> None:  # type: ignore[no-untyped-def]
    import pikepdf
    from pikepdf import Array, Dictionary, Name, String

    root = Dictionary(Type=Name.StructTreeRoot)
    tree_root = pdf.make_indirect(root)
    document = pdf.make_indirect(Dictionary(Type=Name.StructElem, S=Name.Document, P=tree_root, K=Array()))
    role_map = Dictionary()
    nums = Array()
    # the agenda page(s): their own section, tagged as reportlab drew them (see papers/tagging.py)
    next_key = add_to_structure(pdf, agenda.structure, document, pdf.pages[: agenda.pages], 0, nums)
    first = agenda.pages
    for source_path, title in zip(sources, titles, strict=True):
        with pikepdf.open(source_path) as source:
            count = len(source.pages)
            section = pdf.make_indirect(Dictionary(Type=Name.StructElem, S=Name.Sect, P=document,
                                                   K=Array(), T=String(title)))
            document.K.append(section)
            tree = source.Root.get("/StructTreeRoot")
            if tree is None:
                first += count
                continue
            pages = {
                pdf.copy_foreign(source.pages[i].obj).objgen: pdf.pages[first + i].obj for i in range(count)
            }
            kids = tree.get("/K")
            kids = [kids] if isinstance(kids, pikepdf.Dictionary) else list(kids or [])
            for kid in kids:
                copied = pdf.copy_foreign(kid)
                copied.P = section
                section.K.append(copied)
            _repoint_pages(section, pages)
            for name, role in (tree.get("/RoleMap") or {}).items():
                role_map[name] = Name(str(role))
            offset = next_key
            source_nums = list(tree.ParentTree.get("/Nums", []))
            for key, value in zip(source_nums[::2], source_nums[1::2], strict=True):
                copied_value = _copy(pdf, value)
                _repoint_pages(copied_value, pages)
                nums.extend([int(key) + offset, copied_value])
                next_key = max(next_key, int(key) + offset + 1)
            for i in range(count):
                parents = source.pages[i].obj.get("/StructParents")
                if parents is not None:
                    pdf.pages[first + i].obj.StructParents = int(parents) + offset
            first += count
    root.K = document
    root.ParentTree = pdf.make_indirect(Dictionary(Nums=nums))
    root.ParentTreeNextKey = next_key
    if role_map:
        root.RoleMap = role_map
    pdf.Root.StructTreeRoot = tree_root
    pdf.Root.MarkInfo = Dictionary(Marked=True)


def _copy(pdf, value):  # type: ignore[no-untyped-def]
    """A parent-tree value copied into the pack: indirect objects by qpdf, a direct array item by item."""
    import pikepdf

    if isinstance(value, pikepdf.Object) and value.is_indirect:
        return pdf.copy_foreign(value)
    if isinstance(value, pikepdf.Array):
        return pikepdf.Array([_copy(pdf, item) for item in value])
    return value


def _repoint_pages(element, pages: dict) -> None:  # type: ignore[no-untyped-def]
    """Point every /Pg under `element` (copied from a paper) at the pack's own page."""
    import pikepdf

    seen: set = set()
    stack = [element]
    while stack:
        item = stack.pop()
        if isinstance(item, pikepdf.Array):
            stack.extend(item)
            continue
        if not isinstance(item, pikepdf.Dictionary):
            continue
        if item.is_indirect:
            if item.objgen in seen:
                continue
            seen.add(item.objgen)
        if str(item.get("/Type", "")) == "/Page":
            continue
        if "/Pg" in item and item.Pg.objgen in pages:
            item.Pg = pages[item.Pg.objgen]
        for key in ("/K", "/Obj"):
            if key in item:
                stack.append(item[key])


def _save_atomically(writer: PdfWriter, path: Path) -> Path:
    try:
        with replacing(path) as temporary, temporary.open("wb") as handle:
            writer.write(handle)
    except OSError as exc:
        raise GenerationError(
            f"The agenda pack {path.name} could not be saved in {path.parent}: {exc}"
        ) from exc
    return path


# --- the agenda page (reportlab) ------------------------------------------------------------------

NAVY = "#1F3864"
GREY = "#595959"
EXEMPT_RED = "#9C0006"


@lru_cache(maxsize=1)
def _fonts() -> tuple[str, str]:
    """Liberation Sans (Arial's metrics, any Latin text) when installed, else the built-in Helvetica."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    for folder in ("/usr/share/fonts/truetype/liberation2", "/usr/share/fonts/truetype/liberation"):
        regular, bold = Path(folder, "LiberationSans-Regular.ttf"), Path(folder, "LiberationSans-Bold.ttf")
        if regular.is_file() and bold.is_file():
            pdfmetrics.registerFont(TTFont("PackSans", str(regular)))
            pdfmetrics.registerFont(TTFont("PackSans-Bold", str(bold)))
            return "PackSans", "PackSans-Bold"
    return "Helvetica", "Helvetica-Bold"


def _styles() -> dict:
    from reportlab.lib.colors import HexColor
    from reportlab.lib.enums import TA_RIGHT
    from reportlab.lib.styles import ParagraphStyle

    regular, bold = _fonts()
    base = ParagraphStyle("body", fontName=regular, fontSize=11, leading=14)
    return {
        "authority": ParagraphStyle(
            "authority", base, fontName=bold, fontSize=18, leading=22, textColor=HexColor(NAVY)
        ),
        "committee": ParagraphStyle("committee", base, fontName=bold, fontSize=14, leading=18, spaceBefore=4),
        "date": ParagraphStyle("date", base, fontSize=12, leading=16, spaceBefore=2),
        "agenda": ParagraphStyle(
            "agenda",
            base,
            fontName=bold,
            fontSize=22,
            leading=26,
            spaceBefore=14,
            spaceAfter=6,
            textColor=HexColor(NAVY),
        ),
        "part": ParagraphStyle("part", base, fontName=bold, fontSize=12, leading=15, spaceAfter=8),
        "exempt": ParagraphStyle(
            "exempt", base, fontName=bold, fontSize=11, leading=14, textColor=HexColor(EXEMPT_RED)
        ),
        "cell": base,
        "cell_bold": ParagraphStyle("cell_bold", base, fontName=bold),
        "page": ParagraphStyle("page", base, alignment=TA_RIGHT),
        "page_bold": ParagraphStyle("page_bold", base, fontName=bold, alignment=TA_RIGHT),
        "note": ParagraphStyle("note", base, fontSize=9, leading=12, textColor=HexColor(GREY)),
        "heading": ParagraphStyle("heading", base, fontName=bold, fontSize=11, leading=14, spaceBefore=14),
    }


@dataclass(frozen=True)
class AgendaPage:
    """The agenda page(s) as drawn: the PDF, its length and what its marked content is (tagging.py)."""

    pdf: bytes
    pages: int
    structure: Element


def agenda_pdf(heading: PackHeading, items: list[AgendaItem]) -> AgendaPage:
    """The agenda page(s): title block, the Agenda heading, Part heading, the items table, closing
    notes; tagged as they are drawn (H1, H2, P, and Table / TR / TH / TD for the items)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate

    buffer = BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=22 * mm,
        rightMargin=22 * mm,
        topMargin=24 * mm,
        bottomMargin=26 * mm,
        title="Agenda",
        author=heading.authority,
    )
    styles, tags = _styles(), PageTags(title="Agenda")
    story = (
        _title_block(heading, styles, tags)
        + _part_block(heading, len(items), styles, tags)
        + [_items_table(items, heading, styles, tags)]
    )
    story += _closing_notes(heading, styles, tags)

    @PageTags.decoration
    def decorate(canvas, doc) -> None:
        _marking_lines(canvas, doc.pagesize, heading.marking)

    document.build(story, onFirstPage=decorate, onLaterPages=decorate)
    drawn = buffer.getvalue()
    return AgendaPage(drawn, len(PdfReader(BytesIO(drawn)).pages), tags.root)


def _title_block(heading: PackHeading, styles: dict, tags: PageTags) -> list:
    from reportlab.lib.colors import HexColor
    from reportlab.platypus import HRFlowable, Paragraph

    return [
        tags.tagged(Paragraph(escape(heading.authority), styles["authority"]), "P"),
        tags.tagged(Paragraph(escape(heading.committee), styles["committee"]), "P"),
        tags.tagged(Paragraph(escape(long_date(heading.meeting_date)), styles["date"]), "P"),
        tags.artifact(HRFlowable(width="100%", thickness=1.5, color=HexColor(NAVY), spaceBefore=10,
                                 spaceAfter=2)),
        tags.tagged(Paragraph("Agenda", styles["agenda"]), "H1"),
    ]


def _part_block(heading: PackHeading, count: int, styles: dict, tags: PageTags) -> list:
    from reportlab.platypus import Paragraph, Spacer

    if heading.part == 1:
        return [tags.tagged(Paragraph("Part 1: items open to the press and public", styles["part"]), "H2")]
    return [_exempt_box(part2_statement(heading.exempt_paragraphs), count, styles, tags), Spacer(0, 10)]


def part2_statement(paragraphs: Sequence[int]) -> str:
    """The heading every Part 2 agenda carries, naming the Schedule 12A paragraph(s)."""
    if not paragraphs:
        where = SCHEDULE_12A
    elif len(paragraphs) == 1:
        where = f"paragraph {paragraphs[0]} of {SCHEDULE_12A}"
    else:
        listed = ", ".join(str(number) for number in paragraphs[:-1]) + f" and {paragraphs[-1]}"
        where = f"paragraphs {listed} of {SCHEDULE_12A}"
    return f"Part 2 — not for publication: exempt information under {where}"


def _exempt_box(statement: str, count: int, styles: dict, tags: PageTags):
    from reportlab.lib.colors import HexColor
    from reportlab.platypus import Paragraph, TableStyle

    items = "this item is" if count == 1 else "these items are"
    note = (
        f"The press and public are expected to be excluded while {items} considered. "
        "Do not publish, forward or leave these papers unattended."
    )
    box = tags.layout_table(  # a box drawn round a heading and a note: read as those, not as a table
        [[tags.tagged(Paragraph(escape(statement), styles["exempt"]), "H2")],
         [tags.tagged(Paragraph(note, styles["cell"]), "P")]],
        colWidths=["100%"],
    )
    box.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 1.5, HexColor(EXEMPT_RED)),
                ("BACKGROUND", (0, 0), (-1, -1), HexColor("#FDECEA")),
                ("LEFTPADDING", (0, 0), (-1, -1), 8),
                ("RIGHTPADDING", (0, 0), (-1, -1), 8),
                ("TOPPADDING", (0, 0), (-1, 0), 7),
                ("BOTTOMPADDING", (0, -1), (-1, -1), 8),
            ]
        )
    )
    return box


def _items_table(items: list[AgendaItem], heading: PackHeading, styles: dict, tags: PageTags):
    from reportlab.lib.colors import HexColor
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, TableStyle

    rows = [
        [
            Paragraph("Item", styles["cell_bold"]),
            Paragraph("Business", styles["cell_bold"]),
            Paragraph("Page", styles["page_bold"]),
        ]
    ]
    for number, title in enumerate(heading.standing_items, start=1):
        rows.append(
            [Paragraph(str(number), styles["cell_bold"]), Paragraph(escape(title), styles["cell_bold"]),
             Paragraph("", styles["page"])]
        )
    for item in items:
        rows.append(
            [
                Paragraph(str(item.number), styles["cell_bold"]),
                _item_cell(item, heading, styles, tags),
                Paragraph(str(item.first_page), styles["page"]),
            ]
        )
    if not items and not heading.standing_items:
        rows.append(
            [Paragraph("", styles["cell"]),
             Paragraph("There are no items of public business for this meeting.", styles["cell"]),
             Paragraph("", styles["page"])]
        )
    table = tags.data_table(rows, header_rows=1, colWidths=[16 * mm, None, 20 * mm], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (2, 0), (2, -1), 10),
                ("LINEBELOW", (0, 0), (-1, 0), 1, HexColor(NAVY)),
                ("LINEBELOW", (0, 1), (-1, -1), 0.5, HexColor("#BFBFBF")),
                ("TOPPADDING", (0, 0), (-1, -1), 6),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 7),
            ]
        )
    )
    return table


def _item_cell(item: AgendaItem, heading: PackHeading, styles: dict, tags: PageTags) -> list:
    from reportlab.platypus import Paragraph

    paper = item.paper
    details = []
    if paper.period_from and paper.period_to:
        details.append(f"Covering {day_month_year(paper.period_from)} to {day_month_year(paper.period_to)}")
    if heading.part == 2:
        paragraph = f"paragraph {paper.exempt_paragraph}" if paper.exempt_paragraph else "Schedule 12A"
        details.append(f"Exempt: {paragraph}")
    if marking.normal_marking(paper.marking) != DEFAULT_MARKING:
        details.append(escape(paper.marking))
    cell = [Paragraph(escape(paper.title), styles["cell_bold"])]
    if details:
        cell.append(Paragraph(" · ".join(details), styles["note"]))
        return [tags.tagged(paragraph, "P") for paragraph in cell]  # the title and its details apart
    return cell


def _closing_notes(heading: PackHeading, styles: dict, tags: PageTags) -> list:
    from reportlab.platypus import Paragraph

    if heading.part != 1 or not heading.exempt_in_part2:
        return []
    count = heading.exempt_in_part2
    paragraphs = part2_statement(heading.exempt_paragraphs).split("exempt information under ", 1)[1]
    text = (
        f"To consider passing a resolution that the press and public be excluded from the meeting for "
        f"the {'item' if count == 1 else f'{count} items'} of business in Part 2 of this agenda, on the "
        f"grounds that {'it involves' if count == 1 else 'they involve'} the likely disclosure of exempt "
        f"information as defined in {escape(paragraphs)}. The Part 2 papers are not published."
    )
    return [
        tags.tagged(Paragraph("Exclusion of the press and public", styles["heading"]), "H2"),
        tags.tagged(Paragraph(text, styles["cell"]), "P"),
    ]


def _marking_lines(canvas, pagesize: tuple[float, float], marking: str) -> None:
    """The pack's protective marking, centred in the agenda page's header and footer."""
    from reportlab.lib.units import mm

    width, height = pagesize
    canvas.saveState()
    canvas.setFont(_fonts()[1], 10)
    canvas.drawCentredString(width / 2, height - 12 * mm, marking)
    canvas.drawCentredString(width / 2, 15 * mm, marking)
    canvas.restoreState()


# --- page stamps ----------------------------------------------------------------------------------


def stamp_pages(writer: PdfWriter, heading: PackHeading) -> None:
    """ "Page N of M" bottom right of every page, and which pack it is bottom left."""
    for page in writer.pages:
        if page.rotation:  # so the stamp sits at the bottom of the page as the reader sees it
            page.transfer_rotation_to_content()
    overlay = PdfReader(BytesIO(_stamp_overlay(writer, heading)))
    for page, stamp in zip(writer.pages, overlay.pages, strict=True):
        page.merge_page(stamp)


def _stamp_overlay(writer: PdfWriter, heading: PackHeading) -> bytes:
    from reportlab.lib.colors import HexColor
    from reportlab.lib.units import mm
    from reportlab.pdfgen.canvas import Canvas

    regular, bold = _fonts()
    buffer, total = BytesIO(), len(writer.pages)
    canvas = Canvas(buffer)
    for number, page in enumerate(writer.pages, start=1):
        canvas._code.append("/Artifact <</Type /Pagination>> BDC")  # not content: screen readers skip it
        box = page.cropbox
        left, bottom, right = float(box.left), float(box.bottom), float(box.right)
        canvas.setPageSize((right, float(box.top)))
        canvas.setFont(regular, 8)
        canvas.setFillColor(HexColor(GREY))
        canvas.drawRightString(right - 14 * mm, bottom + 7 * mm, f"Page {number} of {total}")
        if heading.part == 2:
            canvas.setFont(bold, 8)
            canvas.setFillColor(HexColor(EXEMPT_RED))
        canvas.drawString(left + 14 * mm, bottom + 7 * mm, _stamp_label(heading))
        canvas._code.append("EMC")
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _stamp_label(heading: PackHeading) -> str:
    part = "Part 1" if heading.part == 1 else "Part 2: NOT FOR PUBLICATION"
    return f"{heading.committee}, {day_month_year(heading.meeting_date)}: {part}"


def _no_papers_message(meeting_date: date, committee: str | None) -> str:
    which = f"the {committee} meeting" if committee else "the meeting"
    return (
        f"No papers have been written for {which} on {long_date(meeting_date)}: run 'pipeline paper KIND "
        f"--meeting-date {meeting_date.isoformat()}' first."
    )
