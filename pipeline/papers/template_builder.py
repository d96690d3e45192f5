"""Building a paper template in the authority's report format (the Cambridgeshire seed) with
python-docx: marking in header and footer, To / From / Date, the title in capitals, numbered
sections and paragraphs, tables whose rows a docxtpl loop repeats, and the bibliography box.

What it writes is an ordinary Word document with Jinja tags in it ({{ ... }}, {%p ... %},
{%tr ... %}); a clerk can change its wording and layout in Word without touching code.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.shared import Cm, Pt, RGBColor
from docx.table import Table
from docx.text.paragraph import Paragraph

from pipeline.ooxml.package import with_fixed_times
from pipeline.ooxml.paperxml import (
    add_field,
    box_paragraph,
    cell_margins,
    describe_table,
    keep_row_whole,
    plain_heading_font,
    repeat_as_header,
    set_font_everywhere,
    set_language,
    shade,
)

FONT = "Arial"
PAGE_WIDTH, MARGIN = Cm(21.0), Cm(2.2)
TEXT_WIDTH = PAGE_WIDTH - 2 * MARGIN
NUMBER_INDENT = Cm(1.25)
HEADER_FILL = "D9E2F3"
TOTAL_FILL = "F2F2F2"
OVERDUE_RED = RGBColor(0xC0, 0x00, 0x00)
GREY = RGBColor(0x59, 0x59, 0x59)
PAGE_NUMBER_SIZE = 8  # "Paper page 2 of 6", words and digits alike
LANGUAGE = "en-GB"  # the document language: Word proofing, the PDF's /Lang, screen readers

CONSULTATION_NOTE = (
    "A report will not be sent to the Authority unless this box has been satisfactorily completed "
    "and all necessary consultation carried out - the responsibility for which rests with the "
    "originator (except for consultation with the Chairman and this will be undertaken by the "
    "Chief Executive)."
)
EXEMPT_QUESTION = (
    "Is it considered that this report contains ‘exempt information’ and should be considered in private?"
)
EXEMPT_CLAUSE = (
    "If the answer is “YES”, please state the nature of the exempt information and the "
    "relevant clause in Part 1 of revised Schedule 12A to the Local Government Act 1972."
)


@dataclass(frozen=True)
class TableColumn:
    """A column of a looped table: its heading, the cell's Jinja text, and its share of the width."""

    heading: str
    cell: str
    width: float  # a fraction of the text width
    total: str = ""  # the totals row's cell, when the table has one
    numeric: bool = False
    emphasis: bool = False  # bold red: for "Overdue"


class ReportTemplate:
    """A paper template under construction; `save()` gives the .docx bytes."""

    def __init__(self, title: str, subject: str) -> None:
        self.doc = Document()
        self.doc.core_properties.title = title
        self.doc.core_properties.subject = subject
        self.doc.core_properties.author = "Partnership forms pipeline"
        self.doc.core_properties.language = LANGUAGE
        self.html: list[str] = []  # the HTML edition's template, built alongside (see html_template)
        self._page()
        self._styles()
        self._marking()

    # --- the page ----------------------------------------------------------------------------

    def _page(self) -> None:
        section = self.doc.sections[0]
        section.page_width, section.page_height = PAGE_WIDTH, Cm(29.7)
        section.left_margin = section.right_margin = MARGIN
        section.top_margin, section.bottom_margin = Cm(2.0), Cm(1.8)
        section.header_distance = Cm(0.9)
        section.footer_distance = Cm(1.3)  # clear of the agenda pack's own page number below it

    def _styles(self) -> None:
        normal = self.doc.styles["Normal"]
        normal.font.name, normal.font.size = FONT, Pt(11)
        normal.paragraph_format.space_after = Pt(6)
        normal.paragraph_format.line_spacing = 1.1
        set_font_everywhere(normal, FONT)
        set_language(self.doc, LANGUAGE)
        for name, size in (("Heading 1", 12), ("Heading 2", 11)):
            # real heading levels (navigation pane, PDF tags and bookmarks) that look like the seed
            style = self.doc.styles[name]
            style.font.name, style.font.size = FONT, Pt(size)
            style.font.bold, style.font.italic = True, False
            plain_heading_font(style, FONT)
            style.paragraph_format.space_before = Pt(10)
            style.paragraph_format.space_after = Pt(6)
            style.paragraph_format.keep_with_next = True

    def _marking(self) -> None:
        section = self.doc.sections[0]
        for part in (section.header, section.footer):
            paragraph = part.paragraphs[0]
            paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
            run = paragraph.add_run("{{ marking }}")
            run.bold, run.font.size = True, Pt(10)
        numbers = section.footer.add_paragraph()  # the paper's own page numbers, under its marking
        numbers.alignment = WD_ALIGN_PARAGRAPH.CENTER
        numbers.paragraph_format.space_before = Pt(2)
        numbers.add_run("Paper page ")
        add_field(numbers, "PAGE", size_pt=PAGE_NUMBER_SIZE)
        numbers.add_run(" of ")
        add_field(numbers, "NUMPAGES", size_pt=PAGE_NUMBER_SIZE)
        for run in numbers.runs:
            run.font.size = Pt(PAGE_NUMBER_SIZE)

    # --- text --------------------------------------------------------------------------------

    def tag(self, jinja: str) -> None:
        """A paragraph holding only a {%p ... %} tag: docxtpl removes it when rendering."""
        self.doc.add_paragraph(jinja)
        self.html.append(_plain_tag(jinja))

    def line(
        self,
        text: str,
        *,
        bold: bool = False,
        size: int | None = None,
        italic: bool = False,
        space_after: int | None = None,
        centre: bool = False,
    ) -> Paragraph:
        paragraph = self.doc.add_paragraph()
        run = paragraph.add_run(text)
        run.bold, run.italic = bold, italic
        if size:
            run.font.size = Pt(size)
        if space_after is not None:
            paragraph.paragraph_format.space_after = Pt(space_after)
        if centre:
            paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        self.html.append(f'<p class="{"strong" if bold else "line"}">{text}</p>')
        return paragraph

    def address(self, lines: Sequence[tuple[str, str]]) -> None:
        """To: / From: / Date: with the values lined up on a tab stop."""
        for label, value in lines:
            paragraph = self.doc.add_paragraph()
            paragraph.paragraph_format.tab_stops.add_tab_stop(Cm(2.0))
            paragraph.paragraph_format.space_after = Pt(4)
            paragraph.add_run(f"{label}\t").bold = True
            paragraph.add_run(value)
        self.doc.add_paragraph()
        pairs = "".join(f"<dt>{label}</dt><dd>{value}</dd>" for label, value in lines)
        self.html.append(f'<dl class="address">{pairs}</dl>')

    def title(self, text: str) -> None:
        paragraph = self.line(text, bold=True, size=12, space_after=12)
        self.html[-1] = f"<h1>{text.replace('|upper', '')}</h1>"  # capitals read badly on screen
        paragraph.style = self.doc.styles["Heading 1"]
        paragraph.paragraph_format.space_before = Pt(0)
        paragraph.paragraph_format.keep_with_next = True

    def section(self, number: str, heading: str) -> None:
        paragraph = self._numbered(f"{number}.", heading)
        self.html[-1] = f'<h2><span class="number">{number}.</span> {heading}</h2>'
        paragraph.style = self.doc.styles["Heading 2"]
        for run in paragraph.runs:
            run.bold = True
        paragraph.paragraph_format.space_before = Pt(10)
        paragraph.paragraph_format.keep_with_next = True

    def para(self, number: str, text: str) -> Paragraph:
        return self._numbered(number, text)

    def note(self, text: str) -> Paragraph:
        """A small grey note under a table, indented like the paragraphs."""
        paragraph = self.doc.add_paragraph()
        paragraph.paragraph_format.left_indent = NUMBER_INDENT
        run = paragraph.add_run(text)
        run.font.size, run.italic = Pt(9), True
        run.font.color.rgb = GREY
        self.html.append(f'<p class="note">{text}</p>')
        return paragraph

    def _numbered(self, number: str, text: str) -> Paragraph:
        paragraph = self.doc.add_paragraph()
        form = paragraph.paragraph_format
        form.left_indent, form.first_line_indent = NUMBER_INDENT, -NUMBER_INDENT
        form.tab_stops.add_tab_stop(NUMBER_INDENT)
        paragraph.add_run(f"{number}\t{text}")
        self.html.append(f'<p class="numbered"><span class="number">{number}</span> {text}</p>')
        return paragraph

    def caption(self, text: str) -> None:
        paragraph = self.line(text, bold=True, size=10, space_after=3)
        self.html[-1] = f'<p class="caption">{text}</p>'
        paragraph.paragraph_format.left_indent = NUMBER_INDENT
        paragraph.paragraph_format.keep_with_next = True
        paragraph.paragraph_format.space_before = Pt(6)

    def chart(self) -> None:
        self.tag("{%p if chart %}")
        self.caption("Chart: {{ chart_title }}")
        self.html.pop()  # the HTML edition's caption is the figure's own
        paragraph = self.doc.add_paragraph("{{ chart }}")
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        self.html.append(
            '<figure><img src="{{ chart_src }}" alt="{{ chart_alt }}" width="900" height="450">'
            "<figcaption>Chart: {{ chart_title }} (the figures are in the tables above)</figcaption></figure>"
        )
        self.tag("{%p endif %}")

    def page_break(self) -> None:
        self.doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)

    # --- tables ------------------------------------------------------------------------------

    def loop_table(
        self,
        caption: str,
        rows: str,
        columns: Sequence[TableColumn],
        *,
        totals: bool = False,
        more: str | None = None,
        keep_together: bool = False,
    ) -> None:
        """A captioned table with a header row, one row per item of `rows`, and a totals row.

        `keep_together`: a short table is never split across two pages.
        """
        self.caption(caption)  # not numbered: a table left out for want of rows would break the sequence
        self.html.pop()
        self._html_table(caption, rows, columns, totals)
        table = self._grid(4 + int(totals), [c.width for c in columns])
        describe_table(table, caption)
        header, opener, body, closer = table.rows[:4]
        for cell, column in zip(header.cells, columns, strict=True):
            self._cell(cell, column.heading, bold=True, size=9, numeric=column.numeric)
            shade(cell, HEADER_FILL)
        repeat_as_header(header)
        opener.cells[0].paragraphs[0].add_run(f"{{%tr for row in {rows} %}}")
        closer.cells[0].paragraphs[0].add_run("{%tr endfor %}")
        for cell, column in zip(body.cells, columns, strict=True):
            run = self._cell(cell, column.cell, size=9, numeric=column.numeric)
            if column.emphasis:
                run.bold, run.font.color.rgb = True, OVERDUE_RED
        keep_row_whole(body)
        if totals:
            for cell, column in zip(table.rows[4].cells, columns, strict=True):
                self._cell(cell, column.total, bold=True, size=9, numeric=column.numeric)
                shade(cell, TOTAL_FILL)
        if keep_together:
            for row in (header, body):
                for cell in row.cells:
                    cell.paragraphs[0].paragraph_format.keep_with_next = True
        self.html.append("</div>")
        if more:
            self.tag(f"{{%p if {more}.more %}}")
            self.note(
                f"The table shows the first {{{{ {more}.rows|length }}}} of {{{{ {more}.count }}}}; "
                "the annex lists the rest."
            )
            self.tag("{%p endif %}")
        self.doc.add_paragraph().paragraph_format.space_after = Pt(0)

    def _html_table(self, caption: str, rows: str, columns: Sequence[TableColumn], totals: bool) -> None:
        """The same table for the HTML edition: a caption, header cells, one row per item, totals."""
        numeric = ' class="numeric"'
        heads = "".join(
            f'<th scope="col"{numeric if c.numeric else ""}>{c.heading}</th>' for c in columns
        )
        cells = "".join(
            f"<td{numeric if c.numeric else ''}>{f'<strong>{c.cell}</strong>' if c.emphasis else c.cell}</td>"
            for c in columns
        )
        html = (
            f'<div class="table"><table><caption>{caption}</caption><thead><tr>{heads}</tr></thead>'
            f"<tbody>{{% for row in {rows} %}}<tr>{cells}</tr>{{% endfor %}}</tbody>"
        )
        if totals:
            footer = "".join(
                f"<td{numeric if c.numeric else ''}><strong>{c.total}</strong></td>" for c in columns
            )
            html += f"<tfoot><tr>{footer}</tr></tfoot>"
        self.html.append(html + "</table>")

    def _grid(self, rows: int, widths: Sequence[float]) -> Table:
        table = self.doc.add_table(rows=rows, cols=len(widths))
        table.style = "Table Grid"
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        table.autofit = False
        cell_margins(table, 80)
        total = sum(widths)
        for column, share in zip(table.columns, widths, strict=True):
            column.width = int(TEXT_WIDTH * share / total)  # the grid LibreOffice reads
        for row in table.rows:
            for cell, share in zip(row.cells, widths, strict=True):
                cell.width = int(TEXT_WIDTH * share / total)
        return table

    def _cell(
        self,
        cell,
        text: str,
        *,
        bold: bool = False,
        size: int = 10,  # type: ignore[no-untyped-def]
        numeric: bool = False,
    ):
        paragraph = cell.paragraphs[0]
        paragraph.paragraph_format.space_after = Pt(0)
        if numeric:
            paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        run = paragraph.add_run(text)
        run.bold, run.font.size = bold, Pt(size)
        return run

    # --- the report format's fixed parts -------------------------------------------------------

    def opening(self) -> None:
        """The exempt notice (when exempt), To / From / Date and the title."""
        self.tag("{%p if exempt %}")
        self.line("NOT FOR PUBLICATION", bold=True, centre=True, space_after=2)
        self.line("by virtue of paragraph {{ exempt_paragraph }} of {{ schedule_12a }}", centre=True, size=10)
        self.tag("{%p endif %}")
        self.address((("To:", "{{ committee }}"), ("From:", "{{ author }}"), ("Date:", "{{ paper_date }}")))
        self.title("{{ authority|upper }} – {{ title|upper }}")

    def bibliography(self) -> None:
        """The seed's closing box: sources, contact, exempt information, clearance, submission.

        A box of headed paragraphs (a heading, then each label and its answer), not a layout table:
        a screen reader reads it in order, and the tagged PDF has no table without real headers. It
        stays whole and with the recommendation before it, so neither is left alone on a page.
        """
        self._keep_last_paragraph_with_next()
        heading = self.doc.add_paragraph("Bibliography", style=self.doc.styles["Heading 2"])
        heading.paragraph_format.space_before = Pt(12)
        heading.paragraph_format.space_after = Pt(0)
        box_paragraph(heading, fill=HEADER_FILL)
        for label, answer, condition in BIBLIOGRAPHY_ENTRIES:
            if condition:
                self.doc.add_paragraph(f"{{%p if {condition} %}}")
            self._boxed(label, bold=True)
            self._boxed(answer, bold=answer in BOLD_ANSWERS, space_after=4)
            if condition:
                self.doc.add_paragraph("{%p endif %}")
        last = self._boxed(CONSULTATION_NOTE, italic=True, size=9, space_after=0)
        last.paragraph_format.keep_with_next = False
        self.html.append(BIBLIOGRAPHY_HTML)

    def _boxed(self, text: str, *, bold: bool = False, italic: bool = False, size: int = 10,
               space_after: int = 0) -> Paragraph:
        paragraph = self.doc.add_paragraph()
        paragraph.paragraph_format.space_before = Pt(0)
        paragraph.paragraph_format.space_after = Pt(space_after)
        paragraph.paragraph_format.keep_with_next = True  # the box is never split across pages
        run = paragraph.add_run(text)
        run.bold, run.italic, run.font.size = bold, italic, Pt(size)
        box_paragraph(paragraph)
        return paragraph

    def _keep_last_paragraph_with_next(self) -> None:
        """The last paragraph with words in it (the recommendation) stays with what follows."""
        for paragraph in reversed(self.doc.paragraphs):
            if paragraph.text.strip() and not paragraph.text.lstrip().startswith("{%p"):
                paragraph.paragraph_format.keep_with_next = True
                return

    def html_template(self) -> str:
        """The HTML edition's Jinja template: the same sentences, tables and chart as the Word paper."""
        body = "\n".join(self.html)
        return HTML_PAGE.replace("@@BODY@@", body)

    def save(self) -> bytes:
        """The .docx bytes; the same bytes every time for the same template (fixed zip dates)."""
        buffer = io.BytesIO()
        self.doc.save(buffer)
        return with_fixed_times(buffer.getvalue())


def _plain_tag(jinja: str) -> str:
    """docxtpl's paragraph and row tags ({%p ... %}, {%tr ... %}) as plain Jinja for HTML."""
    return jinja.replace("{%p ", "{% ").replace("{%tr ", "{% ")


# The bibliography box's entries: label, answer, and the context name that must be set to show it.
BIBLIOGRAPHY_ENTRIES: tuple[tuple[str, str, str | None], ...] = (
    ("Source document(s)", "{{ source_documents }}", None),
    ("Contact officer", "{{ contact_officer }}{% if contact_phone %}, {{ contact_phone }}{% endif %}", None),
    ("Location", "{{ location }}", "location"),
    ("Originating officer", "{{ originating_officer }}", None),
    (EXEMPT_QUESTION, "{{ exempt_answer }}", None),
    (EXEMPT_CLAUSE, "{{ exempt_statement }}", "exempt_statement"),
    ("The attached report has been cleared with the undermentioned Officer:", "{{ cleared_with }}", None),
    ("Submitted on", "{{ submitted_on }}", None),
)
BOLD_ANSWERS = ("{{ exempt_answer }}", "{{ exempt_statement }}")

BIBLIOGRAPHY_HTML = (
    '<section class="bibliography" aria-labelledby="bibliography"><h2 id="bibliography">Bibliography</h2>'
    "<dl>"
    "<dt>Source document(s)</dt><dd>{{ source_documents }}</dd>"
    "<dt>Contact officer</dt>"
    "<dd>{{ contact_officer }}{% if contact_phone %}, {{ contact_phone }}{% endif %}</dd>"
    "{% if location %}<dt>Location</dt><dd>{{ location }}</dd>{% endif %}"
    "<dt>Originating officer</dt><dd>{{ originating_officer }}</dd>"
    f"<dt>{EXEMPT_QUESTION}</dt><dd>{{{{ exempt_answer }}}}</dd>"
    "{% if exempt_statement %}<dt>Exempt information</dt><dd>{{ exempt_statement }}</dd>{% endif %}"
    "<dt>Cleared with</dt><dd>{{ cleared_with }}</dd>"
    "<dt>Submitted on</dt><dd>{{ submitted_on }}</dd>"
    "</dl></section>"
)

HTML_PAGE = """<!doctype html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}: {{ committee }}, {{ meeting_date }}</title>
<link rel="stylesheet" href="{{ stylesheet }}">
</head>
<body>
<header class="masthead"><p class="marking">{{ marking }}</p>
<p class="back"><a href="{{ agenda_href }}">Agenda for {{ committee }}, {{ meeting_date }}</a></p></header>
<main>
@@BODY@@
<p class="formats">This paper is also published as a <a href="{{ pdf_href }}">PDF ({{ pdf_size }})</a>.</p>
</main>
<footer><p class="marking">{{ marking }}</p></footer>
</body>
</html>
"""
