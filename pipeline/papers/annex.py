"""The paper's Excel annex: an "About" sheet, then one sheet per table of the paper with the same
figures (numbers as numbers, dates as dates), and the chart's picture on its table's sheet.

Every text cell is written as text (`pipeline.ooxml.sheetml.set_text`), so a member's answer that
begins with =, +, - or @ is never run as a formula.
"""

from __future__ import annotations

import io
import re
from datetime import date
from math import ceil
from typing import Any

from openpyxl import Workbook
from openpyxl.drawing.image import Image
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from pipeline.ooxml.sheetml import set_text
from pipeline.papers.figures import ANNEX_ROW_LIMIT, Column, Figures, PaperTable

HEADING_FILL = PatternFill("solid", fgColor="FFD9E2F3")
BOLD = Font(bold=True)
TOP_WRAP = Alignment(wrap_text=True, vertical="top")
SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")
NUMBER_FORMATS = {
    "percent": '0.0"%"',
    "score": "0.00",
    "date": "dd/mm/yyyy",
    "movement": '"↑ "0.00;"↓ "0.00;"→ "0.00',
}
LINE_HEIGHT = 15
WIDTHS = {"text": 40, "number": 12, "percent": 12, "score": 12, "date": 12, "movement": 14}


def annex_bytes(figures: Figures, about: list[tuple[str, str]]) -> bytes:
    """The annex workbook: `about` (label, value) pairs first, then one sheet per table."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    marking = dict(about).get("Protective marking", "")
    _about_sheet(sheet, about, figures)
    names: set[str] = {sheet.title}
    for table in figures.tables:
        table_sheet = workbook.create_sheet(_sheet_name(table.title, names))
        _table_sheet(table_sheet, table)
        if figures.chart and table is _charted_table(figures):
            _add_chart(table_sheet, figures.chart, len(table.columns) + 2)
    for each in workbook.worksheets:
        _page(each, marking)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _about_sheet(sheet: Worksheet, about: list[tuple[str, str]], figures: Figures) -> None:
    sheet.title = "About"
    for row, (label, value) in enumerate(about, start=1):
        set_text(sheet.cell(row, 1), label)
        sheet.cell(row, 1).font = BOLD
        set_text(sheet.cell(row, 2), value)
    row = len(about) + 2
    for note in figures.notes:
        set_text(sheet.cell(row, 1), note)
        row += 1
    sheet.column_dimensions["A"].width = 28
    sheet.column_dimensions["B"].width = 70


def _table_sheet(sheet: Worksheet, table: PaperTable) -> None:
    for index, column in enumerate(table.columns, start=1):
        cell = sheet.cell(1, index)
        set_text(cell, column.heading)
        cell.font, cell.fill, cell.alignment = BOLD, HEADING_FILL, TOP_WRAP
        sheet.column_dimensions[get_column_letter(index)].width = WIDTHS.get(column.kind, 14)
    _fit_height(sheet, 1, table.columns, {c.key: c.heading for c in table.columns})
    for row_number, row in enumerate(table.rows, start=2):
        _write_row(sheet, row_number, table.columns, row)
        _fit_height(sheet, row_number, table.columns, row)
    next_row = len(table.rows) + 2
    if table.totals:
        _write_row(sheet, next_row, table.columns, table.totals, bold=True)
        next_row += 1
    if table.count > len(table.rows):
        set_text(
            sheet.cell(next_row + 1, 1),
            f"{table.count - len(table.rows):,} more rows are not listed: the annex lists at most "
            f"{ANNEX_ROW_LIMIT:,}. Write the paper for a shorter period to see them all.",
        )
    sheet.freeze_panes = "A2"


def _fit_height(sheet: Worksheet, row_number: int, columns: tuple[Column, ...], row: dict[str, Any]) -> None:
    """Room for the wrapped lines of the longest text (spreadsheets do not grow rows on opening)."""
    lines = 1
    for column in columns:
        value = row.get(column.key)
        if isinstance(value, str):
            per_line = max(1, int(WIDTHS.get(column.kind, 14) * 1.1))
            lines = max(lines, sum(ceil(max(1, len(part)) / per_line) for part in value.split("\n")))
    if lines > 1:
        sheet.row_dimensions[row_number].height = LINE_HEIGHT * lines


def _write_row(
    sheet: Worksheet, row_number: int, columns: tuple[Column, ...], row: dict[str, Any], *, bold: bool = False
) -> None:
    for index, column in enumerate(columns, start=1):
        cell = sheet.cell(row_number, index)
        value = row.get(column.key)
        if isinstance(value, str) and column.kind == "date":
            value = _as_date(value)
        if isinstance(value, str):
            set_text(cell, value)
        elif value is not None:
            cell.value = value
            if column.kind in NUMBER_FORMATS:
                cell.number_format = NUMBER_FORMATS[column.kind]
        cell.alignment = TOP_WRAP
        if bold:
            cell.font = BOLD


def _as_date(text: str) -> date | str:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return text


def _charted_table(figures: Figures) -> PaperTable | None:
    """The chart goes beside the table it draws: ratings or results, whichever the paper has."""
    for table in figures.tables:
        if table.name in ("agenda", "results"):
            return table
    return None


def _add_chart(sheet: Worksheet, png: bytes, column: int) -> None:
    picture = Image(io.BytesIO(png))
    picture.width, picture.height = picture.width * 0.6, picture.height * 0.6
    sheet.add_image(picture, f"{get_column_letter(column)}2")


FILLER_WORDS = {"a", "an", "and", "for", "from", "in", "of", "on", "the", "to", "raised", "relevant"}
SHEET_NAME_LIMIT = 31  # Excel's
#: Shortenings the forms themselves use ("PA objectives"), tried before cutting words, so that
#: the Police Authority's table is not cut to "Issues decisions Police" beside the Force's.
SHORTENINGS = (("Police Authority", "PA"),)


def short_sheet_name(title: str) -> str:
    """A long table title shortened the way a person would, to fit Excel's 31 characters: small
    words dropped, then cut after a whole word, never inside one
    ("Issues and decisions relevant to Police Force objectives" -> "Issues decisions Police Force")."""
    clean = " ".join(SHEET_NAME_BAD.sub("-", title).strip("'").split())
    if len(clean) <= SHEET_NAME_LIMIT:
        return clean
    for long, short in SHORTENINGS:
        clean = re.sub(rf"\b{re.escape(long)}\b", short, clean, flags=re.IGNORECASE)
    words = [w for w in clean.split() if w.casefold() not in FILLER_WORDS] or clean.split()
    while len(words) > 1 and len(" ".join(words)) > SHEET_NAME_LIMIT:
        words.pop()
    return " ".join(words)[:SHEET_NAME_LIMIT].strip()


def _sheet_name(title: str, taken: set[str]) -> str:
    """A title Excel accepts as a sheet name: no []:*?/\\, at most 31 characters, unique."""
    base = short_sheet_name(title) or "Table"
    name, number = base, 2
    while name.casefold() in {t.casefold() for t in taken}:
        suffix = f" ({number})"
        name, number = base[: 31 - len(suffix)] + suffix, number + 1
    taken.add(name)
    return name


def _page(sheet: Worksheet, marking: str) -> None:
    text = marking.replace("&", "&&")
    sheet.oddHeader.center.text = text
    sheet.oddFooter.center.text = text
    sheet.oddFooter.right.text = "Page &P of &N"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
