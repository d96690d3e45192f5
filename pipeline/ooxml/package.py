"""Open an untrusted Office file (.docx, .xlsx) safely, and read or stamp its document properties.

`Package.open` is the preflight every returned file passes: it refuses what is not an Office
file, zip bombs, odd member names, macros and XML with document type declarations, before any
other code touches the bytes. The rewriting functions at the bottom copy a package member by
member, which is how generation stamps identity into custom properties.
"""

from __future__ import annotations

import io
import posixpath
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass
from functools import cached_property

from lxml import etree

from pipeline.core.errors import GenerationError, RejectedFile, UnreadableFile, UnsafeFile
from pipeline.ooxml.xml import NS, declares_dtd, parse_xml, qn, refuse_dtd, to_bytes

MAX_MEMBERS = 1_000
MAX_TOTAL_SIZE = 200 * 1024 * 1024
MAX_RATIO = 200
RATIO_APPLIES_OVER = 1024 * 1024
_CHUNK = 1024 * 1024

_ZIP_SIGNATURE = b"PK\x03\x04"
_OLE_SIGNATURE = bytes.fromhex("D0CF11E0A1B11AE1")
_PDF_SIGNATURE = b"%PDF"

CONTENT_TYPES = "[Content_Types].xml"
ROOT_RELS = "_rels/.rels"
CUSTOM_PART = "docProps/custom.xml"
CORE_PART = "docProps/core.xml"
CT_CUSTOM = "application/vnd.openxmlformats-officedocument.custom-properties+xml"
REL_CUSTOM = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/custom-properties"
REL_CORE = "http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties"
REL_OFFICE_DOCUMENTS = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument",
    "http://purl.oclc.org/ooxml/officeDocument/relationships/officeDocument",
)
CUSTOM_FMTID = "{D5CDD505-2E9C-101B-9397-08002B2CF9AE}"

_OOXML = "application/vnd.openxmlformats-officedocument."
_KINDS = {
    _OOXML + "wordprocessingml.document.main+xml": "docx",
    _OOXML + "wordprocessingml.template.main+xml": "docx",
    _OOXML + "spreadsheetml.sheet.main+xml": "xlsx",
    _OOXML + "spreadsheetml.template.main+xml": "xlsx",
    _OOXML + "presentationml.presentation.main+xml": "pptx",
    _OOXML + "presentationml.slideshow.main+xml": "pptx",
    _OOXML + "presentationml.template.main+xml": "pptx",
}
_CORE_FIELDS = {
    "title": "dc:title",
    "subject": "dc:subject",
    "creator": "dc:creator",
    "identifier": "dc:identifier",
    "keywords": "cp:keywords",
    "description": "dc:description",
    "lastModifiedBy": "cp:lastModifiedBy",
    "created": "dcterms:created",
    "modified": "dcterms:modified",
}
# What zipfile and zlib raise on damaged archives; all mean "damaged" to the sender.
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError)

_MACROS = (
    "contains macros, which we do not accept because they can run harmful code. Please save it "
    "as an ordinary .docx or .xlsx file (not .docm or .xlsm) and send it again."
)
_SUSPICIOUS = "Office never writes: it could be an attack, so it was not opened."


@dataclass(frozen=True)
class Relationship:
    """One relationship of a part: `target` is a part name, or the raw address when external."""

    id: str
    type: str
    target: str
    external: bool


@dataclass(frozen=True)
class _ContentTypes:
    defaults: dict[str, str]
    overrides: dict[str, str]

    @classmethod
    def from_xml(cls, root: etree._Element) -> _ContentTypes:
        defaults = {
            el.get("Extension", "").lower(): el.get("ContentType", "")
            for el in root.iter(qn("ct:Default"))
        }
        overrides = {
            el.get("PartName", "").lstrip("/").lower(): el.get("ContentType", "")
            for el in root.iter(qn("ct:Override"))
        }
        return cls(defaults, overrides)

    def lookup(self, name: str) -> str | None:
        key = name.lstrip("/").lower()
        if key in self.overrides:
            return self.overrides[key]
        extension = posixpath.splitext(key)[1].lstrip(".")
        return self.defaults.get(extension)

    def all(self) -> list[str]:
        return [*self.defaults.values(), *self.overrides.values()]


class Package:
    """An opened, checked OOXML zip held in memory, parts unpacked. Build with `Package.open`."""

    def __init__(self, archive: zipfile.ZipFile, label: str, data: bytes = b"") -> None:
        self._archive = archive
        self._data = memoryview(data)
        self._ends = _member_ends(archive)
        self._label = label
        self._by_lower = {info.filename.lower(): info for info in archive.infolist()}
        self._types = _ContentTypes({}, {})
        self._read_cache: dict[str, bytes] = {}
        self._rels_cache: dict[str, list[Relationship]] = {}

    @classmethod
    def open(cls, data: bytes, *, source_name: str = "") -> Package:
        """Check untrusted bytes and open them; UnsafeFile or UnreadableFile says why not."""
        label = f'The file "{source_name}"' if source_name else "The file"
        _check_signature(data, label)
        package = cls(_open_zip(data, label), label, data)
        _check_members(package._archive.infolist(), label)
        package._types = _ContentTypes.from_xml(package._content_types_xml())
        _refuse_macros(package)
        _check_parts(package)
        return package

    def names(self) -> list[str]:
        """Member names in archive order, without directory entries."""
        return [i.filename for i in self._archive.infolist() if not i.filename.endswith("/")]

    def has(self, name: str) -> bool:
        return self._find(name) is not None

    def read(self, name: str) -> bytes:
        """A member's bytes, never more than its declared size; UnreadableFile when missing."""
        info = self._find(name)
        if info is None:
            raise _damaged(f"part {name} is missing")
        # Kept: open() reads every part once to check it, and callers read the same parts again.
        if info.filename not in self._read_cache:
            self._read_cache[info.filename] = _read_member(self._archive, self._data, info,
                                                           self._ends)
        return self._read_cache[info.filename]

    def xml(self, name: str) -> etree._Element:
        """A member parsed by the safe parser."""
        return parse_xml(self.read(name), name)

    def content_type(self, name: str) -> str | None:
        """The declared content type of a part: its Override, else the Default for its extension."""
        return self._types.lookup(name)

    def relationships(self, part_name: str = "") -> list[Relationship]:
        """The relationships of a part ("" for the package itself); [] when it has none."""
        key = _rels_name(part_name)
        if key not in self._rels_cache:  # the package's own are asked for three times a file
            self._rels_cache[key] = self._relationships_in(key, part_name)
        return list(self._rels_cache[key])

    def main_document(self) -> str | None:
        """The main part, e.g. "word/document.xml" or "xl/workbook.xml"."""
        for rel in self.relationships():
            if rel.type in REL_OFFICE_DOCUMENTS and not rel.external:
                return rel.target
        return None

    @cached_property
    def kind(self) -> str:
        """ "docx", "xlsx", "pptx" or "other", from the main part's content type."""
        main = self.main_document()
        content_type = self.content_type(main) if main else None
        return _KINDS.get(content_type or "", "other")

    @cached_property
    def external_targets(self) -> list[str]:
        """Addresses of every external relationship (links, linked images), for reporting."""
        return [
            rel.target
            for name in self.names()
            if name.lower().endswith(".rels")
            for rel in self._relationships_in(name, _source_of(name))
            if rel.external
        ]

    def _find(self, name: str) -> zipfile.ZipInfo | None:
        # Part names are case-insensitive in OPC, and callers may pass "/word/document.xml".
        return self._by_lower.get(name.lstrip("/").lower())

    def _infos(self) -> list[zipfile.ZipInfo]:
        return self._archive.infolist()

    def _content_types_xml(self) -> etree._Element:
        if not self.has(CONTENT_TYPES):
            raise UnreadableFile(
                f"{self._label} is a zip archive but not an Office document. "
                "Please send the Word or Excel form itself."
            )
        return self.xml(CONTENT_TYPES)

    def _relationships_in(self, rels_name: str, source: str) -> list[Relationship]:
        if not self.has(rels_name):
            return []
        return [
            _relationship(el, source) for el in self.xml(rels_name).iter(qn("rel:Relationship"))
        ]


# Preflight steps, in the order Package.open runs them.


def _check_signature(data: bytes, label: str) -> None:
    if not data:
        raise UnreadableFile(f"{label} is empty. Please send it again.")
    if data.startswith(_OLE_SIGNATURE):
        raise UnsafeFile(
            f"{label} is either password-protected or an old-format Word or Excel file "
            "(.doc or .xls), so it was not opened. Please save it as an ordinary .docx or .xlsx "
            "file without a password and send it again."
        )
    if data.startswith(_PDF_SIGNATURE):
        raise UnreadableFile(
            f"{label} is a PDF, not a Word or Excel file. Please send the Word or Excel form."
        )
    if not data.startswith(_ZIP_SIGNATURE):
        raise _not_office(label)


def _open_zip(data: bytes, label: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except _ZIP_ERRORS as exc:
        raise _not_office(label) from exc


def _not_office(label: str) -> UnreadableFile:
    return UnreadableFile(
        f"{label} is not a Word or Excel file, or it is damaged (for example, only partly "
        "copied or downloaded). Please save the form again and send it again."
    )


def _check_members(infos: list[zipfile.ZipInfo], label: str) -> None:
    if len(infos) > MAX_MEMBERS:
        raise UnsafeFile(
            f"{label} holds more than {MAX_MEMBERS:,} internal parts, far more than any form: "
            "it could be an attack, so it was not opened."
        )
    seen: set[str] = set()
    for info in infos:
        _check_member(info, label)
        if info.filename.lower() in seen:
            raise UnsafeFile(f"{label} holds two internal parts with the same name, which "
                             + _SUSPICIOUS)
        seen.add(info.filename.lower())
    if sum(info.file_size for info in infos) > MAX_TOTAL_SIZE:
        raise _bomb(label)


def _check_member(info: zipfile.ZipInfo, label: str) -> None:
    parts = info.filename.replace("\\", "/").split("/")
    if info.filename.startswith(("/", "\\")) or ".." in parts or ":" in parts[0]:
        raise UnsafeFile(f"{label} holds an internal part with a suspicious name, which "
                         + _SUSPICIOUS)
    if info.flag_bits & 0x1:
        raise UnsafeFile(f"{label} is password-protected, so it could not be opened. "
                         "Please save it without a password and send it again.")
    too_big = info.file_size > RATIO_APPLIES_OVER
    if too_big and info.file_size > MAX_RATIO * max(info.compress_size, 1):
        raise _bomb(label)


def _bomb(label: str) -> UnsafeFile:
    return UnsafeFile(
        f"{label} would unpack to far more data than any form holds, a sign of a deliberately "
        "harmful file (a 'zip bomb'), so it was not opened."
    )


def _refuse_macros(package: Package) -> None:
    types = " ".join(package._types.all()).lower()
    has_vba = any(posixpath.basename(n).lower() == "vbaproject.bin" for n in package.names())
    if has_vba or "macroenabled" in types or "vbaproject" in types:
        raise UnsafeFile(f"{package._label} {_MACROS}")


def _check_parts(package: Package) -> None:
    """Read every part once (catching damage now) and refuse XML carrying a DTD anywhere."""
    for name in package.names():
        body = package.read(name)
        if _is_xml_part(package, name) and declares_dtd(body):
            raise refuse_dtd(name)


def _is_xml_part(package: Package, name: str) -> bool:
    # Images are not parsed by us or by Word; an SVG logo may legitimately carry a DOCTYPE.
    content_type = package.content_type(name) or ""
    if content_type.startswith("image/"):
        return False
    return content_type.endswith("xml") or name.lower().endswith((".xml", ".rels"))


def _read_member(archive: zipfile.ZipFile, data: memoryview, info: zipfile.ZipInfo,
                 ends: dict[int, int]) -> bytes:
    """A member's bytes, checked against its declared size and CRC; never more than declared."""
    if info.compress_type in (zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED) and len(data) \
            and not info.flag_bits & _FLAGS_ZIPFILE_REFUSES:
        return _unpack_member(data, info, ends[info.header_offset])
    return _stream_member(archive, info)  # what Office never writes (bzip2, lzma): zipfile's way


_LOCAL_HEADER_SIZE = 30  # the fixed part of a member's local header, before its name and extra
_FLAGS_ZIPFILE_REFUSES = 0x20 | 0x40  # patched data, strong encryption: zipfile's way refuses them


def _member_ends(archive: zipfile.ZipFile) -> dict[int, int]:
    """Where each member's bytes must end (by its header's offset): at the next member's header,
    or at the central directory; a member running over it overlaps another and is refused, as
    newer versions of zipfile refuse it."""
    starts = sorted({info.header_offset for info in archive.infolist()})
    return dict(zip(starts, [*starts[1:], archive.start_dir], strict=True))


def _unpack_member(data: memoryview, info: zipfile.ZipInfo, end: int) -> bytes:
    """Inflate one member straight from the archive's bytes (what `ZipFile.open` does, in a
    tenth of the time: a form has twenty parts and every return opens them all).

    The local header must be where the directory says, and agree with its name; the bytes must
    end before the next member; inflating stops one byte past the declared size, so a member
    that would unpack to more is refused, not unpacked.
    """
    start = info.header_offset
    header = bytes(data[start:start + _LOCAL_HEADER_SIZE]) if start >= 0 else b""
    if len(header) < _LOCAL_HEADER_SIZE or header[:4] != _ZIP_SIGNATURE:
        raise _damaged(f"part {info.filename} could not be read")
    flags, = struct.unpack("<H", header[6:8])
    name_length, extra_length = struct.unpack("<HH", header[26:30])
    name_start = start + _LOCAL_HEADER_SIZE
    if bytes(data[name_start:name_start + name_length]) != _stored_name(info, flags):
        raise _damaged(f"part {info.filename} could not be read")
    body_start = name_start + name_length + extra_length
    body_end = body_start + info.compress_size
    if body_end > end:
        raise UnsafeFile("The file's internal parts overlap, which Office never writes: it could "
                         "be an attack, so it was not opened.")
    packed = data[body_start:body_end]
    if len(packed) != info.compress_size:
        raise _damaged(f"part {info.filename} is incomplete")
    if info.compress_type == zipfile.ZIP_STORED:
        body = bytes(packed)
    else:
        try:
            body = zlib.decompressobj(-zlib.MAX_WBITS).decompress(packed, info.file_size + 1)
        except zlib.error as exc:
            raise _damaged(f"part {info.filename} could not be read") from exc
    if len(body) > info.file_size:
        raise _unpacks_to_more()
    if len(body) != info.file_size:
        raise _damaged(f"part {info.filename} is incomplete")
    if zlib.crc32(body) != info.CRC:
        raise _damaged(f"part {info.filename} could not be read")
    return body


def _stored_name(info: zipfile.ZipInfo, local_flags: int) -> bytes:
    """The member's name as its local header should spell it (UTF-8 when that header says so,
    else code page 437), as zipfile compares them."""
    try:
        return info.orig_filename.encode("utf-8" if local_flags & 0x800 else "cp437")
    except UnicodeEncodeError:
        return b""  # a name the header cannot hold: never equal, so refused as damaged


def _stream_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    chunks: list[bytes] = []
    size = 0
    try:
        with archive.open(info) as stream:
            while chunk := stream.read(_CHUNK):
                size += len(chunk)
                if size > info.file_size:
                    raise _unpacks_to_more()
                chunks.append(chunk)
    except _ZIP_ERRORS as exc:
        raise _damaged(f"part {info.filename} could not be read") from exc
    if size != info.file_size:
        raise _damaged(f"part {info.filename} is incomplete")
    return b"".join(chunks)


def _unpacks_to_more() -> UnsafeFile:
    return UnsafeFile("The file unpacks to more data than it declares: it could be an attack, so "
                      "it was not opened.")


def _damaged(what: str) -> UnreadableFile:
    return UnreadableFile(f"The file is damaged: {what}. Please save the form again and send it "
                          "again.")


# Relationships.


def _rels_name(part_name: str) -> str:
    part_name = part_name.lstrip("/")
    if not part_name:
        return ROOT_RELS
    folder, base = posixpath.split(part_name)
    return posixpath.join(folder, "_rels", f"{base}.rels")


def _source_of(rels_name: str) -> str:
    folder, base = posixpath.split(rels_name)
    return posixpath.join(posixpath.dirname(folder), base.removesuffix(".rels"))


def _relationship(el: etree._Element, source: str) -> Relationship:
    target = el.get("Target", "")
    external = el.get("TargetMode", "") == "External"
    if not external:
        target = _resolve(source, target)
    return Relationship(el.get("Id", ""), el.get("Type", ""), target, external)


def _resolve(source: str, target: str) -> str:
    if target.startswith("/"):
        return posixpath.normpath(target.lstrip("/"))
    return posixpath.normpath(posixpath.join(posixpath.dirname(source), target))


# Size of a workbook's content, before anything loads it.

_CELL = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?c[\s>/]")
_WORKSHEET_TYPE = "spreadsheetml.worksheet+xml"


def count_sheet_cells(package: Package) -> int:
    """How many cells the workbook's worksheets hold (every `c` element), counted in the bytes."""
    return sum(
        len(_CELL.findall(package.read(name)))
        for name in package.names()
        if (package.content_type(name) or "").endswith(_WORKSHEET_TYPE)
    )


# Document properties.


def read_custom_properties(package: Package) -> dict[str, str]:
    """Custom document properties, name -> value text; {} when the file has none."""
    name = _properties_part(package, REL_CUSTOM, CUSTOM_PART)
    if name is None:
        return {}
    props = {}
    for prop in package.xml(name).iter(qn("custom:property")):
        value = next(prop.iterchildren(etree.Element), None)
        if prop.get("name"):
            props[prop.get("name", "")] = "" if value is None else "".join(value.itertext())
    return props


def read_core_properties(package: Package) -> dict[str, str]:
    """The core properties present (title, creator, modified...), for diagnostics."""
    name = _properties_part(package, REL_CORE, CORE_PART)
    if name is None:
        return {}
    root = package.xml(name)
    found = {key: root.find(qn(tag)) for key, tag in _CORE_FIELDS.items()}
    return {key: "".join(el.itertext()) for key, el in found.items() if el is not None}


def _properties_part(package: Package, rel_type: str, usual_name: str) -> str | None:
    for rel in package.relationships():
        if rel.type == rel_type and not rel.external and package.has(rel.target):
            return _member_name(package, rel.target)
    return _member_name(package, usual_name) if package.has(usual_name) else None


def _member_name(package: Package, name: str) -> str:
    info = package._find(name)
    return info.filename if info is not None else name


# Writing: copies of a package with some parts changed.


def with_custom_properties(data: bytes, props: dict[str, str]) -> bytes:
    """A copy of the file with these custom properties set (others kept), as text values."""
    package = _open_own(data)
    name = _properties_part(package, REL_CUSTOM, CUSTOM_PART) or CUSTOM_PART
    existing = package.xml(name) if package.has(name) else None
    parts = {name: _custom_xml(existing, props)}
    content_types = _with_custom_override(package.xml(CONTENT_TYPES), name)
    if content_types is not None:
        parts[_member_name(package, CONTENT_TYPES)] = content_types
    root_rels = _with_custom_rel(package, name)
    if root_rels is not None:
        parts[_member_name(package, ROOT_RELS)] = root_rels
    return _rewrite(package, parts)


def replace_parts(data: bytes, parts: dict[str, bytes]) -> bytes:
    """A copy of the file with the named existing parts' bytes replaced; order kept."""
    package = _open_own(data)
    missing = sorted(name for name in parts if not package.has(name))
    if missing:
        raise GenerationError(f"The document has no part named {', '.join(missing)} to replace.")
    return _rewrite(package, {_member_name(package, n): body for n, body in parts.items()})


def _open_own(data: bytes) -> Package:
    try:
        return Package.open(data)
    except RejectedFile as exc:
        raise GenerationError(f"The document could not be updated: {exc.reason}") from exc


def custom_properties_xml(props: dict[str, str]) -> bytes:
    """A complete `docProps/custom.xml` holding exactly these text properties."""
    return _custom_xml(None, props)


def _custom_xml(existing: etree._Element | None, props: dict[str, str]) -> bytes:
    root = existing if existing is not None else etree.Element(
        qn("custom:Properties"), nsmap={None: NS["custom"], "vt": NS["vt"]}
    )
    wanted = {_property_key(name): (name, value) for name, value in props.items()}
    for prop in root.iter(qn("custom:property")):
        match = wanted.pop(prop.get("name", "").lower(), None)
        if match is not None:
            _set_text_value(prop, *match)
    for name, value in wanted.values():
        prop = etree.SubElement(root, qn("custom:property"), fmtid=CUSTOM_FMTID, name=name)
        _set_text_value(prop, name, value)
    for pid, prop in enumerate(root.iter(qn("custom:property")), start=2):
        prop.set("pid", str(pid))
    return to_bytes(root)


def _property_key(name: str) -> str:
    # Office treats property names case-insensitively; two spellings would be two properties.
    if not name.strip():
        raise GenerationError("A document property needs a name.")
    return name.lower()


def _set_text_value(prop: etree._Element, name: str, value: str) -> None:
    for child in list(prop):
        prop.remove(child)
    try:
        prop.set("name", name)
        etree.SubElement(prop, qn("vt:lpwstr")).text = value
    except (ValueError, TypeError) as exc:
        raise GenerationError(
            f"The document property {name!r} holds characters a document cannot contain."
        ) from exc


def _with_custom_override(root: etree._Element, part_name: str) -> bytes | None:
    part = "/" + part_name
    for el in root.iter(qn("ct:Override")):
        if el.get("PartName", "").lower() == part.lower():
            if el.get("ContentType") == CT_CUSTOM:
                return None
            el.set("ContentType", CT_CUSTOM)
            return to_bytes(root)
    etree.SubElement(root, qn("ct:Override"), PartName=part, ContentType=CT_CUSTOM)
    return to_bytes(root)


def _with_custom_rel(package: Package, part_name: str) -> bytes | None:
    if package.has(ROOT_RELS):
        root = package.xml(ROOT_RELS)
    else:
        root = etree.Element(qn("rel:Relationships"), nsmap={None: NS["rel"]})
    rels = list(root.iter(qn("rel:Relationship")))
    for el in rels:
        if el.get("Type") == REL_CUSTOM and el.get("TargetMode") != "External":
            if _resolve("", el.get("Target", "")).lower() == part_name.lower():
                return None
            el.set("Target", part_name)
            return to_bytes(root)
    ids = {el.get("Id") for el in rels}
    new_id = next(f"rId{n}" for n in range(1, len(ids) + 2) if f"rId{n}" not in ids)
    etree.SubElement(root, qn("rel:Relationship"), Id=new_id, Type=REL_CUSTOM, Target=part_name)
    return to_bytes(root)


FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest a zip can say


def with_fixed_times(data: bytes) -> bytes:
    """The same package with every member dated `FIXED_TIME`: built twice, the same bytes (for
    files kept in version control, such as the default paper templates)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            copy = _copied_info(info)
            copy.date_time = FIXED_TIME
            target.writestr(copy, source.read(info))
    return out.getvalue()


def _rewrite(package: Package, parts: dict[str, bytes]) -> bytes:
    """Copy every member in order, same compression, with `parts` replaced or appended."""
    pending = dict(parts)
    infos = package._infos()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in infos:
            body = pending.pop(info.filename, None)
            if body is None:
                body = package.read(info.filename)
            target.writestr(_copied_info(info), body)
        for name, body in pending.items():
            target.writestr(_new_info(name, infos[0].date_time), body)
    return out.getvalue()


def _copied_info(info: zipfile.ZipInfo) -> zipfile.ZipInfo:
    # A fresh ZipInfo: writing updates offsets and sizes, which must not touch the source's.
    copy = zipfile.ZipInfo(info.filename, info.date_time)
    copy.compress_type = info.compress_type
    copy.external_attr = info.external_attr
    copy.create_system = info.create_system
    copy.comment = info.comment
    return copy


def _new_info(name: str, date_time: tuple[int, int, int, int, int, int]) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time)
    info.compress_type = zipfile.ZIP_DEFLATED
    return info
