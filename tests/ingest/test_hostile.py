"""Bad input gets a clear rejection, and nothing is lost: each hostile or broken file is rejected
with a reason a member understands, kept byte for byte in `rejected/` beside its report, and the
run carries on (a good form ingested after it, in the same run, is accepted).
"""

from __future__ import annotations

import io
import re
import struct
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import docx
import pytest
from lxml import etree
from pypdf import PdfWriter

from tests.support.returns import (
    ANSWERS,
    Home,
    blank_form,
    issue,
    place,
    word_return,
)
from tests.support.zips import read_parts, zipped

PIPELINE = Path(sys.executable).with_name("pipeline")
PASSWD_LINE = Path("/etc/passwd").read_text().splitlines()[0] if Path("/etc/passwd").exists() else ""
# What must never reach a member: a programmer's words.
TECHNICAL = re.compile(r"Traceback|\w+(Error|Exception)\b|lxml|zipfile|openpyxl|errno|\bNone\b")


def ingest_after_it_a_good_form(home: Home, drop, name: str, data: bytes) -> dict:
    """Ingest the bad file, then a good form in the same run; check what a clerk would check."""
    bad_result, good_result = home.ingest(drop(name, data), drop("good.docx", word_return()))
    assert good_result["outcome"] == "accepted", good_result["message"]
    assert bad_result["outcome"] == "rejected"
    reason = bad_result["message"]
    assert reason and not TECHNICAL.search(reason), reason
    kept = Path(bad_result["stored_at"])
    assert kept.parent == home.path / "rejected" and kept.read_bytes() == data
    report = Path(bad_result["report"]).read_text(encoding="utf-8")
    assert reason in report and name in report
    assert len(home.records()) == 1
    return bad_result


# --- making bad files ----------------------------------------------------------------------------


def pdf_bytes() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def half_a_docx() -> bytes:
    data = word_return()
    return data[: len(data) // 2]


def password_protected() -> bytes:
    """What Word writes for a .docx with a password: an OLE compound file, not a zip."""
    return bytes.fromhex("D0CF11E0A1B11AE1") + bytes(range(256)) * 40


def with_macros(data: bytes, main_part: str, macro_type: str, folder: str) -> bytes:
    parts = read_parts(data)
    types = parts["[Content_Types].xml"].decode()
    main = rf'(PartName="/{re.escape(main_part)}" ContentType=")[^"]*"'
    types = re.sub(main, rf'\g<1>{macro_type}"', types)
    types = types.replace("</Types>", '<Default Extension="bin" '
                          'ContentType="application/vnd.ms-office.vbaProject"/></Types>')
    assert macro_type in types
    parts["[Content_Types].xml"] = types.encode()
    parts[f"{folder}/vbaProject.bin"] = password_protected()
    return zipped(parts)


def docm() -> bytes:
    return with_macros(word_return(), "word/document.xml",
                       "application/vnd.ms-word.document.macroEnabled.main+xml", "word")


def xlsm() -> bytes:
    return with_macros(blank_form(fmt="xlsx"), "xl/workbook.xml",
                       "application/vnd.ms-excel.sheet.macroEnabled.main+xml", "xl")


ZEROS_MIB = 64  # compresses about 1000:1; the preflight allows 200:1 for parts over 1 MiB


def zip_bomb() -> bytes:
    """A real form with a part of zeros written streamed (never held whole in memory)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, body in read_parts(word_return()).items():
            archive.writestr(name, body)
        with archive.open("word/media/image1.png", "w") as member:
            chunk = bytes(1 << 20)
            for _ in range(ZEROS_MIB):
                member.write(chunk)
    return buffer.getvalue()


def lying_zip_bomb() -> bytes:
    """The same, but its headers claim the part of zeros unpacks to 2,000 bytes."""
    data = bytearray(zip_bomb())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = archive.getinfo("word/media/image1.png")
    struct.pack_into("<I", data, info.header_offset + 22, 2000)  # local header: size
    central = data.index(b"PK\x01\x02")
    while not data[central + 46:].startswith(b"word/media/image1.png"):
        central = data.index(b"PK\x01\x02", central + 4)
    struct.pack_into("<I", data, central + 24, 2000)  # central directory: size
    return bytes(data)


def many_parts() -> bytes:
    parts = read_parts(word_return())
    parts.update({f"customXml/item{n}.xml": b"<a/>" for n in range(1200)})
    return zipped(parts)


def with_doctype(data: bytes, part: str, doctype: str, old: bytes, new: bytes) -> bytes:
    """`part` with a document type declaration after its XML declaration, `old` text -> `new`."""
    parts = read_parts(data)
    body = parts[part]
    assert old in body
    declaration_end = body.index(b"?>") + 2
    parts[part] = body[:declaration_end] + doctype.encode() + body[declaration_end:].replace(old, new, 1)
    return zipped(parts)


def billion_laughs() -> bytes:
    entities = '<!ENTITY lol0 "lol">' + "".join(
        f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10))
    return with_doctype(word_return(), "word/document.xml", f"<!DOCTYPE w:document [{entities}]>",
                        b"Guildhall, Hull", b"&lol9;")


XXE = '<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'


def external_entity_in_the_document() -> bytes:
    return with_doctype(word_return(), "word/document.xml", XXE, b"Guildhall, Hull", b"&xxe;")


def external_entity_in_the_identity() -> bytes:
    return with_doctype(word_return(), "docProps/custom.xml", XXE, b">Hull CDRP<", b">&xxe;<")


def another_systems_form() -> bytes:
    """A Word form from some other organisation: its own content control, none of our identity."""
    document = docx.Document()
    document.add_heading("Supplier registration", level=1)
    paragraph = document.add_paragraph("Company name: ")
    paragraph._p.append(etree.fromstring(
        '<w:sdt xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        '<w:sdtPr><w:alias w:val="Company name"/><w:tag w:val="CompanyName"/><w:text/></w:sdtPr>'
        "<w:sdtContent><w:r><w:t>Acme Ltd</w:t></w:r></w:sdtContent></w:sdt>"))
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def a_letter() -> bytes:
    document = docx.Document()
    document.add_paragraph("Dear clerk, please find my comments below.")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def a_jpeg() -> bytes:
    return bytes.fromhex("FFD8FFE000104A46494600010100000100010000") + bytes(2000) + b"\xff\xd9"


BAD_FILES: list[tuple[str, str, Callable[[], bytes], str]] = [
    ("text file", "notes.txt", lambda: b"Minutes to follow.\n", "not a form we can read"),
    ("picture", "photo.jpg", a_jpeg, "not a form we can read"),
    ("empty file", "monitoring.docx", lambda: b"", "empty"),
    ("truncated zip", "monitoring.docx", half_a_docx, "damaged"),
    ("docx that is a PDF", "monitoring.docx", pdf_bytes, "PDF"),
    ("docx that is plain text", "monitoring.docx", lambda: b"Dear clerk,\nI attended.\n",
     "not a Word or Excel file"),
    ("password-protected", "monitoring.docx", password_protected, "password"),
    ("macro-enabled Word", "monitoring.docm", docm, "macros"),
    ("macro-enabled Excel", "monitoring.xlsm", xlsm, "macros"),
    ("zip bomb", "monitoring.docx", zip_bomb, "zip bomb"),
    ("zip bomb lying about its size", "monitoring.docx", lying_zip_bomb,
     "unpacks to more data than it declares"),
    ("too many parts", "monitoring.docx", many_parts, "internal parts"),
    ("billion laughs", "monitoring.docx", billion_laughs, "document type declaration"),
    ("external entity", "monitoring.docx", external_entity_in_the_document, "document type declaration"),
    ("external entity in the identity", "monitoring.docx", external_entity_in_the_identity,
     "document type declaration"),
    ("another system's form", "registration.docx", another_systems_form, "could not tell which form"),
    ("a letter, not a form", "letter.docx", a_letter, "no boxes to fill in"),
]


@pytest.mark.parametrize(("name", "make", "said"), [case[1:] for case in BAD_FILES],
                         ids=[case[0] for case in BAD_FILES])
def test_a_bad_file_is_rejected_with_a_reason_kept_and_the_run_carries_on(
        home: Home, drop, name: str, make: Callable[[], bytes], said: str) -> None:
    result = ingest_after_it_a_good_form(home, drop, name, make())
    assert said in result["message"]


@pytest.mark.skipif(not PASSWD_LINE, reason="this system has no /etc/passwd to leak")
@pytest.mark.parametrize("make", [external_entity_in_the_document, external_entity_in_the_identity])
def test_an_external_entity_is_never_read_into_what_is_stored(
        home: Home, drop, make: Callable[[], bytes]) -> None:
    ingest_after_it_a_good_form(home, drop, "monitoring.docx", make())
    for path in home.path.rglob("*"):
        if path.is_file():
            assert PASSWD_LINE.encode() not in path.read_bytes(), path


def test_a_field_with_100000_characters_is_rejected_saying_how_long_and_the_limit(
        home: Home, drop) -> None:
    data = word_return(answers={**ANSWERS, "meeting_place": "x" * 100_000})
    result = ingest_after_it_a_good_form(home, drop, "monitoring.docx", data)
    (problem,) = result["problems"]
    assert problem["field"] == "meeting_place"
    assert "100,000 characters long" in problem["message"]
    assert "the most this box takes is 500" in problem["message"]
    assert "Place of meeting" in Path(result["report"]).read_text()


def test_the_watcher_rejects_every_bad_file_and_takes_the_good_ones(home: Home) -> None:
    inbox = home.settings.inbox
    for number, (_, name, make, _) in enumerate(BAD_FILES):
        place(inbox, f"{number:02d}-{name}", make())
    place(inbox, "good.docx", word_return())
    issue(home.settings)
    done = subprocess.run([str(PIPELINE), "watch", "--oneshot", "--home", str(home.path)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert [p.name for p in inbox.iterdir() if p.is_file()] == []
    assert not any((inbox / ".processing").iterdir())
    assert len(home.records()) == 1
    kept = [p for p in (home.path / "rejected").iterdir() if not p.name.endswith(".what-to-fix.txt")]
    assert len(kept) == len(BAD_FILES)
    assert len(list((home.path / "rejected").glob("*.what-to-fix.txt"))) == len(BAD_FILES)

