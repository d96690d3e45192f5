"""Sending email: messages composed, sent to a real SMTP server on loopback, parsed and checked."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest

from pipeline.core.definitions import FormLibrary
from pipeline.core.errors import ConfigError, SendError
from pipeline.core.identity import PROP_TOKEN, Personalisation
from pipeline.generate.forms import form_bytes, form_file_name
from pipeline.ingest.emails import read_email
from pipeline.ingest.validation import Problem, describe
from pipeline.ooxml.package import Package, read_custom_properties
from pipeline.schedule.mailer import FileMailer, SendMode, SmtpMailer, mailer_for
from pipeline.schedule.messages import (
    DOCX_TYPE,
    TOKEN_HEADER,
    XLSX_TYPE,
    FormSent,
    Letterhead,
    chaser,
    form_request,
    paper_notice,
    receipt,
    rejection_reply,
)
from tests.support.smtp_server import PASSWORD, SENDER, USERNAME, LoopbackSmtp, free_port, running

MEMBER = "jo.bloggs@hull.example"
AUTHORITY = "Humberside Police Authority"
LETTERHEAD = Letterhead(AUTHORITY, SENDER)
MEETING = date(2026, 11, 2)
DUE = date(2026, 11, 9)
SENT_AT = datetime(2026, 10, 29, 9, 0, tzinfo=UTC)
PASSWORD_ENV = "TEST_PIPELINE_SMTP_PASSWORD"
# The test server's login is over plain text on loopback, which aiosmtpd warns about.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")




@pytest.fixture(scope="module")
def monitoring_form(library: FormLibrary) -> tuple[str, bytes, str]:
    """A real personalised monitoring form: (file name, bytes, the token it carries)."""
    definition = library.get("monitoring")
    person = Personalisation(partnership="Hull CDRP", member="Jo Bloggs", meeting_title="Board",
                             meeting_date=MEETING, meeting_place="Guildhall, Hull")
    data, identity = form_bytes(definition, "docx", person)
    assert identity.token
    return form_file_name(definition, person, "docx"), data, identity.token


def request_for(form: tuple[str, bytes, str], *, to: str = MEMBER, now: datetime = SENT_AT,
                subject_note: str = "") -> EmailMessage:
    name, data, token = form
    sent = FormSent(form_title="Partnership Monitoring Form", partnership="Hull CDRP" + subject_note,
                    due=DUE, meeting_date=MEETING, meeting_title="Board", attachment=(name, data),
                    token=token)
    return form_request(to=to, member="Jo Bloggs", form=sent, now=now,
                        letterhead=Letterhead(AUTHORITY, SENDER, "returns@authority.example"))


def only_attachment(message: EmailMessage) -> tuple[str | None, str, bytes]:
    parts = list(message.iter_attachments())
    assert len(parts) == 1
    return parts[0].get_filename(), parts[0].get_content_type(), parts[0].get_content()


def subject_of(message: EmailMessage) -> str:
    # Python's folder may start a long subject on its own continuation line; unfolding then
    # leaves a leading space that mail programs drop.
    return str(message["Subject"]).strip()


def body_of(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()


class TestFormRequest:
    def test_the_member_receives_their_own_form_with_its_token(self, smtp_server: LoopbackSmtp,
                                                               monitoring_form) -> None:
        name, data, token = monitoring_form
        where = SmtpMailer(smtp_server.config()).send(request_for(monitoring_form))

        assert where == f"sent to {MEMBER}"
        [got] = smtp_server.received
        assert got.rcpt_tos == [MEMBER]
        assert got.mail_from == "partnerships@authority.example"
        message = got.message
        assert subject_of(message) == ("Partnership Monitoring Form: Hull CDRP meeting on Monday "
                                      "2 November 2026 \u2014 please return by Monday 9 November 2026")
        assert message["Reply-To"] == "returns@authority.example"
        assert message["Message-ID"].endswith("@authority.example>")
        assert message["Date"] == "Thu, 29 Oct 2026 09:00:00 +0000"
        filename, content_type, attached = only_attachment(message)
        assert (filename, content_type, attached) == (name, DOCX_TYPE, data)
        carried = read_custom_properties(Package.open(attached))[PROP_TOKEN]
        assert message[TOKEN_HEADER] == carried == token

    def test_the_covering_note_says_what_it_is_when_it_is_due_and_how_to_return_it(
            self, monitoring_form) -> None:
        body = body_of(request_for(monitoring_form))
        assert body.startswith("Dear Jo Bloggs,")
        assert ("your Partnership Monitoring Form for the Hull CDRP meeting (Board) on Monday "
                "2 November 2026") in body
        assert "return it by Monday 9 November 2026" in body
        assert "Word, LibreOffice or Excel" in body
        assert "Reply to this email with the completed form attached" in body
        assert "do not change the form's layout" in body
        assert "a PDF of it is accepted, but the form itself is better" in body
        assert body.rstrip().endswith(f"Reference: {monitoring_form[2]}")

    def test_an_excel_form_goes_as_a_spreadsheet(self, library: FormLibrary) -> None:
        data, identity = form_bytes(library.get("monitoring"), "xlsx",
                                    Personalisation(partnership="Hull CDRP", member="Jo Bloggs"))
        sent = FormSent(form_title="Partnership Monitoring Form", partnership="Hull CDRP", due=None,
                        meeting_date=None, meeting_title=None, attachment=("monitoring.xlsx", data),
                        token=identity.token)
        message = form_request(to=MEMBER, member="Jo Bloggs", form=sent, letterhead=LETTERHEAD)
        assert subject_of(message) == "Partnership Monitoring Form: Hull CDRP"
        assert message["Reply-To"] is None
        assert only_attachment(message)[1:] == (XLSX_TYPE, data)
        assert "as soon as you can" in body_of(message)


class TestChaser:
    def test_a_reminder_says_how_overdue_and_attaches_the_form_again(
            self, smtp_server: LoopbackSmtp, monitoring_form) -> None:
        name, data, token = monitoring_form
        sent = FormSent(form_title="Partnership Monitoring Form", partnership="Hull CDRP", due=DUE,
                        meeting_date=MEETING, meeting_title="Board", attachment=(name, data), token=token)
        message = chaser(to=MEMBER, member="Jo Bloggs", form=sent, letterhead=LETTERHEAD,
                         today=date(2026, 11, 12))
        SmtpMailer(smtp_server.config()).send(message)

        [got] = smtp_server.received
        assert subject_of(got.message) == ("Reminder: Partnership Monitoring Form: Hull CDRP meeting on "
                                          "Monday 2 November 2026 was due on Monday 9 November 2026")
        body = body_of(got.message)
        assert "was due on Monday 9 November 2026 (3 days overdue)" in body
        assert "If you have already sent it, thank you" in body
        assert only_attachment(got.message) == (name, DOCX_TYPE, data)
        assert got.message[TOKEN_HEADER] == token

    def test_one_day_overdue_is_singular(self, monitoring_form) -> None:
        sent = FormSent(form_title="Form", partnership="Hull CDRP", due=DUE, meeting_date=None,
                        meeting_title=None, attachment=monitoring_form[:2], token=None)
        message = chaser(to=MEMBER, member="", form=sent, letterhead=LETTERHEAD,
                         today=date(2026, 11, 10))
        assert "(1 day overdue)" in body_of(message)
        assert body_of(message).startswith("Hello,")
        assert message[TOKEN_HEADER] is None


class TestReplies:
    def test_a_rejection_lists_what_to_fix_and_sends_the_file_back(
            self, smtp_server: LoopbackSmtp) -> None:
        problems = [Problem("meeting_date", "Question 3: Date of meeting",
                            "This must be a date, for example 02/11/2026."),
                    Problem("meeting_length", "Length of meeting", "Please answer this question.")]
        report = describe("Partnership Monitoring Form", problems)
        original = ("my monitoring form.docx", b"PK\x03\x04 the member's own bytes")
        message = rejection_reply(to=MEMBER, form_title="Partnership Monitoring Form",
                                  report=report, problem_count=2, original=original,
                                  letterhead=LETTERHEAD, in_reply_to="<abc@hull.example>")
        SmtpMailer(smtp_server.config()).send(message)

        [got] = smtp_server.received
        assert got.rcpt_tos == [MEMBER]
        assert subject_of(got.message) == ("Your Partnership Monitoring Form could not be accepted "
                                          "\u2014 please correct 2 things")
        assert got.message["In-Reply-To"] == "<abc@hull.example>"
        body = body_of(got.message)
        assert ("1. Question 3: Date of meeting: This must be a date, for example 02/11/2026."
                in body)
        assert "2. Length of meeting: Please answer this question." in body
        assert "Your file (my monitoring form.docx) is attached" in body
        assert only_attachment(got.message) == (original[0], DOCX_TYPE, original[1])

    def test_a_file_that_is_not_a_form_gets_the_reason_and_no_count(self) -> None:
        message = rejection_reply(to=MEMBER, form_title=None, problem_count=0, original=None,
                                  report="The file is empty: it may not have been saved properly.",
                                  letterhead=LETTERHEAD)
        assert subject_of(message) == "Your form could not be accepted"
        assert "We could not accept it:\n\nThe file is empty" in body_of(message)
        assert list(message.iter_attachments()) == []

    @pytest.mark.parametrize("late", [True, False])
    def test_a_receipt_says_late_only_when_late(self, smtp_server: LoopbackSmtp, late: bool) -> None:
        message = receipt(to=MEMBER, form_title="Partnership Monitoring Form", partnership="Hull CDRP",
                          late=late, letterhead=LETTERHEAD)
        SmtpMailer(smtp_server.config()).send(message)

        [got] = smtp_server.received
        assert subject_of(got.message) == ("Thank you: we have received your Partnership Monitoring "
                                          "Form for Hull CDRP")
        body = body_of(got.message)
        assert ("it has been accepted and marked late" in body) is late
        assert "accepted" in body

    def test_the_clerk_is_told_where_the_papers_are_and_the_deadline(self, tmp_path: Path) -> None:
        papers = [tmp_path / "paper.docx", tmp_path / "pack.pdf"]
        message = paper_notice(to="clerk@authority.example", committee="Partnerships Committee",
                               meeting_date=date(2026, 1, 6), deadline=date(2025, 12, 22),
                               papers=papers, letterhead=Letterhead(AUTHORITY, SENDER, "returns@x.example"))
        assert subject_of(message) == ("Papers ready for the Partnerships Committee meeting on "
                                      "Tuesday 6 January 2026: publish by Monday 22 December 2025")
        body = body_of(message)
        assert f"- {papers[0]}\n- {papers[1]}" in body
        assert list(message.iter_attachments()) == []
        assert message["From"] == SENDER and message["Reply-To"] is None  # the clerk answers nobody


class TestSmtpMailer:
    def test_a_batch_of_twenty_goes_over_one_connection(self, smtp_server: LoopbackSmtp,
                                                       monitoring_form) -> None:
        with SmtpMailer(smtp_server.config()) as mailer:
            for n in range(20):
                mailer.send(request_for(monitoring_form, to=f"member{n}@hull.example"))

        assert sorted(r.rcpt_tos[0] for r in smtp_server.received) == sorted(
            f"member{n}@hull.example" for n in range(20))
        assert len({r.peer for r in smtp_server.received}) == 1

    def test_a_connection_the_server_dropped_is_opened_again(self, monitoring_form) -> None:
        with running(timeout=0.5) as server, SmtpMailer(server.config()) as mailer:
            mailer.send(request_for(monitoring_form, to="first@hull.example"))
            time.sleep(1.2)  # the server closes the idle connection
            mailer.send(request_for(monitoring_form, to="second@hull.example"))

        assert [r.rcpt_tos for r in server.received] == [["first@hull.example"],
                                                         ["second@hull.example"]]
        assert server.received[0].peer != server.received[1].peer

    def test_login_with_the_password_from_the_environment(self, smtp_auth_server: LoopbackSmtp,
                                                          monkeypatch, monitoring_form) -> None:
        monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
        config = smtp_auth_server.config(username=USERNAME, password_env=PASSWORD_ENV)
        SmtpMailer(config).send(request_for(monitoring_form))

        [got] = smtp_auth_server.received
        assert got.authenticated
        assert got.rcpt_tos == [MEMBER]

    def test_a_wrong_password_is_reported_plainly(self, smtp_auth_server: LoopbackSmtp,
                                                  monkeypatch, monitoring_form) -> None:
        monkeypatch.setenv(PASSWORD_ENV, "not the password")
        config = smtp_auth_server.config(username=USERNAME, password_env=PASSWORD_ENV)
        with pytest.raises(SendError) as caught:
            SmtpMailer(config).send(request_for(monitoring_form))
        assert str(caught.value) == (f"Could not send to {MEMBER}: the mail server at "
                                     f"{smtp_auth_server.host}:{smtp_auth_server.port} did not "
                                     f"accept the password for {USERNAME}.")
        assert smtp_auth_server.received == []

    def test_no_login_when_the_server_requires_one(self, smtp_auth_server: LoopbackSmtp,
                                                   monitoring_form) -> None:
        with pytest.raises(SendError, match="asks for a secure connection or a login first"):
            SmtpMailer(smtp_auth_server.config()).send(request_for(monitoring_form))

    def test_a_missing_password_is_a_setup_error_before_connecting(self, monkeypatch) -> None:
        monkeypatch.delenv(PASSWORD_ENV, raising=False)
        config = LoopbackSmtp("127.0.0.1", free_port(), None).config(  # nothing listens there
            username=USERNAME, password_env=PASSWORD_ENV)
        with pytest.raises(ConfigError) as caught:
            SmtpMailer(config)
        assert str(caught.value).startswith(
            f"The mail server login for {USERNAME} needs a password, but the environment variable "
            f"{PASSWORD_ENV} is not set.")

    def test_a_refused_connection_is_a_plain_send_error(self, monitoring_form) -> None:
        port = free_port()  # nothing listens there
        mailer = SmtpMailer(LoopbackSmtp("127.0.0.1", port, None).config())
        with pytest.raises(SendError) as caught:
            mailer.send(request_for(monitoring_form))
        assert str(caught.value) == (f"Could not send to {MEMBER}: the mail server at "
                                     f"127.0.0.1:{port} refused the connection.")

    def test_starttls_with_a_trusted_certificate(self, smtp_starttls_server: LoopbackSmtp,
                                                 monkeypatch, monitoring_form) -> None:
        monkeypatch.setenv("SSL_CERT_FILE", str(smtp_starttls_server.cert))
        SmtpMailer(smtp_starttls_server.config(security="starttls")).send(request_for(monitoring_form))
        [got] = smtp_starttls_server.received
        assert got.rcpt_tos == [MEMBER]
        assert only_attachment(got.message)[2] == monitoring_form[1]

    def test_starttls_refuses_a_certificate_it_does_not_trust(
            self, smtp_starttls_server: LoopbackSmtp, monkeypatch, tmp_path: Path,
            monitoring_form) -> None:
        monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "no-such-bundle.pem"))
        monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
        config = smtp_starttls_server.config(security="starttls")
        with pytest.raises(SendError, match="has a security certificate this computer does not trust"):
            SmtpMailer(config).send(request_for(monitoring_form))
        assert smtp_starttls_server.received == []

    def test_plain_sending_to_a_server_that_requires_starttls(
            self, smtp_starttls_server: LoopbackSmtp, monitoring_form) -> None:
        with pytest.raises(SendError, match=r"secure connection or a login first .*STARTTLS"):
            SmtpMailer(smtp_starttls_server.config()).send(request_for(monitoring_form))

    def test_tls_from_the_start(self, smtps_server: LoopbackSmtp, monkeypatch,
                                monitoring_form) -> None:
        monkeypatch.setenv("SSL_CERT_FILE", str(smtps_server.cert))
        SmtpMailer(smtps_server.config(security="ssl")).send(request_for(monitoring_form))
        assert [r.rcpt_tos for r in smtps_server.received] == [[MEMBER]]

    def test_an_unknown_security_setting_is_refused(self) -> None:
        with pytest.raises(ConfigError, match='security = "tls" is not one of none, starttls, ssl'):
            SmtpMailer(LoopbackSmtp("127.0.0.1", 25, None).config(security="tls"))


class TestDryRun:
    def test_messages_become_eml_files_that_read_back_and_never_overwrite(
            self, tmp_path: Path, monitoring_form) -> None:
        name, data, _ = monitoring_form
        outbox = tmp_path / "mail"
        mailer = mailer_for(LoopbackSmtp("127.0.0.1", 25, None).config(), mode=SendMode.BY_HAND,
                            outbox=tmp_path)
        assert isinstance(mailer, FileMailer)
        with mailer:
            first = Path(mailer.send(request_for(monitoring_form)))
            first_bytes = first.read_bytes()
            second = Path(mailer.send(request_for(monitoring_form)))

        stem = ("20261029-090000-jo.bloggs@hull.example-partnership-monitoring-form-hull-cdrp-"
                "meeting-on-monday-2-no")  # the subject's slug stops at 60 characters
        assert first == outbox / f"{stem}.eml"
        assert second == outbox / f"{stem}-2.eml"
        assert first.read_bytes() == first_bytes
        for path in (first, second):
            parsed = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
            assert subject_of(parsed) == subject_of(request_for(monitoring_form))
            assert only_attachment(parsed) == (name, DOCX_TYPE, data)

    def test_the_pipeline_reads_a_dry_run_message_like_a_saved_email(self, tmp_path: Path,
                                                                    monitoring_form) -> None:
        path = Path(FileMailer(tmp_path).send(request_for(monitoring_form)))
        envelope = read_email(path.read_bytes(), path.name)
        assert [(a.name, a.data) for a in envelope.attachments] == [monitoring_form[:2]]

    def test_without_dry_run_the_smtp_mailer_is_chosen(self, tmp_path: Path) -> None:
        config = LoopbackSmtp("127.0.0.1", 25, None).config()
        assert isinstance(mailer_for(config, mode=SendMode.SEND, outbox=tmp_path), SmtpMailer)
