"""A returned workbook's cells read straight from its parts (SpreadsheetML), without openpyxl.

Only what a form reader needs: the defined names (workbook and sheet scoped), each worksheet's
cells with their values typed as openpyxl's `data_only` load would give them (shared and inline
strings, numbers, booleans, errors, dates from date-formatted numbers), and nothing else. Work is
bounded by the cells that exist, whatever range a name declares.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from lxml import etree
from openpyxl.cell.cell import Cell
from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format
from openpyxl.utils.cell import range_boundaries
from openpyxl.utils.datetime import from_excel

from pipeline.ooxml.package import Package

X = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_CELL_REF = re.compile(r"^([A-Z]{1,3})(\d+)$")

CellValue = str | int | float | bool | datetime | None
FORMULA_START = ("=", "+", "-", "@")


def _x(tag: str) -> str:
    return f"{{{X}}}{tag}"


@dataclass(frozen=True)
class NamedPlace:
    """Where a defined name points: a sheet and a range such as `$B$5` or `$A$20:$A$29`."""

    sheet: str
    cells: str


class WorkbookCells:
    """The cells of every worksheet of an opened workbook package, read once, on first use."""

    def __init__(self, package: Package) -> None:
        self._package = package
        main = package.main_document() or "xl/workbook.xml"
        self._workbook = package.xml(main)
        targets = {rel.id: rel.target for rel in package.relationships(main) if not rel.external}
        self._sheet_parts: dict[str, str] = {}
        self._sheet_order: list[str] = []
        for sheet in self._workbook.iter(_x("sheet")):
            name, rid = sheet.get("name", ""), sheet.get(f"{{{R}}}id", "")
            if rid in targets and package.has(targets[rid]):
                self._sheet_parts[name] = targets[rid]
            self._sheet_order.append(name)
        rel_types = {rel.type.rsplit("/", 1)[-1]: rel.target
                     for rel in package.relationships(main) if not rel.external}
        self._strings_part = rel_types.get("sharedStrings")
        self._styles_part = rel_types.get("styles")
        self._strings: list[str] | None = None
        self._dates: frozenset[int] | None = None
        self._cells: dict[str, dict[tuple[int, int], CellValue]] = {}
        self._max_row: dict[str, int] = {}

    def names(self) -> dict[str, NamedPlace]:
        """Each defined name (first of several areas) and where it points; broken ones left out."""
        places: dict[str, NamedPlace] = {}
        defined = self._workbook.find(_x("definedNames"))
        if defined is None:
            return places
        for element in defined.iter(_x("definedName")):
            place = _place(element.text or "")
            name = element.get("name", "")
            if place is not None and name:
                places.setdefault(name, place)
        return places

    def column(self, place: NamedPlace, limit: int) -> list[CellValue] | None:
        """The values of the first column of `place`, top to bottom, only rows that exist (at
        least the first, at most `limit`); None when the sheet or the range is not there."""
        cells = self._sheet(place.sheet)
        if cells is None:
            return None
        try:
            min_col, min_row, _, max_row = range_boundaries(place.cells.replace("$", ""))
        except (TypeError, ValueError):
            return None
        if min_col is None or min_row is None:
            return None
        last = min(max_row or min_row, self._max_row[place.sheet], min_row + limit - 1)
        return [cells.get((row, min_col)) for row in range(min_row, max(last, min_row) + 1)]

    # --- parts --------------------------------------------------------------------------------

    def _sheet(self, name: str) -> dict[tuple[int, int], CellValue] | None:
        if name not in self._cells:
            part = self._sheet_parts.get(name)
            if part is None:
                return None
            self._cells[name], self._max_row[name] = self._read_cells(self._package.xml(part))
        return self._cells[name]

    def _read_cells(self, root: etree._Element) -> tuple[dict[tuple[int, int], CellValue], int]:
        """The sheet's non-empty cells by (row, column), and the last row holding any cell."""
        cells: dict[tuple[int, int], CellValue] = {}
        last = 0
        data = root.find(_x("sheetData"))
        for cell in data.iter(_x("c")) if data is not None else ():
            found = _CELL_REF.match(cell.get("r", ""))
            if found is None:
                continue
            row = int(found.group(2))
            last = max(last, row)
            value = self._value(cell)
            if value is not None:
                cells[(row, _column_number(found.group(1)))] = value
        return cells, last

    def _value(self, cell: etree._Element) -> CellValue:
        kind = cell.get("t", "n")
        if kind == "inlineStr":
            inline = cell.find(_x("is"))
            return None if inline is None else _string_text(inline)
        raw = cell.findtext(_x("v"))
        if raw is None:
            return None
        if kind == "s":
            strings = self._shared_strings()
            index = int(raw) if raw.isdigit() else -1
            return strings[index] if 0 <= index < len(strings) else None
        if kind in ("str", "e"):
            return raw
        if kind == "b":
            return raw.strip() in ("1", "true")
        if kind == "d":
            try:
                return datetime.fromisoformat(raw.strip().rstrip("Z"))
            except ValueError:
                return raw
        return self._number(raw, cell.get("s"))

    def _number(self, raw: str, style: str | None) -> CellValue:
        try:
            number: int | float = int(raw) if re.fullmatch(r"-?\d+", raw.strip()) else float(raw)
        except ValueError:
            return raw
        if style is not None and style.isdigit() and int(style) in self._date_styles():
            try:
                return from_excel(number)
            except (ValueError, OverflowError):
                return number
        return number

    def _shared_strings(self) -> list[str]:
        if self._strings is None:
            self._strings = []
            if self._strings_part and self._package.has(self._strings_part):
                root = self._package.xml(self._strings_part)
                self._strings = [_string_text(si) for si in root.iterchildren(_x("si"))]
        return self._strings

    def _date_styles(self) -> frozenset[int]:
        """Indexes of the cell formats (`cellXfs`) whose number format shows a date."""
        if self._dates is None:
            self._dates = frozenset()
            if self._styles_part and self._package.has(self._styles_part):
                self._dates = _date_styles(self._package.xml(self._styles_part))
        return self._dates


def _date_styles(root: etree._Element) -> frozenset[int]:
    formats = dict(BUILTIN_FORMATS)
    for fmt in root.iter(_x("numFmt")):
        code = fmt.get("numFmtId", "")
        if code.isdigit():
            formats[int(code)] = fmt.get("formatCode", "")
    found = set()
    xfs = root.find(_x("cellXfs"))
    for index, xf in enumerate(xfs.iterchildren(_x("xf")) if xfs is not None else ()):
        code = xf.get("numFmtId", "0")
        if code.isdigit() and is_date_format(formats.get(int(code), "")):
            found.add(index)
    return frozenset(found)


def _string_text(element: etree._Element) -> str:
    """A rich or plain string's text (`t` directly or in runs), leaving out phonetic runs."""
    parts = [t.text or "" for t in element.iter(_x("t"))
             if next(t.iterancestors(_x("rPh")), None) is None]
    return "".join(parts)


def _column_number(letters: str) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - 64
    return number


def _place(reference: str) -> NamedPlace | None:
    """`'Form'!$B$5` or `Form!$A$1:$A$9` (first area of a list); None for #REF! and formulas."""
    first = reference.split(",", 1)[0].strip()
    if "!" not in first or "#REF" in first.upper():
        return None
    sheet, cells = first.rsplit("!", 1)
    if sheet.startswith("'") and sheet.endswith("'"):
        sheet = sheet[1:-1].replace("''", "'")
    if not re.fullmatch(r"\$?[A-Z]{1,3}\$?\d+(:\$?[A-Z]{1,3}\$?\d+)?", cells.strip()):
        return None
    return NamedPlace(sheet, cells.strip())

def set_text(cell: Cell, value: str) -> None:
    """Put text in a cell as text, never as a formula (=, +, -, @ are kept literally)."""
    cell.value = value
    cell.data_type = "s"
    if value.startswith(FORMULA_START):
        cell.quotePrefix = True  # Excel keeps it as text when the cell is edited
