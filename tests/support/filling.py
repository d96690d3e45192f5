"""Fill generated forms the way people do, for tests: Word (XML edits as Word makes them) and
LibreOffice (the same file re-saved by a real soffice, which drops tags and renumbers ids).

`fill_docx(data, values)` takes values in the raw shape of `pipeline.core.values`:
text/date/number as text (a date as YYYY-MM-DD also sets the date picker), a choice as its
value, ticks as a list of values, a table as a list of row dicts (extra rows are added the way
Word's repeating section adds them).
"""

from __future__ import annotations

import copy
import shutil
import subprocess
import uuid
from datetime import date
from pathlib import Path

from lxml import etree

from tests.support.zips import read_parts, zipped

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
W14 = "http://schemas.microsoft.com/office/word/2010/wordml"
W15 = "http://schemas.microsoft.com/office/word/2012/wordml"
NS = {"w": W, "w14": W14, "w15": W15}


def q(name: str) -> str:
    prefix, local = name.split(":")
    return f"{{{NS[prefix]}}}{local}"


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def fill_docx(data: bytes, values: dict[str, object]) -> bytes:
    """A copy of the `.docx` with `values` typed in, as Word would save it."""
    parts = read_parts(data)
    root = etree.fromstring(parts["word/document.xml"])
    for field_id, value in values.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            _fill_table(root, field_id, value)
        elif isinstance(value, list):
            _tick(root, field_id, value)
        else:
            for sdt in _tagged(root, field_id):
                _set_value(sdt, str(value))
    parts["word/document.xml"] = etree.tostring(root, xml_declaration=True, encoding="UTF-8",
                                                standalone=True)
    return zipped(parts)


def resave_in_libreoffice(path: Path, out_dir: Path, fmt: str = "docx:MS Word 2007 XML") -> Path:
    """Open and save the file in real LibreOffice (headless), as a member using it would."""
    exe = soffice()
    assert exe, "LibreOffice is not installed"
    out_dir.mkdir(parents=True, exist_ok=True)
    profile = Path("/tmp") / f"lo-test-{uuid.uuid4().hex}"
    try:
        subprocess.run([exe, f"-env:UserInstallation=file://{profile}", "--headless",
                        "--convert-to", fmt, "--outdir", str(out_dir), str(path)],
                       capture_output=True, timeout=180, check=False)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    result = out_dir / (path.stem + "." + fmt.split(":")[0])
    assert result.exists(), f"LibreOffice did not write {result}"
    return result


# --- XML edits ---------------------------------------------------------------------------------


def _tagged(root: etree._Element, tag: str) -> list[etree._Element]:
    return [sdt for sdt in root.iter(q("w:sdt"))
            if sdt.find("w:sdtPr/w:tag", NS) is not None
            and sdt.find("w:sdtPr/w:tag", NS).get(q("w:val")) == tag]


def _set_value(sdt: etree._Element, text: str) -> None:
    """Replace a control's content with `text`, split over two runs as Word often does."""
    pr, content = sdt.find("w:sdtPr", NS), sdt.find("w:sdtContent", NS)
    placeholder = pr.find("w:showingPlcHdr", NS)
    if placeholder is not None:
        pr.remove(placeholder)
    date_pr = pr.find("w:date", NS)
    if date_pr is not None and _is_iso(text):
        date_pr.set(q("w:fullDate"), f"{text}T00:00:00Z")
        text = date.fromisoformat(text).strftime("%d/%m/%Y")
    drop = pr.find("w:dropDownList", NS)
    if drop is not None:
        for item in drop.findall("w:listItem", NS):
            if item.get(q("w:value")) == text:
                text = item.get(q("w:displayText"))
    for child in list(content):
        content.remove(child)
    for number, line in enumerate(text.split("\n")):
        if number:  # a new line typed in Word (Shift+Enter in a control): a w:br of its own
            etree.SubElement(etree.SubElement(content, q("w:r")), q("w:br"))
        half = max(1, len(line) // 2)
        for piece in (line[:half], line[half:]) if len(line) > 1 else (line,):
            run = etree.SubElement(content, q("w:r"))
            t = etree.SubElement(run, q("w:t"))
            t.text = piece
            t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")


def _is_iso(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _tick(root: etree._Element, field_id: str, chosen: list[str]) -> None:
    for sdt in root.iter(q("w:sdt")):
        tag = sdt.find("w:sdtPr/w:tag", NS)
        if tag is None or not (tag.get(q("w:val")) or "").startswith(field_id + "."):
            continue
        on = tag.get(q("w:val")).split(".", 1)[1] in chosen
        sdt.find("w:sdtPr/w14:checkbox/w14:checked", NS).set(f"{{{W14}}}val", "1" if on else "0")
        sdt.find(".//w:t", NS).text = "\u2612" if on else "\u2610"


def _fill_table(root: etree._Element, field_id: str, rows: list[dict[str, str]]) -> None:
    section = _tagged(root, field_id)[0]
    items = section.find("w:sdtContent", NS).findall("w:sdt", NS)
    while len(items) < len(rows):  # Word's + button: a copy of the last row, emptied
        extra = copy.deepcopy(items[-1])
        items[-1].addnext(extra)
        items.append(extra)
    for item, row in zip(items, rows, strict=False):
        for column, text in row.items():
            for sdt in _tagged(item, f"{field_id}.{column}"):
                _set_value(sdt, text)
