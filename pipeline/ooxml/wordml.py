"""Word content controls (`w:sdt`) and legacy form fields: building them, and reading them back.

Builders return lxml elements to insert into a python-docx document; `read_controls` walks a
`word/document.xml` root and returns plain `Control` values in document order. Nothing outside
`pipeline.ooxml` sees an element.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date

from lxml import etree

from pipeline.ooxml.xml import NS, qn

TEXT_PLACEHOLDER = "Click here to enter text."
CELL_PLACEHOLDER = "Type here"
DATE_PLACEHOLDER = "Click here to pick a date."
CHOICE_PLACEHOLDER = "Choose an item."
#: Placeholder texts we (or Word itself) put in an empty control: read back as "empty".
PLACEHOLDERS = frozenset({
    TEXT_PLACEHOLDER, CELL_PLACEHOLDER, DATE_PLACEHOLDER, CHOICE_PLACEHOLDER,
    "Click or tap here to enter text.", "Click or tap to enter a date.",
    "Click here to enter a date.",
})
BOX_CHECKED, BOX_EMPTY = "\u2612", "\u2610"
BOX_FONT = "MS Gothic"
PLACEHOLDER_STYLE = "PlaceholderText"
INPUT_STYLE = "FormInput"

#: The root namespace declarations a document holding our controls needs (w14, w15 ignorable).
DOCUMENT_NSMAP = {p: NS[p] for p in ("w", "r", "mc", "w14", "w15", "wp", "a")}
IGNORABLE = "w14 w15"


@dataclass(slots=True)  # not frozen: a frozen init costs three times as much, for every control
class Control:
    """One input found in a Word document, as plain values (read, never changed: `replace`)."""

    kind: str  # "text", "date", "dropdown", "checkbox"
    tag: str | None
    alias: str | None
    text: str  # what the control shows; "" when it shows its placeholder
    checked: bool | None = None
    date: str | None = None  # YYYY-MM-DD from w:fullDate (or a legacy date field)
    value: str | None = None  # a drop-down's list-item value for the shown text
    table: int | None = None  # which body table (0-based, document order) holds it
    row: int | None = None  # the row within that table
    cell: int | None = None  # the cell within that row
    context: str = ""  # the label beside it: its paragraph, the paragraph above, or row's 1st cell
    legacy: bool = False  # a pre-2007 form field (FORMTEXT, FORMCHECKBOX, FORMDROPDOWN)
    #: Text in the control's own table cell after it, outside any control, up to the next
    #: control: the paragraphs LibreOffice pushes out of a control (one per line typed), joined
    #: by newlines, and perhaps the form's own label of the next box (the reader drops those).
    after: str = ""


# --- building ------------------------------------------------------------------------------------


def _el(tag: str, attrs: dict[str, str] | None = None, *children: etree._Element) -> etree._Element:
    element = etree.Element(qn(tag), {qn(k): v for k, v in (attrs or {}).items()}, nsmap=NS_W)
    element.extend(children)
    return element


NS_W = {"w": NS["w"]}


def _run(text: str, style: str | None = None, font: str | None = None) -> etree._Element:
    rpr = _el("w:rPr")
    if style:
        rpr.append(_el("w:rStyle", {"w:val": style}))
    if font:
        rpr.append(_el("w:rFonts", {"w:ascii": font, "w:eastAsia": font, "w:hAnsi": font}))
    t = _el("w:t")
    t.text = text
    if text != text.strip():
        t.set(qn("xml:space"), "preserve")
    return _el("w:r", None, rpr, t) if len(rpr) else _el("w:r", None, t)


def _sdt_pr(tag: str, alias: str, ids: Iterator[int], *kind: etree._Element,
            placeholder: bool) -> etree._Element:
    pr = _el("w:sdtPr")
    pr.append(_el("w:rPr", None, _el("w:rStyle", {"w:val": INPUT_STYLE})))
    pr.append(_el("w:alias", {"w:val": alias[:255]}))
    pr.append(_el("w:tag", {"w:val": tag}))
    pr.append(_el("w:id", {"w:val": str(next(ids))}))
    if placeholder:
        pr.append(_el("w:showingPlcHdr"))
    pr.extend(kind)
    return pr


def _sdt(pr: etree._Element, *runs: etree._Element) -> etree._Element:
    return _el("w:sdt", None, pr, _el("w:sdtContent", None, *runs))


def _content(value: str | None, placeholder: str) -> list[etree._Element]:
    if value:
        return [_run(line) if i == 0 else _break_run(line) for i, line in
                enumerate(value.split("\n"))]
    return [_run(placeholder, style=PLACEHOLDER_STYLE)]


def _break_run(text: str) -> etree._Element:
    run = _run(text)
    run.insert(0, _el("w:br"))
    return run


def text_control(tag: str, alias: str, ids: Iterator[int], *, value: str | None = None,
                 multiline: bool = False, placeholder: str = TEXT_PLACEHOLDER) -> etree._Element:
    """A plain-text content control; with `multiline`, an inline rich-text control instead.

    LibreOffice 7.4 moves a `w:br` out of a plain-text control when it re-saves a file, joining
    the lines; an inline rich-text control (no `w:text`) keeps its breaks (measured).
    """
    kinds = [] if multiline else [_el("w:text")]
    pr = _sdt_pr(tag, alias, ids, *kinds, placeholder=not value)
    return _sdt(pr, *_content(value, placeholder))


def date_control(tag: str, alias: str, ids: Iterator[int], *, value: date | None = None,
                 placeholder: str = DATE_PLACEHOLDER) -> etree._Element:
    """A date-picker content control showing dd/mm/yyyy (UK)."""
    attrs = {"w:fullDate": f"{value.isoformat()}T00:00:00Z"} if value else {}
    kind = _el("w:date", attrs,
               _el("w:dateFormat", {"w:val": "dd/MM/yyyy"}),
               _el("w:lid", {"w:val": "en-GB"}),
               _el("w:storeMappedDataAs", {"w:val": "dateTime"}),
               _el("w:calendar", {"w:val": "gregorian"}))
    pr = _sdt_pr(tag, alias, ids, kind, placeholder=value is None)
    shown = value.strftime("%d/%m/%Y") if value else None
    return _sdt(pr, *_content(shown, placeholder))


def dropdown_control(tag: str, alias: str, ids: Iterator[int],
                     items: Sequence[tuple[str, str]], *, value: str | None = None) -> etree._Element:
    """A drop-down list; `items` are (value, text shown) pairs."""
    kind = _el("w:dropDownList")
    for item_value, shown in items:
        kind.append(_el("w:listItem", {"w:displayText": shown, "w:value": item_value}))
    shown_now = dict(items).get(value) if value else None
    pr = _sdt_pr(tag, alias, ids, kind, placeholder=shown_now is None)
    return _sdt(pr, *_content(shown_now, CHOICE_PLACEHOLDER))


def checkbox_control(tag: str, alias: str, ids: Iterator[int], *,
                     checked: bool = False) -> etree._Element:
    """A check box (Word 2010+) that shows the box glyph and carries `w14:checked`."""
    w14 = NS["w14"]
    box = etree.Element(f"{{{w14}}}checkbox", nsmap={"w14": w14})
    for name, attrs in (
        ("checked", {"val": "1" if checked else "0"}),
        ("checkedState", {"val": "2612", "font": BOX_FONT}),
        ("uncheckedState", {"val": "2610", "font": BOX_FONT}),
    ):
        etree.SubElement(box, f"{{{w14}}}{name}", {f"{{{w14}}}{k}": v for k, v in attrs.items()})
    pr = _sdt_pr(tag, alias, ids, box, placeholder=False)
    return _sdt(pr, _run(BOX_CHECKED if checked else BOX_EMPTY, font=BOX_FONT))


def repeating_section(tag: str, alias: str, ids: Iterator[int],
                      rows: Iterable[etree._Element]) -> etree._Element:
    """Wrap table rows (`w:tr`) so Word offers a + button to add another row."""
    w15 = NS["w15"]
    items = []
    for row in rows:
        item_pr = _el("w:sdtPr", None, _el("w:id", {"w:val": str(next(ids))}))
        item_pr.append(etree.Element(f"{{{w15}}}repeatingSectionItem", nsmap={"w15": w15}))
        items.append(_sdt(item_pr, row))
    section_pr = _el("w:sdtPr", None, _el("w:alias", {"w:val": alias[:255]}),
                     _el("w:tag", {"w:val": tag}), _el("w:id", {"w:val": str(next(ids))}))
    section_pr.append(etree.Element(f"{{{w15}}}repeatingSection", nsmap={"w15": w15}))
    return _sdt(section_pr, *items)


def protection_element() -> etree._Element:
    """`w:documentProtection` for settings.xml: only form controls can be filled in."""
    return _el("w:documentProtection", {"w:edit": "forms", "w:enforcement": "1"})


def with_document_namespaces(root: etree._Element) -> etree._Element:
    """A copy of document.xml's root declaring w14/w15 and marking them ignorable."""
    nsmap = dict(root.nsmap)
    nsmap.update(DOCUMENT_NSMAP)
    fresh = etree.Element(root.tag, nsmap=nsmap)
    for key, value in root.attrib.items():
        fresh.set(key, value)
    ignorable = set((root.get(qn("mc:Ignorable")) or "").split()) | set(IGNORABLE.split())
    fresh.set(qn("mc:Ignorable"), " ".join(sorted(ignorable)))
    fresh.extend(list(root))
    return fresh


# --- filling (personalised copies, sample returns) ----------------------------------------------

Fill = str | date | bool | list[dict[str, str | date]]


def fill_controls(root: etree._Element, values: dict[str, Fill]) -> None:
    """Put values into the controls tagged with those keys.

    A str or date fills a text, date or drop-down control (a drop-down takes the text shown); a
    bool ticks a check box; a list of row dicts fills the repeating table tagged with the key,
    adding rows as Word's + button does.
    """
    tagged = _controls_by_tag(root)
    for tag, value in values.items():
        for sdt in tagged.get(tag, []):
            if isinstance(value, list):
                _fill_rows(sdt, tag, value)
            elif isinstance(value, bool):
                _set_checked(sdt, value)
            else:
                _set_text(sdt, value)


def _controls_by_tag(root: etree._Element) -> dict[str, list[etree._Element]]:
    found: dict[str, list[etree._Element]] = {}
    for sdt in root.iter(qn("w:sdt")):
        tag = _attr(sdt.find("w:sdtPr/w:tag", NS))
        if tag:
            found.setdefault(tag, []).append(sdt)
    return found


def _set_text(sdt: etree._Element, value: str | date) -> None:
    pr, content = sdt.find("w:sdtPr", NS), sdt.find("w:sdtContent", NS)
    if isinstance(value, date):
        date_kind = pr.find("w:date", NS)
        if date_kind is not None:
            date_kind.set(qn("w:fullDate"), f"{value.isoformat()}T00:00:00Z")
        value = value.strftime("%d/%m/%Y")
    placeholder = pr.find("w:showingPlcHdr", NS)
    if placeholder is not None:
        pr.remove(placeholder)
    for child in list(content):
        content.remove(child)
    content.extend(_content(str(value), ""))


def _set_checked(sdt: etree._Element, checked: bool) -> None:
    state = sdt.find("w:sdtPr/w14:checkbox/w14:checked", NS)
    if state is not None:
        state.set(f"{{{NS['w14']}}}val", "1" if checked else "0")
    glyph = sdt.find(".//w:sdtContent//w:t", NS)
    if glyph is not None:
        glyph.text = BOX_CHECKED if checked else BOX_EMPTY


def _fill_rows(section: etree._Element, tag: str, rows: list[dict[str, str | date]]) -> None:
    content = section.find("w:sdtContent", NS)
    items = content.findall("w:sdt", NS)
    while items and len(items) < len(rows):
        extra = copy.deepcopy(items[-1])
        items[-1].addnext(extra)
        items.append(extra)
    for item, row in zip(items, rows, strict=False):
        cells = _controls_by_tag(item)
        for column, text in row.items():
            for sdt in cells.get(f"{tag}.{column}", []):
                _set_text(sdt, text)


# --- reading -------------------------------------------------------------------------------------

# Reading walks every control of every return, so the hot paths look children up by a plain loop
# (`_child`): lxml's `find` parses its path each call and costs several times as much.
W_BODY, W_SDT, W_SDT_PR, W_SDT_CONTENT = qn("w:body"), qn("w:sdt"), qn("w:sdtPr"), qn("w:sdtContent")
W_P, W_T, W_BR, W_CR, W_TAB = qn("w:p"), qn("w:t"), qn("w:br"), qn("w:cr"), qn("w:tab")
W_TBL, W_TR, W_TC, W_FLDCHAR = qn("w:tbl"), qn("w:tr"), qn("w:tc"), qn("w:fldChar")
W_TAG, W_ALIAS, W_PLACEHOLDER, W_DATE = qn("w:tag"), qn("w:alias"), qn("w:showingPlcHdr"), qn("w:date")
W_VAL, W_LIST_ITEM = qn("w:val"), qn("w:listItem")
W14_CHECKBOX, W14_CHECKED = qn("w14:checkbox"), qn("w14:checked")
W14_VAL = qn("w14:val")
_TYPE_TAGS = {
    qn("w:text"): "text", qn("w:richText"): "text", W_DATE: "date",
    qn("w:dropDownList"): "dropdown", qn("w:comboBox"): "dropdown",
    W14_CHECKBOX: "checkbox",
}
_BLOCK = {W_P, W_TBL, W_TR, W_TC}


def _child(element: etree._Element | None, tag: str) -> etree._Element | None:
    """The first child of `element` with this (Clark) tag, or None."""
    if element is not None:
        for child in element:
            if child.tag == tag:
                return child
    return None


def read_controls(root: etree._Element, places: _Places | None = None) -> list[Control]:
    """Every input in the body (content controls and legacy form fields), in document order.

    Linear in the size of the document: each table's rows and cells are numbered once.
    """
    body = _child(root, W_BODY)
    if body is None:
        return []
    places = places or _Places(body)
    places.holding = holding = set()
    found: list[Control] = []
    for element in body.iter(W_SDT, W_FLDCHAR):
        places.mark(element, holding)
        if element.tag == W_SDT:
            control = _read_sdt(element, places)
        else:
            control = _read_legacy(element, places)
        if control is not None:
            found.append(control)
    return found


def read_body(root: etree._Element) -> tuple[list[Control], list[PlainRow], list[str]]:
    """`read_controls`, `read_plain_rows` and `loose_paragraphs` of one document, its tables'
    rows and cells numbered once for all three."""
    body = _child(root, W_BODY)
    if body is None:
        return [], [], []
    places = _Places(body)
    return read_controls(root, places), read_plain_rows(root, places), loose_paragraphs(root)


class _Places:
    """Where each table, row and cell sits, numbered once (keys keep lxml's proxies alive)."""

    def __init__(self, body: etree._Element) -> None:
        self.tables = {t: i for i, t in enumerate(body.iter(W_TBL))}
        self.rows: dict[etree._Element, int] = {}
        for table in self.tables:
            for index, row in enumerate(_own_rows(table)):
                self.rows[row] = index
        self._cells: dict[etree._Element, tuple[int | None, int | None, int | None]] = {}
        #: Rows holding a control, once `read_controls` has marked them (None until then).
        self.holding: set[etree._Element] | None = None

    def mark(self, control: etree._Element, holding: set[etree._Element]) -> None:
        """Note in `holding` every row `control` sits in (its own, and those around its table)."""
        for row in control.iterancestors(W_TR):
            if row in holding:
                break  # marked by an earlier control, and so are the rows around it
            holding.add(row)

    def of(self, node: etree._Element) -> tuple[int | None, int | None, int | None]:
        cell = next(node.iterancestors(W_TC), None)
        if cell is None:
            return None, None, None
        if cell not in self._cells:  # number the whole row at its first control
            row = cell.getparent()
            while row is not None and row.tag != W_TR:
                row = row.getparent()
            if row is None:
                return None, None, None
            table = self.tables.get(next(row.iterancestors(W_TBL), None))
            for index, each in enumerate(_own_cells(row)):
                self._cells[each] = (table, self.rows.get(row), index)
        return self._cells.get(cell, (None, None, None))


def _own_rows(table: etree._Element) -> Iterator[etree._Element]:
    """A table's rows (also those wrapped in controls), not the rows of tables nested in it."""
    for row in table.iter(W_TR):
        if next(row.iterancestors(W_TBL)) is table:
            yield row


def _own_cells(row: etree._Element) -> Iterator[etree._Element]:
    for cell in row.iter(W_TC):
        if next(cell.iterancestors(W_TR)) is row:
            yield cell


def _attr(element: etree._Element | None, name: str = "w:val") -> str | None:
    return None if element is None else element.get(qn(name))


def _parts(sdt: etree._Element) -> tuple[etree._Element | None, etree._Element | None]:
    """A control's properties and content (either may be missing in a damaged file)."""
    pr = content = None
    for child in sdt:
        if child.tag == W_SDT_PR and pr is None:
            pr = child
        elif child.tag == W_SDT_CONTENT and content is None:
            content = child
    return pr, content


def _shown_text(content: etree._Element) -> str:
    """The text of a control, joining Word's split runs; line breaks become newlines.

    LibreOffice 7.4 writes a line typed after Enter as a second `w:t` in the same run (no
    `w:br`): two `w:t` side by side in one run are two lines.
    """
    parts: list[str] = []
    for paragraph_index, paragraph in enumerate(_paragraphs_or_self(content)):
        if paragraph_index:
            parts.append("\n")
        previous: etree._Element | None = None
        for node in paragraph.iter(W_T, W_BR, W_CR, W_TAB):
            tag = node.tag
            if tag == W_T:
                if previous is not None and previous.getnext() is node:
                    parts.append("\n")
                parts.append(node.text or "")
                previous = node
                continue
            previous = None
            parts.append("\t" if tag == W_TAB else "\n")
    return "".join(parts)


def _paragraphs_or_self(content: etree._Element) -> list[etree._Element]:
    paragraphs = [p for p in content.iter(W_P) if p is not content]
    return paragraphs or [content]


class _Properties:
    """What a control's `w:sdtPr` says, gathered in one look at its children (every control of
    every return passes here): its kind and the element saying so, tag, alias, placeholder."""

    __slots__ = ("kind", "typed", "tag", "alias", "placeholder")

    def __init__(self, pr: etree._Element | None) -> None:
        self.kind: str | None = None
        self.typed = self.tag = self.alias = None
        self.placeholder = False
        tagged = named = False  # the first w:tag and w:alias count, even with no value
        for child in () if pr is None else pr:
            name = child.tag
            if name == W_TAG:
                self.tag = self.tag if tagged else child.get(W_VAL)
                tagged = True
            elif name == W_ALIAS:
                self.alias = self.alias if named else child.get(W_VAL)
                named = True
            elif name == W_PLACEHOLDER:
                self.placeholder = True
            elif self.kind is None and name in _TYPE_TAGS:
                self.kind, self.typed = _TYPE_TAGS[name], child


def _read_sdt(sdt: etree._Element, places: _Places) -> Control | None:
    pr, content = _parts(sdt)
    if content is None or next(content.iter(W_SDT), None) is not None:
        return None  # it only wraps others (a repeating section, LibreOffice's outer wrapper)
    said = _Properties(pr)
    if said.kind is None and any(child.tag in _BLOCK for child in content):
        return None  # whole paragraphs, without saying what it is: not an answer box of its own
    kind = said.kind or "text"
    text = _shown_text(content)
    if kind != "checkbox" and (said.placeholder or text.strip() in PLACEHOLDERS):
        text = ""
    table, row, cell = places.of(sdt)
    return Control(
        kind=kind,
        tag=said.tag,
        alias=said.alias,
        text=text,
        checked=_checked(said.typed) if kind == "checkbox" else None,
        date=_full_date(said.typed) if kind == "date" and text else None,
        value=_list_value(pr, text) if kind == "dropdown" and pr is not None else None,
        table=table, row=row, cell=cell,
        # The label beside it matters only to reading by place, when tags are gone.
        context=_context(sdt) if said.tag is None else "",
        after=_text_after(sdt) if kind == "text" else "",
    )


def _checked(box: etree._Element | None) -> bool:
    """The check box's state from `w14:checked` (never the glyph: LibreOffice leaves it stale)."""
    state = _child(box, W14_CHECKED)
    if state is None:
        return False
    return state.get(W14_VAL, "0").lower() in ("1", "true", "on")


def _full_date(picker: etree._Element | None) -> str | None:
    full = _attr(picker, "w:fullDate")
    return full[:10] if full and len(full) >= 10 else None


def _list_value(pr: etree._Element, text: str) -> str | None:
    wanted = text.strip().casefold()
    for item in pr.iter(W_LIST_ITEM):
        if (item.get(qn("w:displayText")) or "").strip().casefold() == wanted and wanted:
            return item.get(qn("w:value"))
    return None


def _plain_text(element: etree._Element, skip: etree._Element | None = None) -> str:
    texts = []
    for t in element.iter(W_T):
        if skip is not None and any(a is skip for a in t.iterancestors(W_SDT)):
            continue
        texts.append(t.text or "")
    return " ".join("".join(texts).split())


def _context(sdt: etree._Element) -> str:
    """The label a person sees beside a control (see `Control.context`)."""
    paragraph = next(sdt.iterancestors(W_P), None)
    if paragraph is not None:
        own = _plain_text(paragraph, skip=sdt)
        if own:
            return own
        previous = paragraph.getprevious()
        if previous is not None and previous.tag == W_P:
            above = _plain_text(previous)
            if above:
                return above
    cell = next(sdt.iterancestors(W_TC), None)
    if cell is not None:
        row = next(cell.iterancestors(W_TR))
        first = next(row.iter(W_TC))
        if first is not cell:
            return _plain_text(first)
    return ""


def _text_after(sdt: etree._Element) -> str:
    """Lines in the control's cell after it, up to the next control (see `Control.after`).

    The reader, which knows the blank form, tells the form's own labels among them apart.
    """
    cell = next(sdt.iterancestors(W_TC), None)
    if cell is None:
        return ""
    anchor = sdt
    while anchor.getparent() is not cell:
        anchor = anchor.getparent()
    lines = []
    for sibling in anchor.itersiblings():
        if sibling.tag != W_P or next(sibling.iter(W_SDT, W_FLDCHAR), None) is not None:
            break
        lines.append(_shown_text(sibling))
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines)


@dataclass(frozen=True)
class PlainRow:
    """A table row holding no control (a row added in LibreOffice): its cells' text."""

    table: int
    row: int
    cells: tuple[str, ...]
    header: bool


# Paragraphs outside every control, found by libxml2 itself: a return has hundreds of
# paragraphs and only some are wanted.
_LOOSE_PARAGRAPHS = etree.XPath(".//w:p[not(ancestor::w:sdt)][.//w:t[not(ancestor::w:sdt)]]",
                                namespaces=NS)


def read_plain_rows(root: etree._Element, places: _Places | None = None) -> list[PlainRow]:
    """Every body table row without a control, in document order, with its cells' text.

    With the `places` `read_controls` filled, the rows it marked as holding a control are
    skipped without looking inside any row again."""
    body = _child(root, W_BODY)
    if body is None:
        return []
    places = places or _Places(body)
    holding = places.holding
    found = []
    for row, index in places.rows.items():  # table by table, each table's rows in order
        if row in holding if holding is not None else \
                next(row.iter(W_SDT, W_FLDCHAR), None) is not None:
            continue
        table = places.tables[next(row.iterancestors(W_TBL))]
        header = _child(_child(row, qn("w:trPr")), qn("w:tblHeader")) is not None
        cells = tuple(_cell_lines(cell) for cell in _own_cells(row))
        found.append(PlainRow(table, index, cells, header))
    return found


def _cell_lines(cell: etree._Element) -> str:
    lines = [_shown_text(p) for p in cell.iterchildren(W_P)]
    return "\n".join(lines).strip("\n")


def loose_paragraphs(root: etree._Element) -> list[str]:
    """The text of every body paragraph outside the controls (labels, notes, anything typed)."""
    body = _child(root, W_BODY)
    if body is None:
        return []
    # Every text node inside a control counts as the control's, so a paragraph inside any
    # control (an answer, or a row wrapped in a repeating section) has no loose text.
    found = []
    for paragraph in _LOOSE_PARAGRAPHS(body):
        text = _loose_text(paragraph)
        if text.strip():
            found.append(text)
    return found


def _loose_text(paragraph: etree._Element) -> str:
    """A paragraph's text outside controls, lines kept as `_shown_text` keeps them."""
    in_controls = {node for sdt in paragraph.iter(W_SDT) for node in sdt.iter(W_T, W_BR, W_CR)}
    parts: list[str] = []
    previous: etree._Element | None = None
    for node in paragraph.iter(W_T, W_BR, W_CR):
        if in_controls and node in in_controls:
            continue
        if node.tag == W_T:
            if previous is not None and previous.getnext() is node:
                parts.append("\n")
            parts.append(node.text or "")
            previous = node
        else:
            parts.append("\n")
            previous = None
    return "".join(parts)


# --- legacy form fields (FORMTEXT, FORMCHECKBOX, FORMDROPDOWN) ---------------------------------


def _read_legacy(begin: etree._Element, places: _Places) -> Control | None:
    if begin.get(qn("w:fldCharType")) != "begin":
        return None
    ff = begin.find(qn("w:ffData"))
    if ff is None:
        return None
    name = _attr(ff.find(qn("w:name"))) or None
    table, row, cell = places.of(begin)
    base = {"tag": name, "alias": None, "table": table, "row": row, "cell": cell,
            "context": _context_of_run(begin), "legacy": True}
    box = ff.find(qn("w:checkBox"))
    if box is not None:
        state = box.find(qn("w:checked"))
        if state is None:
            state = box.find(qn("w:default"))
        checked = state is not None and (_attr(state) or "1") not in ("0", "false", "off")
        return Control(kind="checkbox", text="", checked=checked, **base)
    drop = ff.find(qn("w:ddList"))
    if drop is not None:
        entries = [_attr(e) or "" for e in drop.findall("w:listEntry", NS)]
        index = int(_attr(drop.find(qn("w:result"))) or _attr(drop.find(qn("w:default"))) or 0)
        text = entries[index] if 0 <= index < len(entries) else ""
        return Control(kind="dropdown", text=text, **base)
    text = _field_result(begin)
    kind = "date" if _attr(ff.find("w:textInput/w:type", NS)) == "date" else "text"
    return Control(kind=kind, text=text, **base)


def _context_of_run(begin: etree._Element) -> str:
    paragraph = next(begin.iterancestors(qn("w:p")), None)
    return _plain_text(paragraph) if paragraph is not None else ""


def _field_result(begin: etree._Element) -> str:
    """The text between a field's `separate` and `end` marks, across runs and paragraphs."""
    run = next(begin.iterancestors(qn("w:r")))
    collecting, depth, parts = False, 0, []
    for node in run.itersiblings():
        for element in node.iter(qn("w:fldChar"), qn("w:t"), qn("w:br")):
            if element.tag == qn("w:fldChar"):
                kind = element.get(qn("w:fldCharType"))
                if kind == "begin":
                    depth += 1
                elif kind == "separate" and depth == 0:
                    collecting = True
                elif kind == "end":
                    if depth == 0:
                        return "".join(parts).replace("\u2002" * 5, "").strip()
                    depth -= 1
            elif collecting:
                parts.append("\n" if element.tag == qn("w:br") else element.text or "")
    return "".join(parts).strip()
