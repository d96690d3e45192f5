"""Returned forms that arrive as PDF: real form fields (AcroForm) read with pypdf, or the flat PDF
a member saved from the filled Word form, read from its printed layout with pdfplumber.

The flat layout is `pipeline.generate.word`'s, printed: per section a two-column table "label |
answer"; numbered questions whose answer cell holds small bold part labels, each followed by its
answer; tick tables "<label> | Tick"; table fields whose header row holds the column labels.
Measured on LibreOffice 7.4's PDF export: no form fields and no custom properties (the footer
"form <id>, version <N>" is what identifies the form); labels in Liberation Sans Bold, answers in
the regular face; MS Gothic is replaced by DejaVu Sans and the tick boxes come out as U+2610 and
U+2612, as typed; a table row may break across pages (the rest is the first row of the next
page's first table); a table field's header row is repeated on the next page.

AcroForm names: a field's id; `<id>.<choice value>` for each tick box (or a radio group named
`<id>`); `<id>.<column id>.<n>` (n from 1) for row n of a table field. Same-named AcroForm fields
share one value, so repeated names cannot hold a table.
"""

from __future__ import annotations

import io
import re
import struct
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pdfplumber
from pdfminer.pdfexceptions import PSException
from pdfplumber.page import Page
from pdfplumber.utils.exceptions import PdfminerException
from pypdf import PdfReader
from pypdf.errors import PyPdfError
from pypdf.generic import NameObject

from pipeline.core.definitions import Column, Field, FieldType, FormDefinition, Group
from pipeline.core.errors import UnknownForm, UnreadableFile
from pipeline.core.identity import PROP_FORM_ID, PROP_TOKEN, PROP_VERSION
from pipeline.core.values import RawValue, RawValues
from pipeline.generate.layout import INLINE_TICKS_MAX
from pipeline.ooxml.wordml import PLACEHOLDERS

T = TypeVar("T")
MAX_PAGES = 50
FOOTER = re.compile(r"\bform ([a-z][a-z0-9-]*), version (\d+)\b")
NUMBERING = re.compile(r"^[a-z]?\d+[a-z]?(\([a-z]\))?\.\s+")
TICKED = frozenset("\u2612\u2611\u2713\u2714\u2717\u2718\u25a0Xx")  # ☒ ours; ☑ ✓ ✔ ✗ ✘ ■ X typed
UNTICKED = frozenset("\u2610\u25a1")  # ☐ ours, □
SPACE_WIDTH = 3.0  # a space in 10 pt Liberation Sans or Arial is 2.8 pt wide
#: What pypdf and pdfminer raise on a damaged file (they also raise plain built-in errors).
PDF_ERRORS = (PyPdfError, PSException, PdfminerException, ValueError, KeyError, TypeError,
              IndexError, AttributeError, RecursionError, OverflowError, EOFError, zlib.error,
              struct.error)
DAMAGED = ("This PDF is damaged or is not really a PDF, so it cannot be read. Please save the "
           "form as a PDF again (or send the Word form itself) and send it again.")
SCANNED = ("This PDF has no text in it (it may be a scan or a photo of the form), so its answers "
           "cannot be read. Please send the Word form itself, or a PDF saved from it.")
UNCLEAR_TICKS = ("The tick boxes in this PDF cannot be read. Please send the Word form itself "
                 "instead.")


# --- public API ----------------------------------------------------------------------------------


def pdf_identity(data: bytes) -> tuple[str, int] | None:
    """The (form id, version) the PDF carries: form fields, document info, else the footer."""
    reader = open_pdf(data)
    props = _carried_properties(reader)
    form_id, version = props.get(PROP_FORM_ID, "").strip(), props.get(PROP_VERSION, "").strip()
    if form_id and version.isdigit():
        return form_id, int(version)
    found = FOOTER.findall(_guarded(lambda: reader.pages[0].extract_text() or ""))
    return (found[-1][0], int(found[-1][1])) if found else None


def pdf_token(data: bytes) -> str | None:
    """The recipient token the PDF carries in a form field or its document info, if any."""
    token = _carried_properties(open_pdf(data)).get(PROP_TOKEN, "").strip()
    return token or None


def read_pdf_values(data: bytes, definition: FormDefinition) -> RawValues:
    """The raw values (see `pipeline.core.values`) of `definition`'s fields in a returned PDF."""
    reader = open_pdf(data)
    fields = _guarded(lambda: reader.get_fields() or {})
    from_fields = acroform_values(fields, definition)
    if from_fields is not None:
        return from_fields
    rows = _guarded(lambda: _read_layout(data, definition.marking))
    values = FlatReader(definition).read(rows)
    if not values:
        raise UnknownForm(f"This PDF does not look like the {definition.title}: none of its "
                          "questions were found. Please fill in the form you were sent and "
                          "return that.")
    return values


def open_pdf(data: bytes) -> PdfReader:
    """A pypdf reader for a returned file, refusing what we cannot or should not read."""
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        _check_password(reader)
        pages = len(reader.pages)
    except PDF_ERRORS as exc:
        raise UnreadableFile(DAMAGED) from exc
    if pages > MAX_PAGES:
        raise UnreadableFile(f"This PDF has {pages} pages: too long to be one of our forms. "
                             "Please send just the completed form.")
    return reader


def _check_password(reader: PdfReader) -> None:
    """Refuse a PDF that needs a password to open (one that only restricts printing is fine)."""
    if not reader.is_encrypted:
        return
    try:
        opened = reader.decrypt("")
    except PyPdfError:
        opened = 0
    if not opened:
        raise UnreadableFile("This PDF is password-protected, so it cannot be read. "
                             "Please send it without a password.")


def _guarded(work: Callable[[], T]) -> T:
    """Run `work()`, turning a library's complaint about a damaged file into UnreadableFile."""
    try:
        return work()
    except PDF_ERRORS as exc:
        raise UnreadableFile(DAMAGED) from exc


def _carried_properties(reader: PdfReader) -> dict[str, str]:
    """Identity properties from hidden form fields, else from the document information."""
    props: dict[str, str] = {}
    info = _guarded(lambda: reader.metadata) or {}
    fields = _guarded(lambda: reader.get_fields()) or {}
    for name in (PROP_FORM_ID, PROP_VERSION, PROP_TOKEN):
        value = fields[name].get("/V") if name in fields else info.get(f"/{name}")
        if value is not None:
            props[name] = str(value)
    return props


# --- AcroForm ------------------------------------------------------------------------------------


def acroform_values(fields: Mapping[str, Any], definition: FormDefinition) -> RawValues | None:
    """Values from real PDF form fields named after `definition`'s fields; None if none are."""
    if not set(fields) & set(_acroform_names(definition)):
        return None
    values: RawValues = {}
    for f in definition.fields:
        if f.is_table:
            value: RawValue = _acroform_rows(fields, f)
        elif f.shown_as_ticks:
            value = _acroform_ticks(fields, f)
        else:
            value = _choice_value(f, _field_text(fields[f.id])) if f.id in fields else None
        if value is not None:
            values[f.id] = value
    return values


def _acroform_names(definition: FormDefinition) -> Iterator[str]:
    for f in definition.fields:
        yield f.id
        if f.shown_as_ticks:
            yield from (f"{f.id}.{c.value}" for c in f.choices)
        yield from (f"{f.id}.{c.id}.1" for c in f.columns)


def _acroform_rows(fields: Mapping[str, Any], f: Field) -> list[dict[str, str]] | None:
    rows = []
    while any(f"{f.id}.{c.id}.{len(rows) + 1}" in fields for c in f.columns):
        n = len(rows) + 1
        rows.append({c.id: _text_or_blank(fields.get(f"{f.id}.{c.id}.{n}")) for c in f.columns})
    return rows or None


def _acroform_ticks(fields: Mapping[str, Any], f: Field) -> list[str] | None:
    boxes = {c.value: fields[f"{f.id}.{c.value}"] for c in f.choices if f"{f.id}.{c.value}" in fields}
    if boxes:
        return [value for value, box in boxes.items() if _is_on(box)]
    if f.id in fields:  # a radio group, or one list, named after the field
        chosen = _choice_value(f, _field_text(fields[f.id]))
        return [chosen] if chosen in {c.value for c in f.choices} else []
    return None


def _text_or_blank(found: Any) -> str:
    return _field_text(found) if found is not None else ""


def _field_text(found: Any) -> str:
    value = found.get("/V")
    if value is None or str(value) == "/Off":
        return ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, NameObject):  # a radio group's or list's chosen state: /high
        return str(value)[1:]
    return str(value).strip()


def _is_on(box: Any) -> bool:
    """A check box is ticked in any state but /Off: its on-state is often /On, /1 or a name."""
    state = box.get("/V")
    if state is None:
        kids = [kid.get_object() for kid in box.get("/Kids", ())]
        state = next((kid["/AS"] for kid in kids if "/AS" in kid), None)
    return state is not None and str(state) not in ("/Off", "Off", "")


# --- the flat layout: pages to rows of cells of lines -------------------------------------------


@dataclass(frozen=True)
class Line:
    """One line of text in a table cell, with what tells a label from an answer."""

    text: str
    x1: float  # where the line ends
    first_word: float  # the width of its first word: would it have fitted on the line above?
    right: float  # where the cell's text area ends
    bold: bool


@dataclass
class Row:
    """One table row as printed: its cells' lines, which table it is in, and where on the page."""

    cells: list[list[Line]]
    table: int
    starts_page: bool = False  # the first row on a page: may be the rest of the row before
    ends_page: bool = False  # the last row on a page: its label may be cut short


def _read_layout(data: bytes, marking: str) -> list[Row]:
    rows: list[Row] = []
    tables = 0
    with pdfplumber.open(io.BytesIO(data), password="") as pdf:
        if not any(page.chars for page in pdf.pages):
            raise UnreadableFile(SCANNED)
        for page in pdf.pages:
            found = _page_rows(page, marking, tables)
            tables += len({row.table for row in found})
            rows.extend(found)
    return rows


def _page_rows(page: Page, marking: str, first_table: int) -> list[Row]:
    rows = []
    found = page.find_tables()
    for index, table in enumerate(found):
        for row in table.rows:
            cells = [_cell_lines(page, bbox) for bbox in row.cells if bbox is not None]
            rows.append(Row(cells, first_table + index))
    if rows:
        rows[0].starts_page = not _text_above(page, found[0].bbox[1], marking)
        rows[-1].ends_page = True
    return rows


def _text_above(page: Page, top: float, marking: str) -> bool:
    if top <= 1:
        return False
    lines = page.within_bbox((0, 0, page.width, top)).extract_text_lines()
    return any(line["text"].strip() not in ("", marking) for line in lines)


def _cell_lines(page: Page, bbox: tuple[float, float, float, float]) -> list[Line]:
    found = page.filter(lambda obj: _centred_in(obj, bbox)).extract_text_lines(return_chars=True)
    if not found:
        return []
    padding = max(min(line["x0"] for line in found) - bbox[0], 0)
    return [_line(line, bbox[2] - padding) for line in found]


def _centred_in(obj: dict[str, Any], bbox: tuple[float, float, float, float]) -> bool:
    """A character belongs to the cell its middle is in (its box may poke out of the cell)."""
    if obj.get("object_type") != "char":
        return False
    x, y = (obj["x0"] + obj["x1"]) / 2, (obj["top"] + obj["bottom"]) / 2
    return bbox[0] <= x <= bbox[2] and bbox[1] <= y <= bbox[3]


def _line(found: dict[str, Any], right: float) -> Line:
    chars = [c for c in found["chars"] if c["text"].strip()]
    text = found["text"].strip()
    word = len(text.split()[0]) if text else 0
    width = chars[word - 1]["x1"] - chars[0]["x0"] if 0 < word <= len(chars) else 0.0
    bold = sum("bold" in c["fontname"].lower() for c in chars) * 2 > len(chars)
    return Line(text, found["x1"], width, right, bold)


# --- the flat layout: rows to values -------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    """Where the Word layout puts one item of the definition, and how its rows read."""

    kind: str  # "answer" (label | answer), "parts" (a numbered question), "ticks", "table"
    keys: tuple[str, ...]  # the bold text it starts with: its label, or its header row's cells
    fields: tuple[Field, ...]
    part_keys: tuple[str, ...] = ()  # "parts": the small label above each field's answer


@dataclass
class Reading:
    """A place found in the PDF, the rows that belong to it so far, and the last row seen."""

    place: Place
    last: Row
    rows: list[Row] = field(default_factory=list)


class FlatReader:
    """Reads the rows of a flat PDF against the places `definition` has in the Word layout."""

    def __init__(self, definition: FormDefinition) -> None:
        self.places = list(places(definition))
        self.found: set[int] = set()

    def read(self, rows: Sequence[Row]) -> RawValues:
        values: RawValues = {}
        current: Reading | None = None
        for row in rows:
            place = self._match(row)
            if place is not None:
                if current:
                    values.update(_values(current))
                current = Reading(place, row, [] if place.kind in ("ticks", "table") else [row])
            elif current is not None:
                self._continue(current, row)
        if current:
            values.update(_values(current))
        return values

    def _continue(self, current: Reading, row: Row) -> None:
        """A row that starts nothing: more of a table, or the rest of a row cut by the page."""
        carried_over = row.starts_page and current.last.ends_page
        if current.place.kind in ("ticks", "table"):
            if row.table != current.last.table and not carried_over:
                return
            if _bold_keys(row) != current.place.keys:  # else its header row, repeated
                current.rows.append(row)
            current.last = row
        elif carried_over:
            last = current.last
            for lines, more in zip(last.cells, row.cells, strict=False):
                lines.extend(more)
            last.ends_page = row.ends_page

    def _match(self, row: Row) -> Place | None:
        keys = _bold_keys(row)
        if not keys or not keys[0]:
            return None
        for index, place in enumerate(self.places):
            if index not in self.found and _starts(place, keys, row):
                self.found.add(index)
                return place
        return None


def _starts(place: Place, keys: tuple[str, ...], row: Row) -> bool:
    if place.kind in ("ticks", "table"):
        return keys == place.keys
    if keys[0] == place.keys[0]:
        return True
    return row.ends_page and len(keys[0]) > 8 and place.keys[0].startswith(keys[0])


def places(definition: FormDefinition) -> Iterator[Place]:
    """The definition's items as `pipeline.generate.word` lays them out, in document order."""
    for section in definition.sections:
        for item in section.items:
            if isinstance(item, Group):
                parts = tuple(_key(_part_label(f, item.number)) for f in item.fields)
                yield Place("parts", (_key(f"{item.number}. {item.label}"),), item.fields, parts)
            elif item.is_table:
                yield Place("table", tuple(_key(c.label) for c in item.columns), (item,))
            elif item.shown_as_ticks and any(len(c.label) > INLINE_TICKS_MAX for c in item.choices):
                yield Place("ticks", (_key(_numbered(item)), "tick"), (item,))
            elif item.shown_as_ticks:
                part = _key(_part_label(item, item.number))
                yield Place("parts", (_key(_numbered(item)),), (item,), (part,))
            else:
                yield Place("answer", (_key(_numbered(item)),), (item,))


def _numbered(f: Field) -> str:
    return f"{f.number}. {f.label}" if f.number else f.label


def _part_label(f: Field, group_number: str) -> str:
    return f.label if f.number in ("", group_number) else _numbered(f)


def _key(text: str) -> str:
    """Label text as compared: lower case, one space, no ' *', no leading '2a.' or 'B3(a).'."""
    words = " ".join(text.replace("\u2019", "'").split()).lower().rstrip("*").strip()
    return NUMBERING.sub("", words)


def _bold_keys(row: Row) -> tuple[str, ...]:
    return tuple(_key(" ".join(line.text for line in cell if line.bold)) for cell in row.cells)


def _values(reading: Reading) -> RawValues:
    place = reading.place
    if place.kind == "table":
        return {place.fields[0].id: _table_rows(place.fields[0], reading.rows)}
    if place.kind == "ticks":
        return {place.fields[0].id: _tick_table(place.fields[0], reading.rows)}
    answer = reading.rows[0].cells[1] if reading.rows and len(reading.rows[0].cells) > 1 else []
    if place.kind == "answer":
        return {place.fields[0].id: _answer(place.fields[0], answer)}
    parts = _split_parts(answer, place.part_keys)
    values: RawValues = {}
    for index, f in enumerate(place.fields):
        if index in parts:
            values[f.id] = _inline_ticks(f, parts[index]) if f.shown_as_ticks else _answer(f, parts[index])
    return {k: v for k, v in values.items() if v is not None}


def _split_parts(lines: list[Line], part_keys: tuple[str, ...]) -> dict[int, list[Line]]:
    """Each part's answer lines (by part number): the lines after its small bold label."""
    answers: dict[int, list[Line]] = {}
    part, label = -1, ""
    for line in lines:
        upcoming = part_keys[part + 1] if part + 1 < len(part_keys) else None
        if line.bold and upcoming is not None:
            label = f"{label} {line.text}".strip()
            if _key(label) == upcoming:
                part, label = part + 1, ""
                answers[part] = []
                continue
            if upcoming.startswith(_key(label)):
                continue
        label = ""
        if part >= 0:
            answers[part].append(line)
    return answers


def _answer(f: Field | Column, lines: list[Line]) -> str:
    return _choice_value(f, _cell_text(f.type, lines))


def _cell_text(kind: FieldType, lines: list[Line]) -> str:
    text = _joined(lines) if kind is FieldType.LONG_TEXT else " ".join(ln.text for ln in lines)
    return _unless_placeholder(text)


def _unless_placeholder(text: str) -> str:
    text = text.strip()
    return "" if " ".join(text.split()) in PLACEHOLDERS else text


def _joined(lines: Sequence[Line]) -> str:
    """Long text: a line the cell wrapped joins with a space, a line the person broke with \\n."""
    text = ""
    for before, line in zip((None, *lines), lines, strict=False):
        if before is None:
            text = line.text
        else:
            text += (" " if _wrapped(before, line) else "\n") + line.text
    return text


def _wrapped(before: Line, line: Line) -> bool:
    """True when `line`'s first word would not have fitted at the end of the line before."""
    return before.x1 + SPACE_WIDTH + line.first_word > before.right - 1.0


def _choice_value(f: Field | Column, text: str) -> str:
    """A drop-down's shown label as its choice value when it is one, else the text as shown."""
    for choice in f.choices:
        if text.lower() in (choice.label.lower(), choice.value):
            return choice.value
    return text


def _table_rows(f: Field, rows: list[Row]) -> list[dict[str, str]]:
    found = []
    for row in rows:
        if len(row.cells) == len(f.columns):
            found.append({c.id: _answer(c, lines) for c, lines in zip(f.columns, row.cells, strict=True)})
    return found


def _tick_table(f: Field, rows: list[Row]) -> list[str]:
    labels = {_key(c.label): c.value for c in f.choices}
    chosen = []
    for row in rows:
        if len(row.cells) < 2:
            continue
        value = labels.get(_key(" ".join(line.text for line in row.cells[0])))
        glyph = " ".join(line.text for line in row.cells[1]).strip()
        if value is not None and _ticked(glyph[:1]):
            chosen.append(value)
    return chosen


def _inline_ticks(f: Field, lines: list[Line]) -> list[str] | None:
    """`HIGH ☐ MEDIUM ☒ LOW ☐`: the box after each choice's label; None if a label is missing."""
    text, at, chosen = " ".join(line.text for line in lines), 0, []
    for choice in f.choices:
        found = text.find(choice.label, at)
        if found < 0:
            return None
        at = found + len(choice.label)
        if _ticked(text[at:].lstrip()[:1]):
            chosen.append(choice.value)
    return chosen


def _ticked(glyph: str) -> bool:
    if glyph in TICKED:
        return True
    if glyph in UNTICKED:
        return False
    raise UnreadableFile(UNCLEAR_TICKS)
