"""Fillable Excel forms generated from form definitions (read back by `pipeline.ingest.excel`).

A generated workbook has one protected sheet, "Form": labels in column A, one unlocked yellow
input cell per answer in column B (help in column C), tables as blocks of input rows starting
at column A. Every input is found again through a workbook defined name, not its position:
`<field id>` for one cell, `<field id>.<column id>` for a table column's block of rows and
`<field id>.<choice value>` for each choice of a multi_choice. Choice lists live on a hidden,
protected "Lists" sheet, one defined name per list. The form's identity travels in the
workbook's custom properties (see `pipeline.core.identity`).
"""

from __future__ import annotations

import re
from datetime import date
from io import BytesIO
from math import ceil

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.comments import Comment
from openpyxl.packaging.custom import StringProperty
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.utils.datetime import to_excel
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.pagebreak import Break
from openpyxl.worksheet.worksheet import Worksheet

from pipeline.core.definitions import Choice, Column, Field, FieldType, FormDefinition, Group, Section
from pipeline.core.identity import FormIdentity, Personalisation
from pipeline.generate.layout import FORM_SHEET, LISTS_SHEET, TICK_ANSWER, check_names, input_name, list_name
from pipeline.ooxml.sheetml import set_text

LABEL_COLUMN, INPUT_COLUMN, HELP_COLUMN = 1, 2, 3
COLUMN_WIDTHS = {"A": 55, "B": 45, "C": 40}
TABLE_EXTRA_COLUMN_WIDTH = 30
MIN_TABLE_ROWS = 10
LINE_HEIGHT = 15
EARLIEST_DATE, LATEST_DATE = date(1900, 1, 1), date(2100, 12, 31)
DATE_FORMAT = "dd/mm/yyyy"
DATE_PROMPT = "Enter a date, e.g. 14/03/2026"
CHOICE_PROMPT = "Choose one from the list"
REQUIRED_LEGEND = "Boxes marked * must be filled in. Only the yellow boxes can be changed."
# A defined name that reads as a cell address (Q1, AB12, R1C1) is refused by Excel.

INPUT_FILL = PatternFill("solid", fgColor="FFFFF2CC")
HEADING_FILL = PatternFill("solid", fgColor="FFD9E1F2")
THIN = Side(style="thin", color="FF808080")
INPUT_BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
WRAP = Alignment(wrap_text=True, vertical="top")
HELP_FONT = Font(italic=True, color="FF808080")


# --- writing ----------------------------------------------------------------------------------


def write_xlsx_form(
    definition: FormDefinition, person: Personalisation, identity: FormIdentity
) -> bytes:
    """The fillable workbook for `definition`, pre-filled for `person`, carrying `identity`."""
    check_names(definition)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = FORM_SHEET
    writer = _FormWriter(workbook, sheet, person)
    writer.write(definition)
    _set_page(sheet, definition)
    _keep_together(sheet, writer.blocks)
    _protect(sheet)
    _set_properties(workbook, definition, identity)
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()



def _set_properties(workbook: Workbook, definition: FormDefinition, identity: FormIdentity) -> None:
    workbook.properties.title = definition.title
    workbook.properties.subject = definition.id
    workbook.properties.creator = "Partnership forms pipeline"
    for name, value in identity.to_properties().items():
        workbook.custom_doc_props.append(StringProperty(name=name, value=value))


def _set_page(sheet: Worksheet, definition: FormDefinition) -> None:
    marking = definition.marking.replace("&", "&&")
    sheet.oddHeader.center.text = marking
    sheet.oddFooter.center.text = marking
    sheet.oddFooter.left.text = f"{definition.id} version {definition.version}"
    sheet.oddFooter.right.text = "Page &P of &N"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.sheet_view.showGridLines = False


def _protect(sheet: Worksheet) -> None:
    """Only the unlocked input cells can be changed; rows and columns can still be resized."""
    sheet.protection.sheet = True
    sheet.protection.formatRows = False
    sheet.protection.formatColumns = False
    sheet.protection.selectLockedCells = False
    sheet.protection.selectUnlockedCells = False


PAGE_HEIGHT_PT = 595 - 2 * 72 - 10  # A4 landscape less the 1-inch margins, a little spare
PAGE_WIDTH_PT = 842 - 2 * 0.75 * 72
POINTS_PER_CHARACTER = 5.6  # one unit of Excel column width, Arial 10


def _keep_together(sheet: Worksheet, blocks: list[tuple[int, int]]) -> None:
    """Manual page breaks so no heading is stranded at the foot of a page and no table is split
    from its header row (a printed sheet can repeat only one set of title rows)."""
    widths = sum((sheet.column_dimensions[get_column_letter(c)].width or 8.43)
                 for c in range(1, sheet.max_column + 1))
    scale = min(1.0, PAGE_WIDTH_PT / (widths * POINTS_PER_CHARACTER))
    page = PAGE_HEIGHT_PT / scale
    starts = dict(_merged(blocks))
    used = 0.0
    for row in range(1, sheet.max_row + 1):
        if row in starts and used:
            block = sum(_height(sheet, r) for r in range(row, starts[row] + 1))
            if used + block > page and block <= page:
                sheet.row_breaks.append(Break(id=row - 1))
                used = 0.0
        height = _height(sheet, row)
        if used + height > page:
            used = 0.0
            if row > 1:
                sheet.row_breaks.append(Break(id=row - 1))
        used += height


def _merged(blocks: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping blocks as one (a section heading followed at once by a table)."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(blocks):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _height(sheet: Worksheet, row: int) -> float:
    return sheet.row_dimensions[row].height or LINE_HEIGHT


class _ChoiceLists:
    """The hidden Lists sheet: one column per choice list, one defined name per list."""

    def __init__(self, workbook: Workbook) -> None:
        self.workbook = workbook
        self.sheet: Worksheet | None = None
        self.count = 0

    def add(self, name: str, choices: tuple[Choice, ...]) -> str:
        sheet = self._sheet()
        self.count += 1
        column = self.count
        for row, choice in enumerate(choices, start=1):
            set_text(sheet.cell(row=row, column=column), choice.label)
        letter = get_column_letter(column)
        ref = f"{quote_sheetname(LISTS_SHEET)}!${letter}$1:${letter}${len(choices)}"
        self.workbook.defined_names[name] = DefinedName(name, attr_text=ref)
        return name

    def _sheet(self) -> Worksheet:
        if self.sheet is None:
            self.sheet = self.workbook.create_sheet(LISTS_SHEET)
            self.sheet.sheet_state = "hidden"
            self.sheet.protection.sheet = True
        return self.sheet


class _FormWriter:
    """Lays the form out row by row on the Form sheet."""

    def __init__(self, workbook: Workbook, sheet: Worksheet, person: Personalisation) -> None:
        self.workbook = workbook
        self.sheet = sheet
        self.person = person
        self.lists = _ChoiceLists(workbook)
        self.row = 1
        #: Rows to print on one page: a heading with what follows it, a table with its header.
        self.blocks: list[tuple[int, int]] = []
        for letter, width in COLUMN_WIDTHS.items():
            sheet.column_dimensions[letter].width = width

    def write(self, definition: FormDefinition) -> None:
        self.paragraph(definition.title, Font(bold=True, size=16), height=30)
        self.paragraph(definition.marking, Font(bold=True))
        if definition.instructions:
            self.paragraph(excel_terms(definition.instructions), Font())
        self.paragraph(REQUIRED_LEGEND, Font(bold=True))
        for section in definition.sections:
            self.section(section)
        if definition.return_to:
            self.row += 1
            self.paragraph(definition.return_to, Font(bold=True))

    # layout pieces

    def paragraph(
        self, text: str, font: Font, height: float | None = None, fill: PatternFill | None = None
    ) -> None:
        """Text merged across columns A to C; merged rows never grow on their own, so size it."""
        cell = self.sheet.cell(row=self.row, column=LABEL_COLUMN)
        set_text(cell, text)
        cell.font = font
        cell.alignment = WRAP
        if fill:
            cell.fill = fill
        self.sheet.merge_cells(
            start_row=self.row, start_column=LABEL_COLUMN, end_row=self.row, end_column=HELP_COLUMN
        )
        self.sheet.row_dimensions[self.row].height = height or _text_height(text, 150)
        self.row += 1

    def section(self, section: Section) -> None:
        self.row += 1
        self.blocks.append((self.row, self.row + 2))
        self.paragraph(section.title, Font(bold=True, size=13), height=22, fill=HEADING_FILL)
        if section.intro:
            self.paragraph(excel_terms(section.intro), Font(italic=True))
        for item in section.items:
            if isinstance(item, Group):
                self.group(item)
            else:
                self.field(item, prefix=item.number)

    def group(self, group: Group) -> None:
        needed = " *" if any(f.required for f in group.fields) else ""
        self.label(_numbered(group.number, group.label) + needed, bold=True)
        self.row += 1
        if group.note:
            self.paragraph(group.note, HELP_FONT)
        for f in group.fields:
            self.field(f, prefix="" if f.number == group.number else f.number, indent=1)

    def label(self, text: str, help_text: str = "", indent: int = 0, bold: bool = False) -> None:
        cell = self.sheet.cell(row=self.row, column=LABEL_COLUMN)
        set_text(cell, text)
        cell.alignment = Alignment(wrap_text=True, vertical="top", indent=indent)
        cell.font = Font(bold=bold)
        self.fit(self.row, LABEL_COLUMN, text, indent)
        if help_text:
            note = self.sheet.cell(row=self.row, column=HELP_COLUMN)
            set_text(note, help_text)
            note.font = HELP_FONT
            note.alignment = WRAP
            self.fit(self.row, HELP_COLUMN, help_text)

    def fit(self, row: int, column: int, text: str, indent: int = 0, least: float = 0) -> None:
        """Grow the row to show wrapped text: LibreOffice does not resize rows when opening."""
        width = self.sheet.column_dimensions[get_column_letter(column)].width
        needed = max(least, _text_height(text, max(10, int(width * 1.1) - 2 * indent)))
        current = self.sheet.row_dimensions[row].height or 0
        self.sheet.row_dimensions[row].height = max(current, needed)

    # fields

    def field(self, f: Field, prefix: str = "", indent: int = 0) -> None:
        text = _numbered(prefix, f.label) + (" *" if f.required else "")
        if f.is_table:
            self.table(f, text)
        elif f.type is FieldType.MULTI_CHOICE:
            self.multi_choice(f, text, indent)
        else:
            self.label(text, f.help, indent)
            cell = self.input_cell(self.row, INPUT_COLUMN, f.type, input_name(f.id))
            self.validate(f, cell.coordinate, list_name(f.id), f.help)
            self.prefill(f, cell)
            if f.type is FieldType.LONG_TEXT:
                self.fit(self.row, INPUT_COLUMN, "", least=60)
            self.row += 1

    def multi_choice(self, f: Field, text: str, indent: int) -> None:
        self.label(text, f.help or "Choose Yes for each that applies.", indent, bold=True)
        self.row += 1
        for choice in f.choices:
            self.label(choice.label, indent=indent + 2)
            name = input_name(f.id, choice.value)
            cell = self.input_cell(self.row, INPUT_COLUMN, FieldType.CHOICE, name)
            rule = DataValidation(type="list", formula1=f'"{TICK_ANSWER}"', allow_blank=True)
            self.add_rule(rule, cell.coordinate, "Choose Yes if this applies", _label(choice.label))
            self.row += 1

    def table(self, f: Field, text: str) -> None:
        self.blocks.append((self.row, self.row + 1 + max(f.rows, MIN_TABLE_ROWS)))
        self.label(text, f.help, bold=True)
        self.row += 1
        for offset, column in enumerate(f.columns):
            if offset >= len(COLUMN_WIDTHS):
                letter = get_column_letter(LABEL_COLUMN + offset)
                self.sheet.column_dimensions[letter].width = TABLE_EXTRA_COLUMN_WIDTH
            self.table_heading(self.sheet.cell(row=self.row, column=LABEL_COLUMN + offset), column)
        first, count = self.row + 1, max(f.rows, MIN_TABLE_ROWS)
        for offset, column in enumerate(f.columns):
            self.table_column(f, column, LABEL_COLUMN + offset, first, count)
        if any(c.type is FieldType.LONG_TEXT for c in f.columns):
            for row in range(first, first + count):
                self.fit(row, LABEL_COLUMN, "", least=45)
        self.row = first + count

    def table_heading(self, cell: Cell, column: Column) -> None:
        set_text(cell, column.label + (" *" if column.required else ""))
        cell.font = Font(bold=True)
        cell.fill = HEADING_FILL
        cell.border = INPUT_BORDER
        cell.alignment = WRAP
        self.fit(cell.row, cell.column, column.label)
        if column.help:
            cell.comment = Comment(column.help, "Form")

    def table_column(self, f: Field, column: Column, col: int, first: int, count: int) -> None:
        for row in range(first, first + count):
            self.input_cell(row, col, column.type)
        letter = get_column_letter(col)
        block = f"{letter}{first}:{letter}{first + count - 1}"
        self.name(input_name(f.id, column.id), f"${letter}${first}:${letter}${first + count - 1}")
        self.validate(column, block, list_name(f.id, column.id), column.help)

    # input cells

    def input_cell(
        self, row: int, column: int, kind: FieldType, name: str | None = None
    ) -> Cell:
        cell = self.sheet.cell(row=row, column=column)
        cell.protection = Protection(locked=False)
        cell.fill = INPUT_FILL
        cell.border = INPUT_BORDER
        cell.alignment = WRAP
        if kind is FieldType.DATE:
            cell.number_format = DATE_FORMAT
        if name:
            letter = get_column_letter(column)
            self.name(name, f"${letter}${row}")
        return cell

    def name(self, name: str, cells: str) -> None:
        ref = f"{quote_sheetname(self.sheet.title)}!{cells}"
        self.workbook.defined_names[name] = DefinedName(name, attr_text=ref)

    def prefill(self, f: Field, cell: Cell) -> None:
        value = self.person.prefill(f.prefill) if f.prefill else None
        if value is None:
            return
        if f.type is FieldType.DATE:
            cell.value = date.fromisoformat(value)
        else:
            set_text(cell, f.choice_label(value) if f.choices else value)
            self.fit(cell.row, cell.column, value)

    # validation

    def validate(self, item: Field | Column, cells: str, choices_name: str, help_text: str) -> None:
        """The data validation matching the answer's type, with a prompt and an error message."""
        if item.choices:
            source = self.lists.add(choices_name, item.choices)
            rule = DataValidation(type="list", formula1=source, allow_blank=True)
            rule.error = "Please choose one of the answers in the list."
            self.add_rule(rule, cells, _prompt(CHOICE_PROMPT, help_text), _label(item.label))
        elif item.type is FieldType.DATE:
            self.date_rule(cells, help_text, item.label)
        elif item.type is FieldType.NUMBER:
            rule = _number_rule(item) if isinstance(item, Field) else _number_rule_for(False)
            self.add_rule(rule, cells, _prompt("Enter a number", help_text), _label(item.label))
        elif item.max_length:
            rule = DataValidation(type="textLength", operator="lessThanOrEqual",
                                  formula1=str(item.max_length), allow_blank=True)
            rule.error = f"Please keep this answer to {item.max_length} characters or fewer."
            self.add_rule(rule, cells, help_text, _label(item.label))

    def date_rule(self, cells: str, help_text: str, label: str) -> None:
        rule = DataValidation(type="date", operator="between", allow_blank=True,
                              formula1=str(int(to_excel(EARLIEST_DATE))),
                              formula2=str(int(to_excel(LATEST_DATE))))
        rule.error = "Please enter a date between 01/01/1900 and 31/12/2100, e.g. 14/03/2026."
        self.add_rule(rule, cells, _prompt(DATE_PROMPT, help_text), _label(label))

    def add_rule(self, rule: DataValidation, cells: str, prompt: str, title: str) -> None:
        rule.showErrorMessage = True
        rule.errorTitle = "Answer not accepted"
        rule.showInputMessage = bool(prompt)
        rule.prompt = prompt[:255] or None
        rule.promptTitle = title if prompt else None
        rule.add(cells)
        self.sheet.add_data_validation(rule)


_TICK_WORDS = (
    (re.compile(r"\btick exactly one box in each\b", re.IGNORECASE),
     "choose one answer from the list for each"),
    (re.compile(r"\btick (exactly )?one box\b", re.IGNORECASE), "choose one answer from the list"),
    (re.compile(r"\btick (at least one|each) box\b", re.IGNORECASE), "choose Yes beside each that applies"),
)


def excel_terms(text: str) -> str:
    """Words written for the Word form's tick boxes, as an Excel form's lists say it."""
    for pattern, words in _TICK_WORDS:
        text = pattern.sub(lambda found, w=words: _same_case(found.group(0), w), text)
    return text


def _same_case(found: str, words: str) -> str:
    return words[0].upper() + words[1:] if found[:1].isupper() else words


def _number_rule(f: Field) -> DataValidation:
    return _number_rule_for(f.integer, f.minimum, f.maximum)


def _number_rule_for(
    integer: bool, low: float | None = None, high: float | None = None
) -> DataValidation:
    kind, word = ("whole", "whole number") if integer else ("decimal", "number")
    if low is not None and high is not None:
        rule = DataValidation(
            type=kind, operator="between", formula1=_num(low), formula2=_num(high)
        )
        rule.error = f"Please enter a {word} from {_num(low)} to {_num(high)}."
    elif low is not None:
        rule = DataValidation(type=kind, operator="greaterThanOrEqual", formula1=_num(low))
        rule.error = f"Please enter a {word} of {_num(low)} or more."
    elif high is not None:
        rule = DataValidation(type=kind, operator="lessThanOrEqual", formula1=_num(high))
        rule.error = f"Please enter a {word} of {_num(high)} or less."
    else:
        rule = DataValidation(type=kind, operator="between", formula1="-1E+15", formula2="1E+15")
        rule.error = f"Please enter a {word}."
    rule.allow_blank = True
    return rule


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _numbered(number: str, label: str) -> str:
    return f"{number}  {label}" if number else label


def _label(text: str) -> str:
    """A prompt title: Excel allows 32 characters."""
    return text if len(text) <= 32 else text[:31] + "…"


def _prompt(default: str, help_text: str) -> str:
    return f"{default}. {help_text}" if help_text else default


def _text_height(text: str, chars_per_line: int) -> float:
    lines = sum(max(1, ceil(len(line) / chars_per_line)) for line in text.splitlines() or [""])
    return lines * LINE_HEIGHT + 3
