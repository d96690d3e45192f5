"""A `.docx` package's main document: fill controls for a personal copy, read controls back, and
the blank form's printable copy."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

from lxml import etree

from pipeline.core.errors import UnknownForm
from pipeline.ooxml import zipcopy
from pipeline.ooxml.package import (
    CUSTOM_PART,
    Package,
    custom_properties_xml,
    replace_parts,
    with_custom_properties,
)
from pipeline.ooxml.wordml import (
    Control,
    Fill,
    PlainRow,
    fill_controls,
    loose_paragraphs,
    read_body,
)
from pipeline.ooxml.xml import parse_xml, qn, to_bytes

DOCUMENT = "word/document.xml"


def fill_document(docx: bytes, values: dict[str, Fill]) -> bytes:
    """A copy of `docx` whose controls tagged by `values`' keys are filled in."""
    package = Package.open(docx)
    root = package.xml(DOCUMENT)
    fill_controls(root, values)
    return replace_parts(docx, {DOCUMENT: to_bytes(root)})


PRINTED_DATE = "dd/mm/yyyy"
PRINTED_BOX = "\u2610"  # ☐, as the form's own check boxes




def printable_document(docx: bytes) -> bytes:
    """The blank form as it is printed or read as a PDF: each answer box showing its placeholder
    ("Choose an item.") shows what to write instead: a drop-down's choices, each with a box to
    tick (☐ Yes   ☐ No); a date, dd/mm/yyyy; a text box, nothing (the space to write in)."""
    package = Package.open(docx)
    root = package.xml(DOCUMENT)
    for sdt in list(root.iter(qn("w:sdt"))):
        pr, content = sdt.find(qn("w:sdtPr")), sdt.find(qn("w:sdtContent"))
        showing = pr.find(qn("w:showingPlcHdr")) if pr is not None else None
        runs = content.findall(qn("w:r")) if content is not None else []
        if showing is None or not runs:
            continue
        pr.remove(showing)
        _show(runs, _printed(pr))
    return replace_parts(docx, {DOCUMENT: to_bytes(root)})


def _printed(pr: etree._Element) -> str:
    choices = pr.find(qn("w:dropDownList"))
    if choices is None:
        choices = pr.find(qn("w:comboBox"))
    if choices is not None:
        shown = [item.get(qn("w:displayText")) or item.get(qn("w:value")) or ""
                 for item in choices.iterfind(qn("w:listItem"))]
        return "   ".join(f"{PRINTED_BOX} {text}" for text in shown if text)
    if pr.find(qn("w:date")) is not None:
        return PRINTED_DATE
    return ""


def _show(runs: list[etree._Element], text: str) -> None:
    first = runs[0]
    for extra in runs[1:]:
        extra.getparent().remove(extra)  # type: ignore[union-attr]
    properties = first.find(qn("w:rPr"))
    if properties is not None:
        for style in properties.findall(qn("w:rStyle")):
            properties.remove(style)  # not the grey placeholder style: these are real words
    for child in list(first):
        if child.tag != qn("w:rPr"):
            first.remove(child)
    if text:
        t = first.makeelement(qn("w:t"), {})
        t.text = text
        t.set(qn("xml:space"), "preserve")
        first.append(t)


MAX_TABLE_ROWS = 1_000  # far more than any form's table; past it a file is refused unread
MAX_CONTROLS = 5_000


@dataclass(frozen=True)
class WordContent:
    """What a returned Word document holds: its controls, its rows without controls (added in
    LibreOffice) and the text of every paragraph outside the controls."""

    controls: list[Control]
    plain_rows: list[PlainRow]
    loose: list[str]


def document_controls(package: Package) -> list[Control]:
    """Every input of a Word package's main document, in document order."""
    return read_content(package).controls


def read_content(package: Package) -> WordContent:
    """The main document's controls, plain rows and loose text; refused past the limits."""
    main = package.main_document() or DOCUMENT
    if not package.has(main):
        raise UnknownForm("This Word file has no main document, so it cannot be one of our forms.")
    root = package.xml(main)
    _check_size(root)
    return WordContent(*read_body(root))


def loose_text_of(document: bytes) -> list[str]:
    """The loose paragraphs (see `WordContent.loose`) of a document part's bytes."""
    return loose_paragraphs(parse_xml(document, DOCUMENT))


def _check_size(root: etree._Element) -> None:
    if _more_than(root.iter(qn("w:tr")), MAX_TABLE_ROWS):
        raise UnknownForm(
            f"This Word document has more than {MAX_TABLE_ROWS:,} table rows, far more than any "
            "of our forms, so it was not read. Please fill in the form we sent (keep only the "
            "rows you need) and send it again.")
    if _more_than(root.iter(qn("w:sdt")), MAX_CONTROLS):
        raise UnknownForm(
            f"This Word document has more than {MAX_CONTROLS:,} answer boxes, far more than any "
            "of our forms, so it was not read. Please fill in the form we sent and send it again.")


def _more_than(items: Iterator[object], limit: int) -> bool:
    return next(itertools.islice(items, limit, None), None) is not None


Shape = tuple[tuple[str, bool], ...]  # (tag, is a date) of each value a copy fills in
MAX_STENCILS = 64  # shapes come from which details a copy knows: a handful per form


@dataclass(frozen=True)
class WordMaster:
    """A ready-made form package; each copy changes only its document and custom properties."""

    package: bytes
    document: bytes
    zipped: zipcopy.PreparedZip = field(repr=False, compare=False)
    _stencils: dict[Shape, _Stencil | None] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def of(cls, blank: bytes) -> WordMaster:
        prepared = with_custom_properties(blank, {})  # so every copy only replaces parts
        return cls(prepared, Package.open(prepared).read(DOCUMENT), zipcopy.PreparedZip(prepared))

    def copy(self, values: dict[str, Fill], properties: dict[str, str]) -> bytes:
        """A copy with `values` in the tagged controls and exactly `properties` as custom ones."""
        parts = {CUSTOM_PART: custom_properties_xml(properties)}
        if values:
            parts[DOCUMENT] = self.filled(values)
        return self.zipped.rewrite(parts)

    def filled(self, values: dict[str, Fill]) -> bytes:
        """The document with `values` filled in: the same bytes `fill_controls` gives, faster."""
        stencil = self._stencil(values)
        if stencil is not None:
            return stencil.fill(values)  # type: ignore[arg-type]
        root = parse_xml(self.document, DOCUMENT)
        fill_controls(root, values)
        return to_bytes(root)

    def _stencil(self, values: dict[str, Fill]) -> _Stencil | None:
        if not all(_plain(value) for value in values.values()):
            return None
        shape = tuple(sorted((tag, isinstance(value, date)) for tag, value in values.items()))
        if shape not in self._stencils and len(self._stencils) < MAX_STENCILS:
            self._stencils[shape] = _Stencil.build(self.document, shape)
        return self._stencils.get(shape)


# --- the stencil: the filled document cut where the values go ------------------------------------

_MARK = "\ue000{}\ue001"  # private-use characters, never in a generated form
_MARK_YEAR = 1801  # stand-in dates are 1 January 1801, 1802...
_NOT_PLAIN = re.compile("[\x00-\x1f\ud800-\udfff\ufffe\uffff]")


def _plain(value: object) -> bool:
    """A value a stencil can take: a date, or one line of text with no space at either end.

    Anything else (several lines, ticks, table rows, characters XML cannot hold) changes the
    document's shape, not only its text, so it goes through `fill_controls`.
    """
    if type(value) is date:
        return True
    return type(value) is str and value != "" and value == value.strip() \
        and _NOT_PLAIN.search(value) is None


@dataclass(frozen=True)
class _Stencil:
    """The document filled with stand-ins, cut at each stand-in: a copy joins bytes."""

    pieces: tuple[bytes, ...]
    slots: tuple[tuple[str, str], ...]  # (tag, "text" | "iso" | "dmy") between the pieces

    @classmethod
    def build(cls, document: bytes, shape: Shape) -> _Stencil | None:
        stand_ins: dict[str, Fill] = {}
        marks: dict[bytes, tuple[str, str]] = {}
        for number, (tag, is_date) in enumerate(shape):
            if is_date:
                stand_ins[tag] = day = date(_MARK_YEAR + number, 1, 1)
                marks[_iso(day)], marks[_dmy(day)] = (tag, "iso"), (tag, "dmy")
            else:
                stand_ins[tag] = _MARK.format(number)
                marks[_MARK.format(number).encode()] = (tag, "text")
        if any(mark in document for mark in marks) or b"\xee\x80\x80" in document:
            return None  # a stand-in the blank already holds could not be told apart
        root = parse_xml(document, DOCUMENT)
        fill_controls(root, stand_ins)
        return cls.cut(to_bytes(root), marks)

    @classmethod
    def cut(cls, filled: bytes, marks: dict[bytes, tuple[str, str]]) -> _Stencil:
        if not marks:
            return cls((filled,), ())
        pattern = re.compile(b"|".join(re.escape(mark) for mark in marks))
        pieces, slots, start = [], [], 0
        for found in pattern.finditer(filled):
            pieces.append(filled[start:found.start()])
            slots.append(marks[found.group()])
            start = found.end()
        pieces.append(filled[start:])
        return cls(tuple(pieces), tuple(slots))

    def fill(self, values: dict[str, str | date]) -> bytes:
        shown = {tag: _shown(value) for tag, value in values.items()}
        out = [self.pieces[0]]
        for (tag, how), piece in zip(self.slots, self.pieces[1:], strict=True):
            out += (shown[tag][how], piece)
        return b"".join(out)


def _shown(value: str | date) -> dict[str, bytes]:
    """A value as the bytes `fill_controls` + `to_bytes` write for it, by place."""
    if isinstance(value, date):
        return {"iso": _iso(value), "dmy": _dmy(value)}
    text = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return {"text": text.encode("utf-8")}


def _iso(day: date) -> bytes:
    return f"{day.isoformat()}T00:00:00Z".encode()


def _dmy(day: date) -> bytes:
    return day.strftime("%d/%m/%Y").encode()
