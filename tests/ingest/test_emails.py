"""Reading saved emails (.eml and Outlook .msg) dropped in the inbox."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta, timezone
from email.message import EmailMessage
from pathlib import Path

import docx
import openpyxl
import pytest
from extract_msg import OleWriter

from pipeline.core.errors import UnreadableFile, UnsafeFile
from pipeline.ingest.emails import Attachment, is_email, read_email
from tests.support.msgwriter import MsgAttachment, MsgMessage, build_msg

SAMPLES = Path(__file__).parent / "samples"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PNG_1PX = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c63606060f80f0001040100c12d8e500000000049454e44ae426082"
)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
SENT_AT = datetime(2024, 3, 5, 10, 30, 59, tzinfo=timezone(timedelta(hours=1)))


def docx_bytes(text: str) -> bytes:
    document = docx.Document()
    document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def xlsx_bytes() -> bytes:
    workbook = openpyxl.Workbook()
    workbook.active["A1"] = "Quarter"
    workbook.active["B1"] = "Q1"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def new_email(subject: str = "Q1 return", body: str = "Please find our return attached.") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Cllr Jane Smith <Jane.Smith@Example.gov.uk>"
    message["To"] = "partnerships@police-authority.example.gov.uk"
    message["Subject"] = subject
    message["Date"] = "Tue, 05 Mar 2024 10:30:59 +0100"
    message.set_content(body)
    return message


def attach(message: EmailMessage, name: str, data: bytes, content_type: str) -> None:
    maintype, subtype = content_type.split("/")
    message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)


def names(attachments: tuple[Attachment, ...]) -> list[str]:
    return [attachment.name for attachment in attachments]


class TestEml:
    def test_reads_sender_date_and_every_attachment_including_a_forwarded_emails(self):
        form, workbook = docx_bytes("Partnership monitoring return"), xlsx_bytes()
        message = new_email()
        message.add_alternative('<p>Our logo: <img src="cid:logo@northshire"></p>', subtype="html")
        html = message.get_payload()[1]
        html.add_related(PNG_1PX, maintype="image", subtype="png", cid="<logo@northshire>")
        attach(message, "Monitoring return Q1.docx", form, DOCX_TYPE)
        attach(message, "Figures.xlsx", workbook, XLSX_TYPE)
        forwarded = new_email(subject="Minutes")
        attach(forwarded, "Minutes.pdf", PDF, "application/pdf")
        message.add_attachment(forwarded)  # message/rfc822

        envelope = read_email(message.as_bytes(), "Q1 return.eml")

        assert envelope.sender == "jane.smith@example.gov.uk"
        assert envelope.sender_name == "Cllr Jane Smith"
        assert envelope.sent_at == SENT_AT and envelope.sent_at.tzinfo is not None
        assert envelope.subject == "Q1 return"
        assert envelope.body_text == "Please find our return attached."
        assert envelope.attachments == (
            Attachment("Monitoring return Q1.docx", form, DOCX_TYPE),
            Attachment("Figures.xlsx", workbook, XLSX_TYPE),
            Attachment("Minutes.pdf", PDF, "application/pdf"),
        )

    def test_reads_a_saved_outlook_reply(self):
        data = (SAMPLES / "outlook_reply.eml").read_bytes()

        envelope = read_email(data, "outlook_reply.eml")

        assert envelope.sender == "jane.smith@example.gov.uk"
        assert envelope.sender_name == "Smith, Jane (Cllr)"
        assert envelope.sent_at == SENT_AT
        assert envelope.subject == "RE: Q1 return \u2013 Northshire CSP"
        assert envelope.body_text.startswith("Dear colleagues,\n\nPlease find our Q1 return")
        assert names(envelope.attachments) == [
            "Partnership return \u2013 Q1.csv",
            "Minutes \u2013 March.pdf",
        ]  # image001.png is the picture in the body, not an attachment
        csv = envelope.attachments[0]
        assert csv.content_type == "text/csv"
        assert csv.data.startswith(b"field,value\r\norganisation,Northshire Community Safety")
        assert envelope.attachments[1].data.startswith(b"%PDF-1.4\n")

    def test_an_email_with_no_attachment_has_none(self):
        envelope = read_email(new_email().as_bytes(), "no form.eml")

        assert envelope.attachments == ()
        assert envelope.sender == "jane.smith@example.gov.uk"

    def test_html_only_email_gives_its_words_as_body_text(self):
        message = new_email()
        message.set_content("<style>p {color: red}</style><p>Return &amp; notes</p>", subtype="html")

        assert read_email(message.as_bytes(), "x.eml").body_text == "Return & notes"

    @pytest.mark.parametrize(
        "data",
        [b"\x00\xff\xfe\x89PNG\r\n\x1a\n random bytes", b"Dear clerk,\nhere is the form.\n"],
        ids=["garbage", "plain text"],
    )
    def test_a_file_with_no_email_headers_is_not_an_email(self, data):
        with pytest.raises(UnreadableFile, match='"x.eml" is not a saved email'):
            read_email(data, "x.eml")

    def test_an_empty_file_is_unreadable(self):
        with pytest.raises(UnreadableFile, match="is empty"):
            read_email(b"", "x.eml")

    @pytest.mark.parametrize(
        ("given", "safe"),
        [
            ("../../etc/passwd", "passwd"),
            ("C:\\Users\\jane\\Desktop\\Return.docx", "Return.docx"),
            ("Return\x00\x07\u202ecod.exe.docx", "Returncod.exe.docx"),
            ("..", "attachment.bin"),
            ("a" * 300 + ".docx", "a" * 145 + ".docx"),
        ],
    )
    def test_attachment_names_are_made_safe(self, given, safe):
        message = new_email()
        attach(message, "placeholder", b"data", "application/octet-stream")
        message.get_payload()[1].set_param("filename", given, header="Content-Disposition")

        assert names(read_email(message.as_bytes(), "x.eml").attachments) == [safe]

    def test_more_than_fifty_attachments_is_unsafe(self):
        message = new_email()
        for number in range(51):
            attach(message, f"form{number}.docx", b"x", DOCX_TYPE)

        with pytest.raises(UnsafeFile, match="more than 50 attachments"):
            read_email(message.as_bytes(), "x.eml")

    def test_fifty_attachments_are_accepted(self):
        message = new_email()
        for number in range(50):
            attach(message, f"form{number}.docx", b"x", DOCX_TYPE)

        assert len(read_email(message.as_bytes(), "x.eml").attachments) == 50

    @pytest.mark.slow
    def test_attachments_over_fifty_megabytes_in_all_are_unsafe(self):
        message = new_email()
        for number in range(2):
            attach(message, f"scan{number}.pdf", bytes(26 * 1024 * 1024), "application/pdf")

        with pytest.raises(UnsafeFile, match="more than 50 MB"):
            read_email(message.as_bytes(), "x.eml")

    def test_forwarded_emails_are_opened_three_levels_deep_and_no_further(self):
        inner = None
        for level in (4, 3, 2, 1):
            message = new_email(subject=f"level {level}")
            attach(message, f"level{level}.docx", b"x", DOCX_TYPE)
            if inner is not None:
                message.add_attachment(inner)
            inner = message
        top = new_email()
        top.add_attachment(inner)

        envelope = read_email(top.as_bytes(), "x.eml")

        assert names(envelope.attachments) == ["level1.docx", "level2.docx", "level3.docx"]

    def test_an_email_attached_as_an_eml_file_is_opened(self):
        forwarded = new_email()
        attach(forwarded, "Return.docx", b"form", DOCX_TYPE)
        message = new_email()
        attach(message, "Fwd Return.eml", forwarded.as_bytes(), "application/octet-stream")

        assert names(read_email(message.as_bytes(), "x.eml").attachments) == ["Return.docx"]


def outlook_message(**changes: object) -> MsgMessage:
    fields: dict[str, object] = {
        "subject": "Q1 return",
        "sender_email": "Jane.Smith@Example.gov.uk",
        "sender_name": "Cllr Jane Smith",
        "body": "Please find our return attached.\r\nJane",
        "sent_at": datetime(2024, 3, 5, 9, 30, 59, tzinfo=UTC),
    }
    return MsgMessage(**(fields | changes))


class TestMsg:
    def test_reads_subject_sender_date_and_attachments(self):
        form, workbook = docx_bytes("Partnership monitoring return"), xlsx_bytes()
        forwarded = outlook_message(
            subject="FW: minutes", attachments=[MsgAttachment("Figures.xlsx", workbook, XLSX_TYPE)]
        )
        msg = outlook_message(
            attachments=[
                MsgAttachment("Monitoring return Q1.docx", form, DOCX_TYPE),
                MsgAttachment("image001.png", PNG_1PX, "image/png", hidden=True),
                MsgAttachment("image002.png", PNG_1PX, "image/png", content_id="image002@01DA"),
                MsgAttachment("FW: minutes", message=forwarded),
            ]
        )

        envelope = read_email(build_msg(msg), "Q1 return.msg")

        assert envelope.subject == "Q1 return"
        assert envelope.sender == "jane.smith@example.gov.uk"
        assert envelope.sender_name == "Cllr Jane Smith"
        assert envelope.sent_at == SENT_AT and envelope.sent_at.tzinfo is not None
        assert envelope.body_text == "Please find our return attached.\nJane"
        assert envelope.attachments == (
            Attachment("Monitoring return Q1.docx", form, DOCX_TYPE),
            Attachment("Figures.xlsx", workbook, XLSX_TYPE),
        )

    def test_exchange_internal_address_gives_way_to_the_smtp_address(self):
        msg = outlook_message(
            sender_email="/O=EXCHANGELABS/OU=EXCHANGE ADMINISTRATIVE GROUP/CN=RECIPIENTS/CN=JSMITH",
            sender_smtp="Jane.Smith@Example.gov.uk",
        )

        envelope = read_email(build_msg(msg), "x.msg")

        assert (envelope.sender, envelope.sender_name) == (
            "jane.smith@example.gov.uk",
            "Cllr Jane Smith",
        )

    def test_a_message_with_no_attachment_has_none(self):
        assert read_email(build_msg(outlook_message()), "x.msg").attachments == ()

    def test_recognised_by_content_whatever_its_name(self):
        data = build_msg(outlook_message(attachments=[MsgAttachment("a.docx", b"x", DOCX_TYPE)]))

        assert names(read_email(data, "saved.eml").attachments) == ["a.docx"]

    def test_an_outlook_message_attached_to_an_eml_is_opened(self):
        inner = build_msg(outlook_message(attachments=[MsgAttachment("a.docx", b"x", DOCX_TYPE)]))
        message = new_email()
        attach(message, "Q1 return.msg", inner, "application/vnd.ms-outlook")

        assert names(read_email(message.as_bytes(), "x.eml").attachments) == ["a.docx"]

    @pytest.mark.parametrize("keep", [0.5, 0.1])
    def test_a_truncated_message_is_unreadable(self, keep):
        data = build_msg(outlook_message(attachments=[MsgAttachment("a.docx", bytes(20000), DOCX_TYPE)]))

        with pytest.raises(UnreadableFile, match="could not be read: it may be damaged"):
            read_email(data[: int(len(data) * keep)], "x.msg")

    def test_an_office_file_that_is_not_a_message_is_not_an_email(self):
        writer = OleWriter()
        writer.addEntry("WordDocument", b"\xec\xa5" + bytes(5000))  # what an old .doc holds
        out = io.BytesIO()
        writer.write(out)

        with pytest.raises(UnreadableFile, match='"x.msg" is not a saved email'):
            read_email(out.getvalue(), "x.msg")


@pytest.mark.parametrize(
    ("name", "expected"),
    [("a.eml", True), ("A.MSG", True), ("a.docx", False), ("eml", False), ("a.eml.pdf", False)],
)
def test_is_email(name, expected):
    assert is_email(name) is expected
