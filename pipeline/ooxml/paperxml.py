"""The few WordprocessingML details papers need below python-docx: fonts and the document
language, shading, table header rows, fixed table layout, and, after rendering, renumbering the
`w:id`s that a docxtpl loop duplicated and describing the chart.

The papers above pass python-docx objects (a document, a style, a table) and plain values; only
this module reaches into their XML.
"""

from __future__ import annotations

from collections import defaultdict, deque

from docx.document import Document
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.styles.style import BaseStyle
from docx.table import Table, _Cell, _Row
from lxml import etree

# A start and its end share one id; both get the same new one.
PAIRED = {
    qn("w:bookmarkStart"): qn("w:bookmarkEnd"),
    qn("w:permStart"): qn("w:permEnd"),
    qn("w:moveFromRangeStart"): qn("w:moveFromRangeEnd"),
    qn("w:moveToRangeStart"): qn("w:moveToRangeEnd"),
}
# These point at another part (comments, notes): their ids must not change.
REFERENCES = {
    qn("w:commentRangeStart"),
    qn("w:commentRangeEnd"),
    qn("w:commentReference"),
    qn("w:footnoteReference"),
    qn("w:endnoteReference"),
}


def finish_rendered(document: Document, picture_description: str | None, picture_title: str = "") -> None:
    """After docxtpl rendered `document`: ids made unique again, and alternative text on every
    picture that has none (when `picture_description` is given)."""
    body = document.element.body
    renumber_ids(body)
    if picture_description is not None:
        describe_pictures(body, picture_description, picture_title)


def renumber_ids(root: etree._Element) -> int:
    """Give each repeated id a new number (bookmark pairs stay paired); returns how many changed.

    Ids are the `w:id` attribute (bookmarks, revisions) and the `w:id` element's `w:val` (content
    controls). References into other parts (comments, notes) keep theirs.
    """
    carriers = [(el, _id_attribute(el)) for el in root.iter() if _id_attribute(el)]
    numbers = [int(v) for el, attr in carriers if (v := el.get(attr) or "").lstrip("-").isdigit()]
    next_id = max(numbers, default=0) + 1
    ends = set(PAIRED.values())
    seen: set[tuple[str, str]] = set()
    pending: dict[tuple[str, str], deque[str]] = defaultdict(deque)
    changed = 0
    for el, attr in carriers:
        old = el.get(attr) or ""
        if el.tag in ends:
            queue = pending[(el.tag, old)]
            if queue:
                changed += queue[0] != old
                el.set(attr, queue.popleft())
            continue
        if (_family(el.tag), old) in seen:
            el.set(attr, str(next_id))
            next_id, changed = next_id + 1, changed + 1
        seen.add((_family(el.tag), old))
        if el.tag in PAIRED:
            pending[(PAIRED[el.tag], old)].append(el.get(attr) or "")
    _unique_bookmark_names(root)
    return changed


def _id_attribute(el: etree._Element) -> str | None:
    """The attribute holding `el`'s id, or None when it has none or must keep it."""
    if not isinstance(el.tag, str) or el.tag in REFERENCES:
        return None
    if el.tag == qn("w:id"):
        return qn("w:val")
    return qn("w:id") if el.get(qn("w:id")) is not None else None


def _family(tag: str) -> str:
    """Bookmarks have their own ids; every other kind shares one numbering."""
    return tag if tag == qn("w:bookmarkStart") else "other"


def _unique_bookmark_names(root: etree._Element) -> None:
    names: dict[str, int] = {}
    for el in root.iter(qn("w:bookmarkStart")):
        name = el.get(qn("w:name"))
        if name is None:
            continue
        names[name] = names.get(name, 0) + 1
        if names[name] > 1:
            el.set(qn("w:name"), f"{name}_{names[name]}"[:40])


# --- building tables ---------------------------------------------------------------------------


def shade(cell: _Cell, fill: str) -> None:
    shading = OxmlElement("w:shd")
    shading.set(qn("w:val"), "clear")
    shading.set(qn("w:color"), "auto")
    shading.set(qn("w:fill"), fill)
    cell._tc.get_or_add_tcPr().insert_element_before(
        shading,
        "w:noWrap",
        "w:tcMar",
        "w:textDirection",
        "w:tcFitText",
        "w:vAlign",
        "w:hideMark",
        "w:headers",
        "w:cellIns",
        "w:cellDel",
        "w:cellMerge",
        "w:tcPrChange",
    )


def repeat_as_header(row: _Row) -> None:
    """Word repeats this row at the top of each page the table runs onto."""
    row._tr.get_or_add_trPr().insert_element_before(
        _on("w:tblHeader"), "w:tblCellSpacing", "w:jc", "w:hidden", "w:ins", "w:del", "w:trPrChange"
    )


def keep_row_whole(row: _Row) -> None:
    """The row is never split across two pages."""
    row._tr.get_or_add_trPr().insert_element_before(
        _on("w:cantSplit"),
        "w:trHeight",
        "w:tblHeader",
        "w:tblCellSpacing",
        "w:jc",
        "w:hidden",
        "w:ins",
        "w:del",
        "w:trPrChange",
    )


def cell_margins(table: Table, twips: int) -> None:
    margins = OxmlElement("w:tblCellMar")
    for side in ("top", "left", "bottom", "right"):
        edge = OxmlElement(f"w:{side}")
        edge.set(qn("w:w"), str(twips if side in ("left", "right") else twips // 2))
        edge.set(qn("w:type"), "dxa")
        margins.append(edge)
    table._tbl.tblPr.insert_element_before(
        margins, "w:tblLook", "w:tblCaption", "w:tblDescription", "w:tblPrChange"
    )


PPR_AFTER_BORDER = ("w:shd", "w:tabs", "w:suppressAutoHyphens", "w:kinsoku", "w:wordWrap",
                    "w:overflowPunct", "w:topLinePunct", "w:autoSpaceDE", "w:autoSpaceDN", "w:bidi",
                    "w:adjustRightInd", "w:snapToGrid", "w:spacing", "w:ind", "w:contextualSpacing",
                    "w:mirrorIndents", "w:suppressOverlap", "w:jc", "w:textDirection", "w:textAlignment",
                    "w:textboxTightWrap", "w:outlineLvl", "w:divId", "w:cnfStyle", "w:rPr", "w:sectPr",
                    "w:pPrChange")


def box_paragraph(paragraph, colour: str = "000000", fill: str | None = None) -> None:  # type: ignore[no-untyped-def]
    """A border round the paragraph (and shading): consecutive boxed paragraphs are drawn as one box
    by Word and LibreOffice, so a box of headed text needs no layout table."""
    ppr = paragraph._p.get_or_add_pPr()
    borders = OxmlElement("w:pBdr")
    for side in ("top", "left", "bottom", "right"):
        edge = OxmlElement(f"w:{side}")
        for name, value in (("w:val", "single"), ("w:sz", "6"), ("w:space", "4"), ("w:color", colour)):
            edge.set(qn(name), value)
        borders.append(edge)
    ppr.insert_element_before(borders, *PPR_AFTER_BORDER)
    if fill:
        shading = OxmlElement("w:shd")
        for name, value in (("w:val", "clear"), ("w:color", "auto"), ("w:fill", fill)):
            shading.set(qn(name), value)
        ppr.insert_element_before(shading, *PPR_AFTER_BORDER[1:])


def describe_table(table: Table, caption: str) -> None:
    """The table's title (Word: Table Properties > Alt Text), read out by screen readers in Word."""
    title = OxmlElement("w:tblCaption")
    title.set(qn("w:val"), caption)
    table._tbl.tblPr.insert_element_before(title, "w:tblDescription", "w:tblPrChange")


def _on(tag: str) -> etree._Element:
    element = OxmlElement(tag)
    element.set(qn("w:val"), "true")
    return element


# --- accessibility -----------------------------------------------------------------------------

WP_DOCPR = "{http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing}docPr"


def set_font_everywhere(style: BaseStyle, font: str) -> None:
    """`style` in `font` for East Asian text too (python-docx sets the Latin font only)."""
    style.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), font)


def set_language(document: Document, language: str) -> None:
    """The document's language (docDefaults): Word's proofing and the PDF's /Lang follow it."""
    styles_root = document.styles.element
    defaults = styles_root.find(qn("w:docDefaults"))
    if defaults is None:
        defaults = OxmlElement("w:docDefaults")
        styles_root.insert(0, defaults)
    rpr_default = defaults.find(qn("w:rPrDefault"))
    if rpr_default is None:
        rpr_default = OxmlElement("w:rPrDefault")
        defaults.insert(0, rpr_default)
    rpr = rpr_default.find(qn("w:rPr"))
    if rpr is None:
        rpr = OxmlElement("w:rPr")
        rpr_default.append(rpr)
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        rpr.append(lang)
    for attribute in ("w:val", "w:eastAsia", "w:bidi"):
        lang.set(qn(attribute), language)
    for style_lang in styles_root.iter(qn("w:lang")):  # styles that name another language follow too
        if style_lang is not lang:
            for attribute in ("w:val", "w:eastAsia"):
                if style_lang.get(qn(attribute)):
                    style_lang.set(qn(attribute), language)


def describe_pictures(body: etree._Element, description: str, title: str = "") -> int:
    """Alternative text on every picture in `body` without one; returns how many were described."""
    described = 0
    for doc_pr in body.iter(WP_DOCPR):
        if not (doc_pr.get("descr") or "").strip():
            doc_pr.set("descr", description)
            if title:
                doc_pr.set("title", title)
            described += 1
    return described


def plain_heading_font(style: BaseStyle, font: str) -> None:
    """A heading style in `font`, black: the theme's font and colour no longer override it."""
    rpr = style.element.find(qn("w:rPr"))
    if rpr is None:
        return
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is not None:
        for attribute in list(fonts.attrib):
            if attribute.endswith("Theme"):
                del fonts.attrib[attribute]
        for attribute in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
            fonts.set(qn(attribute), font)
    color = rpr.find(qn("w:color"))
    if color is not None:
        for attribute in list(color.attrib):
            if attribute.endswith("Color") or attribute.endswith("Tint") or attribute.endswith("Shade"):
                del color.attrib[attribute]
        color.set(qn("w:val"), "000000")


def add_field(paragraph, instruction: str, placeholder: str = "1", *,  # type: ignore[no-untyped-def]
              size_pt: float | None = None) -> None:
    """A Word field (PAGE, NUMPAGES) at the end of `paragraph`; Word and LibreOffice fill it in.

    `size_pt`: the number's font size, so it matches the words around it (a field's run is not one
    of the paragraph's runs, and would otherwise take the style's size).
    """
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), f" {instruction} ")
    run = OxmlElement("w:r")
    if size_pt is not None:
        properties = OxmlElement("w:rPr")
        for name in ("w:sz", "w:szCs"):
            size = OxmlElement(name)
            size.set(qn("w:val"), str(round(size_pt * 2)))
            properties.append(size)
        run.append(properties)
    text = OxmlElement("w:t")
    text.text = placeholder
    run.append(text)
    field.append(run)
    paragraph._p.append(field)
