"""Reading a returned Excel form: its identity and answers, found through the workbook's defined
names (see `pipeline.generate.layout`), straight from the file's parts without openpyxl.
"""

from __future__ import annotations

from datetime import date, datetime, time

from pipeline.core.definitions import Choice, Field, FieldType, FormDefinition
from pipeline.core.errors import RejectedFile, UnknownForm, UnreadableFile, UnsafeFile
from pipeline.core.identity import FormIdentity
from pipeline.core.values import RawValue, RawValues
from pipeline.generate.layout import TICKED, input_name
from pipeline.ooxml.package import Package, count_sheet_cells, read_custom_properties
from pipeline.ooxml.sheetml import CellValue, WorkbookCells

MAX_ROWS_PER_NAME = 1_000  # read at most this many rows of one named input (a table column)
MAX_CELLS = 200_000  # a returned workbook with more cells holding anything is refused unread


class _NameGone(Exception):
    """A defined name the definition expects is missing from the returned workbook."""


class ReturnedWorkbook:
    """A returned workbook read once from its parts: identity, defined names, and answers."""

    def __init__(self, cells: WorkbookCells, properties: dict[str, str]) -> None:
        self._book = cells
        self._places = cells.names()
        self.identity: FormIdentity | None = FormIdentity.from_properties(properties)
        self.names: frozenset[str] = frozenset(self._places)

    def values(self, definition: FormDefinition) -> RawValues:
        """Each field's raw value (see `pipeline.core.values`); absent when its names are gone."""
        found: RawValues = {}
        for f in definition.fields:
            try:
                found[f.id] = self._field(f)
            except _NameGone:
                continue
        return found

    def _field(self, f: Field) -> RawValue:
        if f.is_table:
            return self._table(f)
        if f.type is FieldType.MULTI_CHOICE:
            return self._ticked(f)
        cells = self._cells(input_name(f.id))
        return _choice_value(f.choices, cell_text(cells[0]))

    def _ticked(self, f: Field) -> list[str]:
        ticked = [c for c in f.choices if _is_ticked(self._cells(input_name(f.id, c.value))[0])]
        return [choice.value for choice in ticked]

    def _table(self, f: Field) -> list[dict[str, str]]:
        columns = {
            column: [cell_text(value) or "" for value in self._cells(input_name(f.id, column.id))]
            for column in f.columns
        }
        count = max(len(texts) for texts in columns.values())
        return [
            {c.id: _choice_value(c.choices, _at(texts, i)) or "" for c, texts in columns.items()}
            for i in range(count)
        ]

    def _cells(self, name: str) -> list[CellValue]:
        """The values a defined name covers, top to bottom (rows that exist, at most
        `MAX_ROWS_PER_NAME`); `_NameGone` when the name or its sheet is missing."""
        place = self._places.get(name)
        values = None if place is None else self._book.column(place, MAX_ROWS_PER_NAME)
        if not values:
            raise _NameGone(name)
        return values


def open_workbook(data: bytes, package: Package | None = None) -> ReturnedWorkbook:
    """Read a returned workbook's parts directly (already through the safety preflight when
    `package` is given): no openpyxl load, so nothing it does not support is even looked at."""
    try:
        opened = package or Package.open(data)
        if opened.kind != "xlsx":
            raise UnreadableFile("not a workbook")
        return ReturnedWorkbook(WorkbookCells(opened), read_custom_properties(opened))
    except UnsafeFile:
        raise
    except (RejectedFile, ValueError, KeyError, IndexError) as exc:
        raise UnreadableFile(
            "This spreadsheet could not be opened: it may be damaged or not a finished Excel "
            "workbook. Please save it again as an Excel workbook (.xlsx) and send it again."
        ) from exc


def check_size(package: Package) -> None:
    """Refuse, unread, a workbook holding far more cells than any of our forms."""
    if count_sheet_cells(package) > MAX_CELLS:
        raise UnknownForm(
            f"This workbook holds more than {MAX_CELLS:,} cells, far more than any of "
            "our forms, so it was not read. Please fill in the Excel form we sent and send it "
            "again.")


def matches_layout(definition: FormDefinition, workbook: ReturnedWorkbook) -> bool:
    """True when the workbook has every defined name `definition`'s Excel form gives its inputs
    (used when its identity is lost)."""
    expected = set()
    for f in definition.fields:
        if f.is_table:
            expected.update(input_name(f.id, c.id) for c in f.columns)
        elif f.type is FieldType.MULTI_CHOICE:
            expected.update(input_name(f.id, c.value) for c in f.choices)
        else:
            expected.add(input_name(f.id))
    return expected <= workbook.names


def cell_text(value: object) -> str | None:
    """A cell's value as the raw text the pipeline reads (dates as YYYY-MM-DD)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else format(value, ".15g")
    return str(value).strip()


def _choice_value(choices: tuple[Choice, ...], text: str | None) -> str | None:
    """The value of the choice whose label (or value) the text is; other text as it is."""
    if not text or not choices:
        return text
    wanted = text.casefold()
    for choice in choices:
        if wanted in (choice.label.casefold(), choice.value.casefold()):
            return choice.value
    return text


def _is_ticked(value: CellValue) -> bool:
    if value is True:
        return True
    text = cell_text(value)
    return bool(text) and text.casefold() in TICKED


def _at(texts: list[str], index: int) -> str:
    return texts[index] if index < len(texts) else ""
