"""Build small Outlook .msg files for tests.

A .msg is a compound (OLE2/CFB) file laid out as MS-OXMSG describes: each property of the
message is a stream named `__substg1.0_<id><type>`, and the fixed-size ones (dates, numbers,
flags) sit in a `__properties_version1.0` stream. Each attachment is a storage
`__attach_version1.0_#0000000N` with its own properties; an attached Outlook item keeps its
message in a `__substg1.0_3701000D` storage.

extract-msg cannot write a message, but it ships `OleWriter`, which writes the compound file
container (header, FAT, directory, mini stream); olefile (a separate reader) reads it back.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass, field
from datetime import UTC, datetime

from extract_msg import OleWriter

PT_LONG = 0x0003
PT_BOOLEAN = 0x000B
PT_SYSTIME = 0x0040
PT_UNICODE = 0x001F
PT_BINARY = 0x0102
PT_OBJECT = 0x000D

PROPATTR_READABLE_WRITABLE = 0x6
MSGFLAG_READ = 0x1
STORE_UNICODE_OK = 0x40000
ATTACH_BY_VALUE = 1
ATTACH_EMBEDDED_MSG = 5
FILETIME_UNIX_EPOCH = 116444736000000000  # 1970-01-01 in 100 ns ticks since 1601-01-01


@dataclass
class MsgAttachment:
    """A file attached to a test message, or (with `message`) an attached Outlook item."""

    name: str = ""
    data: bytes = b""
    mime: str = "application/octet-stream"
    hidden: bool = False
    content_id: str | None = None
    message: MsgMessage | None = None


@dataclass
class MsgMessage:
    """The few properties of an Outlook message the pipeline reads."""

    subject: str = ""
    sender_email: str | None = None
    sender_name: str | None = None
    sender_smtp: str | None = None
    body: str = ""
    sent_at: datetime | None = None
    attachments: list[MsgAttachment] = field(default_factory=list)
    message_id: str | None = None
    internet_headers: str | None = None  # as the server sent them, e.g. "References: <...>"


def build_msg(message: MsgMessage) -> bytes:
    """The bytes of a .msg file holding `message`."""
    writer = OleWriter()
    _add_message(writer, [], message, embedded=False)
    for stream in ("__substg1.0_00020102", "__substg1.0_00030102", "__substg1.0_00040102"):
        writer.addEntry(["__nameid_version1.0", stream], b"")  # no named properties
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


class _PropertyStream:
    """Collects one object's properties: strings and binaries as streams, the rest inline."""

    def __init__(self, writer: OleWriter, path: list[str]) -> None:
        self.writer, self.path, self.entries = writer, path, b""

    def fixed(self, prop_id: int, prop_type: int, value: bytes) -> None:
        self.entries += struct.pack("<HHI", prop_type, prop_id, PROPATTR_READABLE_WRITABLE)
        self.entries += value.ljust(8, b"\0")

    def long(self, prop_id: int, value: int) -> None:
        self.fixed(prop_id, PT_LONG, struct.pack("<I", value))

    def variable(self, prop_id: int, prop_type: int, data: bytes) -> None:
        self.writer.addEntry([*self.path, f"__substg1.0_{prop_id:04X}{prop_type:04X}"], data)
        size = len(data) + (2 if prop_type == PT_UNICODE else 0)  # a string counts its NUL
        self.fixed(prop_id, prop_type, struct.pack("<II", size, 0))

    def text(self, prop_id: int, value: str | None) -> None:
        if value is not None:
            self.variable(prop_id, PT_UNICODE, value.encode("utf-16-le"))

    def write(self, header: bytes) -> None:
        self.writer.addEntry([*self.path, "__properties_version1.0"], header + self.entries)


def _add_message(writer: OleWriter, path: list[str], message: MsgMessage, embedded: bool) -> None:
    props = _PropertyStream(writer, path)
    props.text(0x001A, "IPM.Note")  # PR_MESSAGE_CLASS
    props.text(0x0037, message.subject)  # PR_SUBJECT
    props.text(0x0C1A, message.sender_name)  # PR_SENDER_NAME
    props.text(0x0C1F, message.sender_email)  # PR_SENDER_EMAIL_ADDRESS
    props.text(0x5D01, message.sender_smtp)  # PR_SENDER_SMTP_ADDRESS
    props.text(0x1000, message.body)  # PR_BODY
    props.text(0x1035, message.message_id)  # PR_INTERNET_MESSAGE_ID
    props.text(0x007D, message.internet_headers)  # PR_TRANSPORT_MESSAGE_HEADERS
    props.long(0x0E07, MSGFLAG_READ)  # PR_MESSAGE_FLAGS: read, not a draft
    props.long(0x340D, STORE_UNICODE_OK)  # PR_STORE_SUPPORT_MASK: strings are UTF-16
    if message.sent_at is not None:  # PR_CLIENT_SUBMIT_TIME
        props.fixed(0x0039, PT_SYSTIME, struct.pack("<Q", _filetime(message.sent_at)))
    for number, attachment in enumerate(message.attachments):
        _add_attachment(writer, [*path, f"__attach_version1.0_#{number:08X}"], attachment, number)
    count = len(message.attachments)
    # Header: reserved 8, next recipient id, next attachment id, recipient count, attachment
    # count; the top-level message adds 8 more reserved bytes (MS-OXMSG 2.4.1).
    header = struct.pack("<8x4I", 0, count, 0, count) + (b"" if embedded else b"\0" * 8)
    props.write(header)


def _add_attachment(writer: OleWriter, path: list[str], item: MsgAttachment, number: int) -> None:
    writer.addEntry(path, storage=True)
    props = _PropertyStream(writer, path)
    props.long(0x0E21, number)  # PR_ATTACH_NUM
    props.long(0x370B, 0xFFFFFFFF)  # PR_RENDERING_POSITION: not placed in the body
    props.text(0x3001, item.name)  # PR_DISPLAY_NAME
    if item.message is not None:
        props.long(0x3705, ATTACH_EMBEDDED_MSG)  # PR_ATTACH_METHOD
        writer.addEntry([*path, "__substg1.0_3701000D"], storage=True)
        _add_message(writer, [*path, "__substg1.0_3701000D"], item.message, embedded=True)
        props.fixed(0x3701, PT_OBJECT, struct.pack("<II", 0xFFFFFFFF, 0))
    else:
        props.long(0x3705, ATTACH_BY_VALUE)  # PR_ATTACH_METHOD
        props.text(0x3707, item.name)  # PR_ATTACH_LONG_FILENAME
        props.text(0x370E, item.mime)  # PR_ATTACH_MIME_TAG
        props.variable(0x3701, PT_BINARY, item.data)  # PR_ATTACH_DATA_BIN
        props.long(0x0E20, len(item.data))  # PR_ATTACH_SIZE
    props.text(0x3712, item.content_id)  # PR_ATTACH_CONTENT_ID
    props.fixed(0x7FFE, PT_BOOLEAN, struct.pack("<H", item.hidden))  # PR_ATTACHMENT_HIDDEN
    props.write(b"\0" * 8)


def _filetime(moment: datetime) -> int:
    """100-nanosecond ticks since 1601-01-01 UTC, as Windows stores times."""
    seconds = (moment - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds()
    return FILETIME_UNIX_EPOCH + round(seconds * 10_000_000)
