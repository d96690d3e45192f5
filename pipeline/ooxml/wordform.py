"""A Word document being built as a fillable form: headings, label/input rows, tick tables,
tables whose rows a person can add to, all with real content controls.

The domain layer (`pipeline.generate.word`) decides what goes where; this module knows how Word
spells it. It speaks in `Input`s (plain values) and returns the finished package as bytes.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import parse_xml
from docx.shared import Cm, Pt, RGBColor
from docx.table import Table, _Cell

from pipeline.ooxml import wordml
from pipeline.ooxml.paperxml import set_language
from pipeline.ooxml.xml import NS, qn

LABEL_SHADE = "E7ECF2"
HEADER_SHADE = "1F3864"
INPUT_COLOUR = RGBColor(0x1F, 0x38, 0x64)
GREY = RGBColor(0x59, 0x59, 0x59)
LANGUAGE = "en-GB"  # Word's proofing, screen readers, and the PDF's /Lang


@dataclass(frozen=True)
class Input:
    """One control to place: what kind, its tag and alias, and a value to pre-fill."""

    kind: str  # "text", "long_text", "date", "dropdown", "checkbox"
    tag: str
    alias: str
    value: str | date | bool | None = None
    items: tuple[tuple[str, str], ...] = ()  # drop-down (value, text shown)
    in_cell: bool = False  # a table cell: a short placeholder


class FormDocument:
    """A fillable Word form under construction."""

    def __init__(self, *, marking: str, footer_note: str, landscape: bool = False) -> None:
        self.doc = Document()
        self._ids = itertools.count(100001)
        self._setup_page(landscape)
        self._setup_styles()
        self._marking(marking, footer_note)

    # page and styles ------------------------------------------------------------------------

    def _setup_page(self, landscape: bool) -> None:
        section = self.doc.sections[0]
        section.page_width, section.page_height = Cm(21.0), Cm(29.7)
        if landscape:
            section.orientation = WD_ORIENT.LANDSCAPE
            section.page_width, section.page_height = Cm(29.7), Cm(21.0)
        for side in ("left_margin", "right_margin"):
            setattr(section, side, Cm(1.8))
        section.top_margin = section.bottom_margin = Cm(1.8)

    def _setup_styles(self) -> None:
        styles = self.doc.styles
        normal = styles["Normal"]
        normal.font.name, normal.font.size = "Arial", Pt(10)
        normal.paragraph_format.space_after = Pt(2)
        placeholder = styles.add_style("Placeholder Text", WD_STYLE_TYPE.CHARACTER)
        placeholder.font.color.rgb = RGBColor(0x80, 0x80, 0x80)
        placeholder.font.italic = True
        entry = styles.add_style("Form Input", WD_STYLE_TYPE.CHARACTER)
        entry.font.color.rgb = INPUT_COLOUR
        set_language(self.doc, LANGUAGE)
        for name, size in (("Heading 1", 13), ("Heading 2", 11), ("Title", 18)):
            style = styles[name]
            style.font.name, style.font.size = "Arial", Pt(size)
            style.font.color.rgb = RGBColor(0x1F, 0x38, 0x64)

    def _marking(self, marking: str, footer_note: str) -> None:
        section = self.doc.sections[0]
        head = section.header.paragraphs[0]
        head.alignment = WD_ALIGN_PARAGRAPH.CENTER
        run = head.add_run(marking)
        run.bold, run.font.size = True, Pt(9)
        foot = section.footer.paragraphs[0]
        foot.alignment = WD_ALIGN_PARAGRAPH.CENTER
        run = foot.add_run(marking)
        run.bold, run.font.size = True, Pt(9)
        note = section.footer.add_paragraph()
        note.alignment = WD_ALIGN_PARAGRAPH.CENTER
        small = note.add_run(footer_note)
        small.font.size, small.font.color.rgb = Pt(7), GREY

    # text -------------------------------------------------------------------------------------

    def title(self, text: str, subtitle: str = "") -> None:
        self.doc.add_paragraph(text, style="Title")
        if subtitle:
            self.small(subtitle)

    def heading(self, text: str) -> None:
        self.doc.add_paragraph(text, style="Heading 1")

    def paragraph(self, text: str, *, italic: bool = False, bold: bool = False) -> None:
        paragraph = self.doc.add_paragraph()
        run = paragraph.add_run(text)
        run.italic, run.bold = italic, bold

    def small(self, text: str) -> None:
        run = self.doc.add_paragraph().add_run(text)
        run.font.size, run.font.color.rgb = Pt(8), GREY

    def boxed(self, text: str) -> None:
        """A shaded, bordered box: the instructions at the top of the form."""
        table = self._table(1, (self._width(),))
        cell = table.rows[0].cells[0]
        _shade(cell, "FFF7E0")
        cell.paragraphs[0].add_run(text)

    # input tables -----------------------------------------------------------------------------

    def label_table(self) -> LabelTable:
        """A two-column table: the question on the left, the answer on the right."""
        width = self._width()
        return LabelTable(self, self._table(0, (width * 0.42, width * 0.58)))

    def tick_table(self, heading: str, choices: Sequence[tuple[str, Input]]) -> None:
        """A rating: one row per choice with a tick box beside it (the seed's 'Tick' column)."""
        width = self._width()
        table = self._table(0, (width * 0.85, width * 0.15))
        _header_row(table, (heading, "Tick"))
        for label, box in choices:
            row = table.add_row()
            _keep_whole(row)
            cells = row.cells
            cells[0].paragraphs[0].add_run(label)
            cells[1].paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
            self.place(cells[1].paragraphs[0], box)
        self.doc.add_paragraph()

    def repeating_table(self, tag: str, alias: str, columns: Sequence[tuple[str, float]],
                        rows: Sequence[Sequence[Input]]) -> None:
        """A table field: header row, then rows of cell controls inside a repeating section."""
        width = self._width()
        table = self._table(0, tuple(width * share for _, share in columns))
        _header_row(table, tuple(label for label, _ in columns))
        built = []
        for inputs in rows:
            row = table.add_row()
            _keep_whole(row)
            for cell, spec in zip(row.cells, inputs, strict=True):
                self.place(cell.paragraphs[0], spec)
            built.append(row._tr)
        for tr in built:
            table._tbl.remove(tr)
        table._tbl.append(wordml.repeating_section(tag, alias, self._ids, built))
        self.small("To add a row: in Word, click in the last row and press the + at its right; "
                   "in LibreOffice, use Table > Insert > Rows Below.")

    def place(self, paragraph: object, spec: Input) -> None:
        """Put the control for `spec` at the end of a python-docx paragraph."""
        paragraph._p.append(self._control(spec))  # type: ignore[attr-defined]

    def _control(self, spec: Input) -> object:
        if spec.kind == "checkbox":
            return wordml.checkbox_control(spec.tag, spec.alias, self._ids,
                                           checked=bool(spec.value))
        if spec.kind == "date":
            value = spec.value if isinstance(spec.value, date) else None
            return wordml.date_control(spec.tag, spec.alias, self._ids, value=value)
        if spec.kind == "dropdown":
            return wordml.dropdown_control(spec.tag, spec.alias, self._ids, spec.items,
                                           value=spec.value if isinstance(spec.value, str) else None)
        placeholder = wordml.CELL_PLACEHOLDER if spec.in_cell else wordml.TEXT_PLACEHOLDER
        return wordml.text_control(spec.tag, spec.alias, self._ids,
                                   value=spec.value if isinstance(spec.value, str) else None,
                                   multiline=spec.kind == "long_text", placeholder=placeholder)

    # finishing --------------------------------------------------------------------------------

    def save(self, *, core_title: str, core_subject: str) -> bytes:
        props = self.doc.core_properties
        props.title, props.subject = core_title, core_subject
        props.language = LANGUAGE
        props.author = props.last_modified_by = "Partnership forms pipeline"
        settings = self.doc.settings.element
        settings.insert(0, wordml.protection_element())
        part = self.doc.part
        _drop_styles_with_effects(part)
        _drop_unused_styles(self.doc)
        part._element = wordml.with_document_namespaces(part._element)
        buffer = io.BytesIO()
        self.doc.save(buffer)
        return buffer.getvalue()

    # helpers ----------------------------------------------------------------------------------

    def _width(self) -> int:
        section = self.doc.sections[0]
        return section.page_width - section.left_margin - section.right_margin

    def _table(self, rows: int, widths: Sequence[float]) -> Table:
        table = self.doc.add_table(rows=rows, cols=len(widths))
        table.style = "Table Grid"
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        table.autofit = False
        for index, width in enumerate(widths):
            table.columns[index].width = int(width)
            for cell in table.columns[index].cells:
                cell.width = int(width)
        _fixed_layout(table)
        return table


class LabelTable:
    """Rows of `label | input` (and numbered questions with several inputs)."""

    def __init__(self, form: FormDocument, table: Table) -> None:
        self.form, self.table = form, table

    def field(self, label: str, help_text: str, spec: Input, *, required: bool) -> None:
        cells = self._row()
        _label(cells[0], label, help_text, required)
        self.form.place(cells[1].paragraphs[0], spec)

    def question(self, number: str, label: str, note: str,
                 parts: Sequence[tuple[str, Sequence[tuple[str, Input]]]]) -> None:
        """A numbered question; each part is its small label and its control(s), side by side."""
        cells = self._row()
        _label(cells[0], f"{number}. {label}" if number else label, note, required=False)
        answer = cells[1]
        for index, (part_label, controls) in enumerate(parts):
            above = answer.paragraphs[0] if index == 0 else answer.add_paragraph()
            run = above.add_run(part_label)
            run.bold, run.font.size, run.font.color.rgb = True, Pt(8), GREY
            line = answer.add_paragraph()
            for prefix, spec in controls:
                if prefix:
                    line.add_run(f"{prefix} ")
                self.form.place(line, spec)
                if prefix:
                    line.add_run("      ")

    def heading_row(self, text: str) -> None:
        """A full-width shaded row naming a part of the checklist."""
        cells = self._row()
        merged = cells[0].merge(cells[1])
        _shade(merged, HEADER_SHADE)
        run = merged.paragraphs[0].add_run(text)
        run.bold, run.font.color.rgb = True, RGBColor(0xFF, 0xFF, 0xFF)

    def _row(self) -> list[_Cell]:
        row = self.table.add_row()
        _keep_whole(row)
        cells = row.cells
        _shade(cells[0], LABEL_SHADE)
        return cells


def _keep_whole(row: object) -> None:
    """A row is never split across two pages (half an answer box on each)."""
    row._tr.get_or_add_trPr().append(parse_xml(f'<w:cantSplit xmlns:w="{NS["w"]}"/>'))  # type: ignore[attr-defined]


def _drop_styles_with_effects(part: object) -> None:
    """Leave out python-docx's `stylesWithEffects.xml` (438 KB, for Word 2010 only; Word and
    LibreOffice use `styles.xml`): every return would otherwise carry it to be unpacked."""
    for rel_id, rel in list(part.rels.items()):  # type: ignore[attr-defined]
        if rel.reltype.endswith("/stylesWithEffects"):
            part.drop_rel(rel_id)  # type: ignore[attr-defined]


_STYLE_REFERENCES = {qn("w:pStyle"), qn("w:rStyle"), qn("w:tblStyle"), qn("w:numStyleLink"),
                     qn("w:styleLink")}
_STYLE_CHAIN = (qn("w:basedOn"), qn("w:link"), qn("w:next"))


def _drop_unused_styles(doc: object) -> None:
    """Keep only the styles the form uses (and those they are based on, linked to or followed
    by, and the defaults): python-docx's template carries 166 (350 KB) that every return would
    otherwise carry to be unpacked and checked. Word offers its built-in styles all the same."""
    styles = doc.styles.element  # type: ignore[attr-defined]
    parts = [doc.part.element, styles,  # type: ignore[attr-defined]
             *(rel.target_part.element for rel in doc.part.rels.values()  # type: ignore[attr-defined]
               if not rel.is_external and hasattr(rel.target_part, "element"))]
    wanted = {el.get(qn("w:val")) for part in parts for el in part.iter(*_STYLE_REFERENCES)}
    by_id = {style.get(qn("w:styleId")): style for style in styles.iterchildren(qn("w:style"))}
    wanted |= {sid for sid, style in by_id.items() if style.get(qn("w:default")) in ("1", "true")}
    todo = list(wanted)
    while todo:
        style = by_id.get(todo.pop())
        for link in () if style is None else style.iterchildren(*_STYLE_CHAIN):
            if link.get(qn("w:val")) not in wanted:
                wanted.add(link.get(qn("w:val")))
                todo.append(link.get(qn("w:val")))
    for sid, style in by_id.items():
        if sid not in wanted:
            styles.remove(style)


def _label(cell: _Cell, label: str, help_text: str, required: bool) -> None:
    paragraph = cell.paragraphs[0]
    paragraph.add_run(label).bold = True
    if required:
        star = paragraph.add_run(" *")
        star.bold, star.font.color.rgb = True, RGBColor(0xC0, 0x00, 0x00)
    if help_text:
        run = cell.add_paragraph().add_run(help_text)
        run.italic, run.font.size, run.font.color.rgb = True, Pt(8), GREY


def _header_row(table: Table, labels: Sequence[str]) -> None:
    cells = table.add_row().cells
    for cell, text in zip(cells, labels, strict=True):
        _shade(cell, HEADER_SHADE)
        run = cell.paragraphs[0].add_run(text)
        run.bold, run.font.color.rgb, run.font.size = True, RGBColor(0xFF, 0xFF, 0xFF), Pt(9)
    tr_pr = table.rows[-1]._tr.get_or_add_trPr()
    tr_pr.append(parse_xml(f'<w:tblHeader xmlns:w="{NS["w"]}"/>'))


def _shade(cell: _Cell, colour: str) -> None:
    tc_pr = cell._tc.get_or_add_tcPr()
    shade = parse_xml(f'<w:shd xmlns:w="{NS["w"]}" w:val="clear" w:color="auto" w:fill="{colour}"/>')
    tc_pr.append(shade)


def _fixed_layout(table: Table) -> None:
    tbl_pr = table._tbl.tblPr
    layout = tbl_pr.find(qn("w:tblLayout"))
    if layout is None:
        layout = parse_xml(f'<w:tblLayout xmlns:w="{NS["w"]}" w:type="fixed"/>')
        tbl_pr.append(layout)
