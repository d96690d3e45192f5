"""Read a saved email (.eml or Outlook .msg): who sent it, when, and the files attached to it.

The clerk drops saved emails in the inbox; the forms ride along as attachments. Files attached to
a forwarded email (a message/rfc822 part, an embedded Outlook item, an attached .eml or .msg) are
listed too, down to `MAX_NESTING` levels. Pictures shown in the body are not attachments.
"""

from __future__ import annotations

import io
import mimetypes
import os
import re
import unicodedata
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import parseaddr, parsedate_to_datetime
from html.parser import HTMLParser

import extract_msg
from extract_msg.exceptions import InvalidFileFormatError
from extract_msg.null_date import NullDate

from pipeline.core.errors import RejectedFile, UnreadableFile, UnsafeFile

EMAIL_SUFFIXES = (".eml", ".msg")
OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
MAX_ATTACHMENTS = 50
MAX_TOTAL_BYTES = 50 * 1024 * 1024
MAX_NESTING = 3
MAX_NAME_LENGTH = 150
_SAVE_AGAIN = "Please save it again from your mail program."
# Headers any real email has at least one of; a file with none of them is not an email.
_MAIL_HEADERS = ("from", "to", "subject", "date", "message-id", "mime-version", "received")
_UNSAFE_NAME_CHARS = str.maketrans({ch: "_" for ch in '<>:"|?*'})
# Where an Outlook file keeps the sender's address, best first. The plain "email address" can be
# Exchange's internal form ("/O=EXCHANGELABS/OU=...") rather than an SMTP address.
_MSG_ADDRESS_STREAMS = (
    "__substg1.0_5D01",  # PR_SENDER_SMTP_ADDRESS
    "__substg1.0_0C1F",  # PR_SENDER_EMAIL_ADDRESS
    "__substg1.0_5D02",  # PR_SENT_REPRESENTING_SMTP_ADDRESS
    "__substg1.0_0065",  # PR_SENT_REPRESENTING_EMAIL_ADDRESS
)


@dataclass(frozen=True)
class Attachment:
    """A file attached to the email: its safe name, exact bytes and declared content type."""

    name: str
    data: bytes
    content_type: str


@dataclass(frozen=True)
class Envelope:
    """What a saved email says about itself, and the files it carries."""

    sender: str | None
    sender_name: str | None
    sent_at: datetime | None
    subject: str
    attachments: tuple[Attachment, ...]
    body_text: str
    # When the receiving mail server (the topmost Received header) took the message; None
    # when there is none. The sender's own Date (`sent_at`) is kept for information only.
    received_at: datetime | None = None
    # The checks the receiving server says the sender failed ("spf", "dkim", "dmarc").
    failed_checks: tuple[str, ...] = ()


def is_email(name: str) -> bool:
    """True for a file name that looks like a saved email (.eml or .msg)."""
    return name.lower().endswith(EMAIL_SUFFIXES)


def read_email(data: bytes, name: str) -> Envelope:
    """Read a saved email; raise UnreadableFile if it is not one, UnsafeFile if it carries too much.

    An Outlook file is recognised by its content (an OLE compound file), whatever its name.
    """
    shown = safe_name(name, "")
    if not data.strip():
        raise UnreadableFile(f'The saved email "{shown}" is empty. {_SAVE_AGAIN}')
    found = _Found(shown)
    try:
        if data.startswith(OLE_SIGNATURE):
            return _read_msg(data, shown, found)
        return _read_eml(data, shown, found)
    except RejectedFile:
        raise
    except InvalidFileFormatError as exc:
        raise UnreadableFile(_not_an_email(shown)) from exc
    except Exception as exc:
        # extract_msg, olefile and RTFDE raise many unrelated types on damaged input; none of
        # their text is meant for the clerk.
        raise UnreadableFile(
            f'The saved email "{shown}" could not be read: it may be damaged. {_SAVE_AGAIN}'
        ) from exc


def _not_an_email(shown: str) -> str:
    return f'The file "{shown}" is not a saved email. {_SAVE_AGAIN}'


@dataclass
class _Found:
    """The attachments gathered so far, checked against the limits as each one is added."""

    email_name: str
    items: list[Attachment] = field(default_factory=list)
    total_bytes: int = 0

    def add(self, raw_name: str | None, data: bytes, content_type: str) -> None:
        if len(self.items) >= MAX_ATTACHMENTS:
            raise UnsafeFile(
                f'The email "{self.email_name}" has more than {MAX_ATTACHMENTS} attachments. '
                "Please send the completed form in an email of its own."
            )
        self.total_bytes += len(data)
        if self.total_bytes > MAX_TOTAL_BYTES:
            raise UnsafeFile(
                f'The attachments on the email "{self.email_name}" add up to more than '
                f"{MAX_TOTAL_BYTES // (1024 * 1024)} MB. Please send only the completed form."
            )
        self.items.append(Attachment(safe_name(raw_name, content_type), data, content_type))


def _collect_attached_email(data: bytes, found: _Found, depth: int) -> None:
    """An .eml or .msg attached as a plain file: list what it carries, not the email itself."""
    if data.startswith(OLE_SIGNATURE):
        with closing(extract_msg.openMsg(io.BytesIO(data))) as msg:
            _collect_msg(msg, found, depth)
    else:
        _collect_eml(_parse_eml(data), found, depth)


# --- .eml (RFC 822 / MIME) -------------------------------------------------------------------


def _read_eml(data: bytes, shown: str, found: _Found) -> Envelope:
    message = _parse_eml(data)
    if not any(key.lower() in _MAIL_HEADERS for key in message):
        raise UnreadableFile(_not_an_email(shown))
    _collect_eml(message, found, depth=0)
    sender_name, sender = _eml_sender(message)
    return Envelope(
        sender=sender,
        sender_name=sender_name,
        sent_at=_eml_sent_at(message),
        subject=str(message.get("Subject", "")).strip(),
        attachments=tuple(found.items),
        body_text=_eml_body(message),
        received_at=received_at(message),
        failed_checks=failed_checks(message),
    )


def _parse_eml(data: bytes) -> EmailMessage:
    message = BytesParser(policy=policy.default).parsebytes(data)
    assert isinstance(message, EmailMessage)  # policy.default always builds EmailMessage
    return message


def _eml_sender(message: EmailMessage) -> tuple[str | None, str | None]:
    addresses = getattr(message.get("From"), "addresses", ())
    if not addresses:
        return None, None
    return _name_and_address(addresses[0].display_name, addresses[0].addr_spec)


def _eml_sent_at(message: EmailMessage) -> datetime | None:
    sent_at = getattr(message.get("Date"), "datetime", None)
    return _aware(sent_at) if isinstance(sent_at, datetime) else None


def _eml_body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    text = _decoded_text(part)
    return _html_to_text(text) if part.get_content_subtype() == "html" else _tidy(text)


def _decoded_text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    try:
        return payload.decode(part.get_content_charset() or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        return payload.decode("utf-8", errors="replace")


def _collect_eml(part: Message, found: _Found, depth: int) -> None:
    """Walk the MIME tree; a forwarded email (message/rfc822) is opened one level deeper."""
    if part.get_content_type() == "message/rfc822":
        forwarded = _forwarded_message(part)
        if forwarded is not None and depth < MAX_NESTING:
            _collect_eml(forwarded, found, depth + 1)
    elif part.is_multipart():
        for child in part.get_payload():
            _collect_eml(child, found, depth)
    elif _is_eml_attachment(part):
        data = part.get_payload(decode=True)
        data = data if isinstance(data, bytes) else b""
        name = part.get_filename()
        if name and is_email(name) and depth < MAX_NESTING:
            _collect_attached_email(data, found, depth + 1)
        else:
            found.add(name, data, part.get_content_type())


def _forwarded_message(part: Message) -> Message | None:
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        return payload[0]
    raw = part.get_payload(decode=True)  # some mailers base64-encode a forwarded email
    return _parse_eml(raw) if isinstance(raw, bytes) and raw else None


def _is_eml_attachment(part: Message) -> bool:
    """A picture shown in the body, or a body text part, is not an attachment."""
    if part.get_content_maintype() == "image" and part.get("Content-ID"):
        return False
    return part.get_content_disposition() == "attachment" or part.get_filename() is not None


# --- .msg (Outlook) --------------------------------------------------------------------------


def _read_msg(data: bytes, shown: str, found: _Found) -> Envelope:
    # A BytesIO, never bytes: olefile treats bytes shorter than 1536 as a file path.
    with closing(extract_msg.openMsg(io.BytesIO(data))) as msg:
        _collect_msg(msg, found, depth=0)
        sender_name, sender = _msg_sender(msg)
        return Envelope(
            sender=sender,
            sender_name=sender_name,
            sent_at=_msg_sent_at(msg.date),
            subject=(msg.subject or "").strip(),
            attachments=tuple(found.items),
            body_text=_tidy(msg.body or ""),
            received_at=received_at(_msg_headers(msg)),
            failed_checks=failed_checks(_msg_headers(msg)),
        )


def _msg_sender(msg: extract_msg.MSGFile) -> tuple[str | None, str | None]:
    sender = (getattr(msg, "sender", None) or "").strip()
    display_name, address = parseaddr(sender)
    if "@" not in address:  # Outlook gave only the name: look for the address elsewhere
        display_name = display_name or sender
        streams = (msg.getStringStream(stream) for stream in _MSG_ADDRESS_STREAMS)
        address = next((found for found in streams if found and "@" in found), "")
    return _name_and_address(display_name, address)


def _msg_sent_at(value: datetime | str | None) -> datetime | None:
    if isinstance(value, str):
        try:
            value = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
    if not isinstance(value, datetime) or isinstance(value, NullDate):
        return None
    return _aware(value)


def _collect_msg(msg: extract_msg.MSGFile, found: _Found, depth: int) -> None:
    for attachment in msg.attachments:
        data = attachment.data
        name = getattr(attachment, "longFilename", None) or getattr(attachment, "name", None)
        if isinstance(data, extract_msg.MSGFile):
            if depth < MAX_NESTING:
                _collect_msg(data, found, depth + 1)
        elif not isinstance(data, bytes) or _is_msg_inline(attachment):
            continue  # links to cloud files and pictures shown in the body
        elif name and is_email(name) and depth < MAX_NESTING:
            _collect_attached_email(data, found, depth + 1)
        else:
            content_type = getattr(attachment, "mimetype", None) or _guess_type(name)
            found.add(name, data, content_type.strip().lower())


def _is_msg_inline(attachment: object) -> bool:
    if getattr(attachment, "hidden", False):
        return True
    image = (getattr(attachment, "mimetype", None) or "").startswith("image/")
    return image and bool(getattr(attachment, "contentId", None))


def _msg_headers(msg: extract_msg.MSGFile) -> Message:
    """The internet headers an Outlook file kept from the server, if any (else none)."""
    header = getattr(msg, "header", None)
    return header if isinstance(header, Message) else Message()


# --- what the receiving server said ----------------------------------------------------------

_FAILED = re.compile(r"\b(spf|dkim|dmarc)\s*=\s*(fail|softfail|permerror)\b", re.IGNORECASE)


def failed_checks(message: Message) -> tuple[str, ...]:
    """The sender checks the receiving server's Authentication-Results header says failed."""
    found: set[str] = set()
    for value in message.get_all("Authentication-Results", []) or []:
        found |= {match.group(1).lower() for match in _FAILED.finditer(str(value))}
    return tuple(sorted(found))


def received_at(message: Message) -> datetime | None:
    """When the last mail server (ours: the topmost Received header) took the message."""
    values = message.get_all("Received", []) or []
    if not values:
        return None
    _, _, when = str(values[0]).rpartition(";")
    try:
        moment = parsedate_to_datetime(" ".join(when.split()))
    except (TypeError, ValueError, IndexError):
        return None
    return _aware(moment) if isinstance(moment, datetime) else None


def peek_sender(data: bytes) -> str | None:
    """The From address of a saved email that could not be read whole (too many attachments,
    damage further on): read from its headers only. None when there is none."""
    try:
        if data.startswith(OLE_SIGNATURE):
            with closing(extract_msg.openMsg(io.BytesIO(data))) as msg:
                return _msg_sender(msg)[1]
        headers = BytesParser(policy=policy.default).parsebytes(data[:65536], headersonly=True)
        return _eml_sender(headers)[1]  # type: ignore[arg-type]
    except Exception:  # noqa: BLE001 - a damaged email simply has no sender we can trust
        return None


@dataclass(frozen=True)
class Thread:
    """What a reply needs to join a saved email's thread: its Message-ID, References, Subject."""

    message_id: str
    references: str | None
    subject: str | None


def thread_of(data: bytes) -> Thread | None:
    """The thread headers of a saved email (headers only), or None when it has no Message-ID."""
    try:
        if data.startswith(OLE_SIGNATURE):
            with closing(extract_msg.openMsg(io.BytesIO(data))) as msg:
                headers = _msg_headers(msg)
                message_id = (msg.messageId or headers.get("Message-ID") or "").strip()
                references = headers.get("References") or msg.inReplyTo
                subject = msg.subject
        else:
            parsed = BytesParser(policy=policy.default).parsebytes(data[:65536], headersonly=True)
            message_id = str(parsed.get("Message-ID") or "").strip()
            references, subject = parsed.get("References"), parsed.get("Subject")
    except Exception:  # noqa: BLE001 - a damaged email simply cannot be threaded
        return None
    if not message_id:
        return None
    return Thread(message_id, " ".join(str(references).split()) if references else None,
                  " ".join(str(subject).split()) if subject else None)


# --- shared ----------------------------------------------------------------------------------


def _name_and_address(display_name: str, address: str) -> tuple[str | None, str | None]:
    address = address.strip().lower()
    return (display_name.strip() or None), (address if "@" in address else None)


def _tidy(text: str) -> str:
    return text.replace("\r\n", "\n").strip()


def _aware(value: datetime) -> datetime:
    """A date with no zone ("-0000" in a Date header) is taken as UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _guess_type(name: str | None) -> str:
    return (mimetypes.guess_type(name)[0] if name else None) or "application/octet-stream"


def safe_name(raw: str | None, content_type: str) -> str:
    """The last path component, without control characters, at most MAX_NAME_LENGTH long."""
    name = unicodedata.normalize("NFC", raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    # Category C: control, format (e.g. the right-to-left override that disguises ".exe"),
    # surrogates left by undecodable bytes, private use and unassigned.
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = name.translate(_UNSAFE_NAME_CHARS).strip(" .")
    if not name:
        name = "attachment" + (mimetypes.guess_extension(content_type) or "")
    stem, extension = os.path.splitext(name)
    if len(name) > MAX_NAME_LENGTH:
        extension = extension if len(extension) <= 20 else ""
        name = stem[: MAX_NAME_LENGTH - len(extension)] + extension
    return name


class _TextOfHtml(HTMLParser):
    """Collects the words of an HTML body, leaving out scripts and style sheets."""

    _HIDDEN = ("script", "style")

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._open_hidden: list[str] = []

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag in self._HIDDEN:
            self._open_hidden.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._open_hidden:
            self._open_hidden.remove(tag)

    def handle_data(self, data: str) -> None:
        if not self._open_hidden:
            self.chunks.append(data)


def _html_to_text(html: str) -> str:
    parser = _TextOfHtml()
    parser.feed(html)
    parser.close()
    return " ".join(" ".join(parser.chunks).split())
