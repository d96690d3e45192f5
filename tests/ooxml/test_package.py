"""Opening untrusted Office files safely, and reading and stamping custom document properties."""

from __future__ import annotations

import copy
import io
import random
import shutil
import struct
import subprocess
import zipfile

import pytest
from docx import Document
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from openpyxl import Workbook, load_workbook
from openpyxl.packaging.custom import StringProperty

from pipeline.core.errors import GenerationError, RejectedFile, UnreadableFile, UnsafeFile
from pipeline.ooxml import package as package_module
from pipeline.ooxml.package import (
    Package,
    read_core_properties,
    read_custom_properties,
    replace_parts,
    with_custom_properties,
)
from pipeline.ooxml.xml import NS, parse_xml, qn, to_bytes
from tests.support.zips import read_parts, zipped

MiB = 1024 * 1024
IDENTITY = {"PipelineFormId": "monitoring", "PipelineFormVersion": "3", "PipelineToken": "ab12"}

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol9 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
]>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">
<w:body><w:p><w:r><w:t>&lol9;</w:t></w:r></w:p></w:body></w:document>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE w:document [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">
<w:body><w:p><w:r><w:t>&xxe;</w:t></w:r></w:p></w:body></w:document>"""


# Building inputs.


@pytest.fixture(scope="module")
def docx_bytes() -> bytes:
    document = Document()
    document.add_paragraph("Partnership monitoring form")
    document.part.relate_to("https://example.org/guidance", RT.HYPERLINK, is_external=True)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


@pytest.fixture(scope="module")
def xlsx_bytes() -> bytes:
    workbook = Workbook()
    workbook.active["A1"] = "Partnership"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def docx_with(docx: bytes, changed: dict[str, bytes]) -> bytes:
    """The docx with these parts replaced or added."""
    return zipped(read_parts(docx) | changed)


def reason_of(data: bytes, error: type[RejectedFile] = RejectedFile) -> str:
    with pytest.raises(error) as caught:
        Package.open(data, source_name="form.docx")
    return caught.value.reason


# A good file opens.


def test_a_word_file_opens_as_docx(docx_bytes: bytes) -> None:
    package = Package.open(docx_bytes)
    assert package.kind == "docx"
    assert package.main_document() == "word/document.xml"
    assert package.names()[0] == "[Content_Types].xml"
    assert package.has("word/document.xml") and package.has("/word/document.xml")
    assert package.content_type("word/document.xml") == (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
    )
    assert package.content_type("docProps/thumbnail.jpeg") == "image/jpeg"
    assert b"Partnership monitoring form" in package.read("word/document.xml")
    body = package.xml("word/document.xml").find(qn("w:body"))
    assert "".join(body.itertext()) == "Partnership monitoring form"


def test_an_excel_file_opens_as_xlsx(xlsx_bytes: bytes) -> None:
    package = Package.open(xlsx_bytes)
    assert package.kind == "xlsx"
    assert package.main_document() == "xl/workbook.xml"
    sheets = [rel.target for rel in package.relationships("xl/workbook.xml")]
    assert "xl/worksheets/sheet1.xml" in sheets


def test_external_hyperlink_targets_are_listed(docx_bytes: bytes, xlsx_bytes: bytes) -> None:
    assert Package.open(docx_bytes).external_targets == ["https://example.org/guidance"]
    assert Package.open(xlsx_bytes).external_targets == []


def test_core_properties_are_read_for_diagnostics(docx_bytes: bytes) -> None:
    core = read_core_properties(Package.open(docx_bytes))
    assert core["creator"] == "python-docx"
    assert core["created"].startswith("20")


def test_a_file_without_custom_properties_has_none(docx_bytes: bytes) -> None:
    assert read_custom_properties(Package.open(docx_bytes)) == {}


# Custom properties round trip.


def test_custom_properties_round_trip_in_a_word_file(docx_bytes: bytes) -> None:
    stamped = with_custom_properties(docx_bytes, IDENTITY)
    assert read_custom_properties(Package.open(stamped)) == IDENTITY
    restamped = with_custom_properties(stamped, {"PipelineToken": "cd34", "PipelineMember": "A"})
    assert read_custom_properties(Package.open(restamped)) == {
        "PipelineFormId": "monitoring",
        "PipelineFormVersion": "3",
        "PipelineToken": "cd34",
        "PipelineMember": "A",
    }
    assert Document(io.BytesIO(restamped)).paragraphs[0].text == "Partnership monitoring form"


def test_stamping_keeps_members_order_and_compression(docx_bytes: bytes) -> None:
    stamped = with_custom_properties(docx_bytes, IDENTITY)
    before = zipfile.ZipFile(io.BytesIO(docx_bytes)).infolist()
    after = zipfile.ZipFile(io.BytesIO(stamped)).infolist()
    assert [i.filename for i in after] == [i.filename for i in before] + ["docProps/custom.xml"]
    assert [i.compress_type for i in after[:-1]] == [i.compress_type for i in before]
    assert read_parts(stamped)["word/document.xml"] == read_parts(docx_bytes)["word/document.xml"]
    package = Package.open(stamped)
    assert package.content_type("docProps/custom.xml") == (
        "application/vnd.openxmlformats-officedocument.custom-properties+xml"
    )


def test_the_written_properties_are_what_office_writes(docx_bytes: bytes) -> None:
    stamped = with_custom_properties(docx_bytes, {"A": "1", "B": "Smith & <Sons>"})
    root = Package.open(stamped).xml("docProps/custom.xml")
    props = root.findall(qn("custom:property"))
    assert [p.get("pid") for p in props] == ["2", "3"]
    assert {p.get("fmtid") for p in props} == {"{D5CDD505-2E9C-101B-9397-08002B2CF9AE}"}
    assert [p[0].tag for p in props] == [qn("vt:lpwstr")] * 2
    assert read_custom_properties(Package.open(stamped))["B"] == "Smith & <Sons>"


def test_custom_properties_round_trip_in_an_excel_file(xlsx_bytes: bytes) -> None:
    stamped = with_custom_properties(xlsx_bytes, IDENTITY)
    workbook = load_workbook(io.BytesIO(stamped))
    assert {p.name: p.value for p in workbook.custom_doc_props} == IDENTITY
    assert workbook.active["A1"].value == "Partnership"


def test_properties_openpyxl_wrote_are_kept_when_stamping() -> None:
    workbook = Workbook()
    workbook.custom_doc_props.append(StringProperty(name="Department", value="Finance"))
    workbook.custom_doc_props.append(StringProperty(name="PipelineToken", value="old"))
    out = io.BytesIO()
    workbook.save(out)
    stamped = with_custom_properties(out.getvalue(), {"PipelineToken": "new"})
    assert read_custom_properties(Package.open(stamped)) == {
        "Department": "Finance",
        "PipelineToken": "new",
    }
    seen = load_workbook(io.BytesIO(stamped)).custom_doc_props
    assert {p.name: p.value for p in seen} == {"Department": "Finance", "PipelineToken": "new"}
    assert [i.filename for i in zipfile.ZipFile(io.BytesIO(stamped)).infolist()].count(
        "docProps/custom.xml"
    ) == 1


def test_stamping_refuses_text_a_document_cannot_hold(docx_bytes: bytes) -> None:
    with pytest.raises(GenerationError, match="PipelineMember"):
        with_custom_properties(docx_bytes, {"PipelineMember": "bell\x07"})


def test_stamping_something_that_is_not_an_office_file_fails_plainly() -> None:
    with pytest.raises(GenerationError, match="could not be updated"):
        with_custom_properties(b"hello", IDENTITY)


# Replacing parts.


def test_replace_parts_changes_only_the_named_part(docx_bytes: bytes) -> None:
    new_body = read_parts(docx_bytes)["word/document.xml"].replace(b"monitoring", b"attendance")
    replaced = replace_parts(docx_bytes, {"word/document.xml": new_body})
    before, after = read_parts(docx_bytes), read_parts(replaced)
    assert list(after) == list(before)
    assert after["word/document.xml"] == new_body
    assert {k: v for k, v in after.items() if k != "word/document.xml"} == {
        k: v for k, v in before.items() if k != "word/document.xml"
    }
    assert Document(io.BytesIO(replaced)).paragraphs[0].text == "Partnership attendance form"


def test_replace_parts_refuses_a_part_that_is_not_there(docx_bytes: bytes) -> None:
    with pytest.raises(GenerationError, match="word/nothing.xml"):
        replace_parts(docx_bytes, {"word/nothing.xml": b"<x/>"})


# Files that are refused, each with a reason the sender can act on.


def test_empty_file() -> None:
    assert "is empty" in reason_of(b"", UnreadableFile)


def test_random_bytes() -> None:
    reason = reason_of(random.Random(7).randbytes(5000), UnreadableFile)
    assert "not a Word or Excel file" in reason
    assert '"form.docx"' in reason


def test_truncated_file(docx_bytes: bytes) -> None:
    reason = reason_of(docx_bytes[: len(docx_bytes) // 2], UnreadableFile)
    assert "damaged" in reason


def test_old_format_or_password_protected_file() -> None:
    reason = reason_of(bytes.fromhex("D0CF11E0A1B11AE1") + bytes(4000), UnsafeFile)
    assert "password-protected" in reason and ".doc" in reason
    assert "save it as an ordinary .docx or .xlsx" in reason


def test_pdf_named_as_a_form() -> None:
    assert "is a PDF, not a Word or Excel file" in reason_of(b"%PDF-1.7\n...", UnreadableFile)


def test_zip_that_is_not_an_office_document() -> None:
    reason = reason_of(zipped({"notes.txt": b"hello"}), UnreadableFile)
    assert "not an Office document" in reason


def test_damaged_part(docx_bytes: bytes) -> None:
    data = bytearray(zipped(read_parts(docx_bytes), level=0))  # stored: a flipped byte survives
    at = bytes(data).index(b"Partnership monitoring form")
    data[at] ^= 0xFF
    assert "damaged" in reason_of(bytes(data), UnreadableFile)


def test_zip_bomb_by_compression_ratio(docx_bytes: bytes) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, body in read_parts(docx_bytes).items():
            archive.writestr(name, body)
        with archive.open("word/media/zeros.bin", "w") as stream:
            for _ in range(50):
                stream.write(bytes(MiB))
    assert "zip bomb" in reason_of(out.getvalue(), UnsafeFile)


def test_zip_bomb_by_total_size(docx_bytes: bytes) -> None:
    parts = read_parts(docx_bytes)
    chunk = bytes(MiB)  # exactly 1 MiB each: below the ratio check, 201 MiB in all
    parts.update({f"word/media/part{n}.bin": chunk for n in range(201)})
    assert "zip bomb" in reason_of(zipped(parts, level=1), UnsafeFile)


def test_too_many_members(docx_bytes: bytes) -> None:
    parts = read_parts(docx_bytes)
    parts.update({f"word/media/image{n}.png": b"" for n in range(2000)})
    assert "more than 1,000 internal parts" in reason_of(zipped(parts), UnsafeFile)


def test_billion_laughs(docx_bytes: bytes) -> None:
    reason = reason_of(docx_with(docx_bytes, {"word/document.xml": BILLION_LAUGHS}), UnsafeFile)
    assert "document type declaration, in word/document.xml" in reason


def test_external_entity_is_refused_not_read(docx_bytes: bytes) -> None:
    reason = reason_of(docx_with(docx_bytes, {"word/document.xml": EXTERNAL_ENTITY}), UnsafeFile)
    assert "document type declaration" in reason
    with pytest.raises(UnsafeFile) as caught:
        parse_xml(EXTERNAL_ENTITY, "word/document.xml")
    assert "root:" not in str(caught.value)


def test_declaration_hidden_in_utf16_is_refused() -> None:
    with pytest.raises(UnsafeFile):
        parse_xml(BILLION_LAUGHS.replace(b'"1.0"?>', b'"1.0" encoding="UTF-16"?>')
                  .decode().encode("utf-16"), "word/document.xml")


def test_macro_enabled_content_type(docx_bytes: bytes) -> None:
    types = read_parts(docx_bytes)["[Content_Types].xml"].replace(
        b"wordprocessingml.document.main+xml", b"ms-word.document.macroEnabled.main+xml"
    )
    reason = reason_of(docx_with(docx_bytes, {"[Content_Types].xml": types}), UnsafeFile)
    assert "contains macros" in reason and ".docx or .xlsx" in reason


def test_vba_project_part(docx_bytes: bytes) -> None:
    data = docx_with(docx_bytes, {"word/vbaProject.bin": bytes(64)})
    assert "contains macros" in reason_of(data, UnsafeFile)


@pytest.mark.parametrize("name", ["../evil.xml", "word/../../evil.xml", "/etc/evil.xml",
                                  "C:/evil.xml", "word\\..\\..\\evil.xml"])
def test_member_names_that_climb_out(docx_bytes: bytes, name: str) -> None:
    parts = read_parts(docx_bytes) | {name: b"<x/>"}
    assert "suspicious name" in reason_of(zipped(parts), UnsafeFile)


def test_two_members_with_the_same_name(docx_bytes: bytes) -> None:
    parts = read_parts(docx_bytes) | {"Word/Document.xml": b"<x/>"}
    assert "same name" in reason_of(zipped(parts), UnsafeFile)


def test_damaged_bytes_only_ever_raise_a_plain_rejection(docx_bytes: bytes) -> None:
    chance = random.Random(20240501)
    for _ in range(300):
        data = bytearray(docx_bytes)
        for _ in range(chance.randint(1, 8)):
            data[chance.randrange(len(data))] = chance.randrange(256)
        try:
            Package.open(bytes(data))
        except RejectedFile as exc:  # anything else (BadZipFile, zlib.error...) fails the test
            assert "Error" not in exc.reason and exc.reason.endswith("."), exc.reason


# The XML layer.


def test_parse_xml_names_the_damaged_part() -> None:
    with pytest.raises(UnreadableFile, match="part word/document.xml could not be read"):
        parse_xml(b"<w:document", "word/document.xml")


def test_qn_and_to_bytes() -> None:
    assert qn("w:tag") == f"{{{NS['w']}}}tag"
    element = parse_xml(b'<a xmlns="urn:x">&amp;</a>', "a.xml")
    assert to_bytes(element).startswith(
        b"<?xml version='1.0' encoding='UTF-8' standalone='yes'?>"
    )


# LibreOffice keeps the properties through a re-save.


@pytest.mark.libreoffice
def test_custom_properties_survive_a_libreoffice_resave(docx_bytes: bytes, tmp_path) -> None:
    soffice = shutil.which("soffice")
    if soffice is None:
        pytest.skip("LibreOffice (soffice) is not installed, so a re-save cannot be tested")
    source = tmp_path / "in" / "form.docx"
    source.parent.mkdir()
    source.write_bytes(with_custom_properties(docx_bytes, IDENTITY))
    out_dir = tmp_path / "out"
    subprocess.run(
        [soffice, f"-env:UserInstallation=file://{tmp_path / 'profile'}", "--headless",
         "--convert-to", "docx:MS Word 2007 XML", "--outdir", str(out_dir), str(source)],
        check=False, capture_output=True, timeout=120,
    )
    resaved = out_dir / "form.docx"
    assert resaved.exists(), "LibreOffice produced no file"
    assert resaved.read_bytes() != source.read_bytes()
    assert read_custom_properties(Package.open(resaved.read_bytes())) == IDENTITY


# Reading members straight from the archive's bytes keeps every check zipfile made.


def _central_entry(data: bytes, name: str) -> int:
    """Where the central directory's entry for `name` starts."""
    at = data.index(b"PK\x01\x02")
    while True:
        name_length = struct.unpack("<H", data[at + 28:at + 30])[0]
        if data[at + 46:at + 46 + name_length] == name.encode():
            return at
        extra, comment = struct.unpack("<HH", data[at + 30:at + 34])
        at += 46 + name_length + extra + comment


def test_a_part_claiming_bytes_that_belong_to_the_next_part_is_refused(docx_bytes: bytes) -> None:
    data = bytearray(zipped(read_parts(docx_bytes)))
    first = zipfile.ZipFile(io.BytesIO(bytes(data))).infolist()[0]
    entry = _central_entry(bytes(data), first.filename)
    struct.pack_into("<L", data, entry + 20, first.compress_size + 64)  # its compressed size
    assert "overlap" in reason_of(bytes(data), UnsafeFile)


def test_a_member_said_to_start_before_the_file_is_never_read_from_its_end(docx_bytes: bytes) -> None:
    # A directory that claims it starts later than it does makes zipfile count members from
    # before the file's first byte; sliced from the end, they would read whatever an attacker
    # put in the archive's trailing comment (here, a whole copy of the first member).
    data = zipped(read_parts(docx_bytes))
    first = zipfile.ZipFile(io.BytesIO(data)).infolist()[0]
    record = data[:zipfile.ZipFile(io.BytesIO(data)).infolist()[1].header_offset]
    hidden = copy.copy(first)
    tail = record + b"end of comment"
    hidden.header_offset = -len(tail)
    with pytest.raises(UnreadableFile, match="damaged"):
        package_module._unpack_member(memoryview(data + tail), hidden, len(data) + len(tail))
