"""Returns straight from the mailbox (`pipeline mail fetch`), against a real Dovecot on loopback."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.core.config import settings_for
from pipeline.core.definitions import FormLibrary
from pipeline.ingest.mailbox import classify, fetch_mail
from pipeline.schedule.mailer import SendMode
from pipeline.service import run_tick, serve, status
from pipeline.store import Store
from tests.support.dovecot import PASSWORD, Dovecot
from tests.support.returns import HULL, ON_TIME, excel_return, issue, word_return

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
LIBRARY = FormLibrary.load()
MEMBER = "jane.smith@hull.gov.uk"


# --- messages as members (and robots) send them ---------------------------------------------------


def email(subject: str = "Monitoring form", *, sender: str = MEMBER, body: str = "Our return attached.",
          attachments: tuple[tuple[str, bytes, str], ...] = (), message_id: str | None = None,
          headers: dict[str, str] | None = None) -> EmailMessage:
    message = EmailMessage()
    message["From"] = f"Cllr Jane Smith <{sender}>"
    message["To"] = "partnerships@authority.example.gov.uk"
    message["Subject"] = subject
    message["Date"] = format_datetime(ON_TIME)
    message["Message-ID"] = message_id or make_msgid(domain="hull.gov.uk")
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    for name, data, kind in attachments:
        maintype, subtype = kind.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return message


def forwarded(inner: EmailMessage, *, sender: str = MEMBER) -> EmailMessage:
    outer = email(f"Fw: {inner['Subject']}", sender=sender, body="Forwarding the return below.")
    outer.add_attachment(inner, disposition="inline")
    return outer


def partnership_return(number: int) -> bytes:
    return word_return(replace(HULL, partnership=f"Partnership {number:03d}"))


# --- a pipeline home pointed at the test server ----------------------------------------------------


@pytest.fixture
def mailbox(dovecot: Dovecot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    user = dovecot.add_user()
    home = tmp_path / "home"
    home.mkdir()
    configure(home, port=dovecot.port, user=user)
    monkeypatch.setenv("PIPELINE_IMAP_PASSWORD", PASSWORD)
    return Mailbox(dovecot, user, home)


def configure(home: Path, *, port: int, user: str, security: str = "none", extra: str = "") -> None:
    (home / "pipeline.toml").write_text(
        f'[imap]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "{security}"\nusername = "{user}"\n'
        f"{extra}\n", encoding="utf-8")


class Mailbox:
    def __init__(self, server: Dovecot, user: str, home: Path) -> None:
        self.server, self.user, self.home = server, user, home
        self.settings = settings_for(home)

    def deliver(self, *messages: EmailMessage | bytes) -> None:
        issue(self.settings)  # the personal copies attached were issued by this home
        self.server.append(self.user, [m if isinstance(m, bytes) else m.as_bytes() for m in messages])

    def folder(self, name: str) -> list[bytes]:
        return self.server.folder(self.user, name)

    def fetch(self):
        return fetch_mail(self.settings, LIBRARY)

    def submissions(self) -> list[str]:
        with Store.for_home(self.settings) as store:
            return [r.partnership or "" for r in store.records("monitoring", status="current")]

    def ledger(self) -> list[tuple[str, str | None]]:
        with Store.for_home(self.settings) as store:
            rows = store.connection().execute("SELECT state, kind FROM mail_messages ORDER BY id")
            return [(row[0], row[1]) for row in rows]


def saved_count(mailbox: Mailbox) -> int:
    """Emails saved so far by fetches (the ledger's first step), not counting claims in progress."""
    return sum(1 for p in (mailbox.home / "mailbox").rglob("*.eml") if ".taking" not in p.parts)


def subjects(raw_messages: list[bytes]) -> list[str]:
    return sorted(str(message_from_bytes(m, policy=policy.default)["Subject"]) for m in raw_messages)


# --- forms in, each once ---------------------------------------------------------------------------


def test_forms_as_word_excel_and_forwarded_are_stored_saved_and_moved(mailbox: Mailbox) -> None:
    mailbox.deliver(
        email("Word return", attachments=(("monitoring.docx", partnership_return(1), DOCX),)),
        email("Excel return", attachments=(("monitoring.xlsx", excel_return(), XLSX),)),
        forwarded(email("Forwarded return",
                        attachments=(("monitoring.docx", partnership_return(2), DOCX),))))

    report = mailbox.fetch()

    assert report.problem is None
    assert sorted(mailbox.submissions()) == ["Hull CDRP", "Partnership 001", "Partnership 002"]
    assert mailbox.folder("INBOX") == []
    assert subjects(mailbox.folder("Processed")) == ["Excel return", "Fw: Forwarded return",
                                                     "Word return"]
    saved = sorted((mailbox.home / "mailbox").rglob("*.eml"))
    assert len(saved) == 3  # each message kept whole, as fetched
    assert all(b"Message-ID" in p.read_bytes() for p in saved)


def test_the_same_form_again_is_never_stored_twice_and_a_new_one_is_never_skipped(
        mailbox: Mailbox) -> None:
    original = email("Return", message_id="<return-1@hull.gov.uk>",
                     attachments=(("monitoring.docx", partnership_return(1), DOCX),))
    redelivered = message_from_bytes(b"Received: from relay.example by mx.example; "
                                     b"Tue, 17 Mar 2026 09:00:00 +0000\r\n" + original.as_bytes(),
                                     policy=policy.default)
    same_id_new_form = email("Return", message_id="<return-1@hull.gov.uk>",
                             attachments=(("monitoring.docx", partnership_return(2), DOCX),))
    mailbox.deliver(original, original, redelivered, forwarded(original))
    mailbox.fetch()
    mailbox.deliver(original, same_id_new_form)  # a later copy, and a new form under the old id
    mailbox.fetch()

    assert sorted(mailbox.submissions()) == ["Partnership 001", "Partnership 002"]
    assert mailbox.folder("INBOX") == []
    assert len(mailbox.folder("Processed")) == 6  # every message moved, each once
    with Store.for_home(mailbox.settings) as store:
        assert store.counts()["accepted"] == 2


def test_mail_that_is_not_a_return_and_automatic_replies_are_set_aside_unanswered(
        mailbox: Mailbox, capsys: pytest.CaptureFixture[str]) -> None:
    mailbox.deliver(
        email("Thank you for the meeting", body="Thanks, see you next time."),
        email("Automatic reply: Monitoring form", headers={"Auto-Submitted": "auto-replied"}),
        email("Out of Office", headers={"X-Auto-Response-Suppress": "All"}),
        email("Weekly news", headers={"Precedence": "bulk"}),
        email("Undeliverable: Monitoring form", sender="MAILER-DAEMON@hull.gov.uk",
              attachments=(("monitoring.docx", partnership_return(9), DOCX),)),
        email("Return", attachments=(("monitoring.docx", partnership_return(1), DOCX),)))

    assert main(["mail", "fetch", "--home", str(mailbox.home)]) == 0
    out = capsys.readouterr().out
    assert out.count("NOT A FORM") == 5

    assert mailbox.submissions() == ["Partnership 001"]  # the bounce's form is ours, not a return
    assert subjects(mailbox.folder("Not forms")) == sorted([
        "Thank you for the meeting", "Automatic reply: Monitoring form", "Out of Office",
        "Weekly news", "Undeliverable: Monitoring form"])
    shown = status(mailbox.settings, today=ON_TIME.date())["mailbox"]
    assert sorted(m["subject"] for m in shown["not_forms"]) == subjects(mailbox.folder("Not forms"))
    assert main(["status", "--home", str(mailbox.home)]) == 0
    assert "Thank you for the meeting" in capsys.readouterr().out

    run_tick(mailbox.settings, LIBRARY, now=datetime(2026, 3, 17, 9, tzinfo=UTC), mode=SendMode.BY_HAND)
    sent = list((mailbox.home / "outbox" / "mail").glob("*.eml"))
    replies = [message_from_bytes(p.read_bytes(), policy=policy.default) for p in sent]
    assert all("Thank you for the meeting" not in str(r["Subject"]) for r in replies)
    assert all("mailer-daemon" not in str(r["To"]).lower() for r in replies)
    assert len(replies) <= 1  # at most the receipt for the one real return


@pytest.mark.parametrize("robot", [
    {"Auto-Submitted": "auto-generated"}, {"Precedence": "junk"}, {"Precedence": "list"},
    {"X-Autoreply": "yes"}, {"Content-Type": "multipart/report; report-type=delivery-status"},
])
def test_automatic_messages_are_recognised(robot: dict[str, str]) -> None:
    message = email("Re: your form", attachments=(("monitoring.docx", b"PK", DOCX),))
    for name, value in robot.items():
        del message[name]
        message[name] = value
    assert classify(message.as_bytes())[0] == "auto_reply"
    assert classify(email("Return", attachments=(("m.docx", b"PK", DOCX),)).as_bytes())[0] == "return"


def test_a_return_sent_with_x_auto_response_suppress_is_still_a_return() -> None:
    # Outlook and mail-merge systems set it on mail a person sent: it only asks for no auto-answer.
    message = email("Monitoring return", headers={"X-Auto-Response-Suppress": "All"},
                    attachments=(("monitoring.docx", b"PK", DOCX),))
    assert classify(message.as_bytes())[0] == "return"
    out_of_office = email("Out of Office", headers={"X-Auto-Response-Suppress": "All"})
    assert classify(out_of_office.as_bytes())[0] == "auto_reply"  # known by its subject


def test_replies_to_fetched_returns_thread_and_keep_the_subject(mailbox: Mailbox) -> None:
    sent = email("Hull CDRP monitoring return", message_id="<ret-42@hull.gov.uk>",
                 headers={"References": "<form-out-1@authority.example.gov.uk>"},
                 attachments=(("monitoring.docx", partnership_return(1), DOCX),))
    mailbox.deliver(sent)
    with Store.for_home(mailbox.settings) as store:  # the form was sent to this member
        store.record_token("thread-test", form_id="monitoring", form_version=1,
                           partnership="Partnership 001", member="Cllr Jane Smith",
                           meeting_date=HULL.meeting_date, sent_to=MEMBER, issued_by="test",
                           at=ON_TIME)
    mailbox.fetch()

    run_tick(mailbox.settings, LIBRARY, now=datetime(2026, 3, 17, 9, tzinfo=UTC), mode=SendMode.BY_HAND)

    replies = [message_from_bytes(p.read_bytes(), policy=policy.default)
               for p in (mailbox.home / "outbox" / "mail").glob("*.eml")]
    to_member = [r for r in replies if MEMBER in str(r["To"])]
    if not to_member:
        pytest.skip("no receipt is sent to this sender under the reply rules in force")
    reply = to_member[0]
    assert reply["In-Reply-To"] == "<ret-42@hull.gov.uk>"
    assert reply["References"].split() == ["<form-out-1@authority.example.gov.uk>", "<ret-42@hull.gov.uk>"]
    assert reply["Subject"] == "Re: Hull CDRP monitoring return"


# --- many, and killed midway ------------------------------------------------------------------------


@pytest.mark.slow
def test_three_hundred_messages_in_one_pass(mailbox: Mailbox) -> None:
    forms = [email(f"Return {i}", attachments=(("monitoring.docx", partnership_return(i), DOCX),))
             for i in range(40)]
    others = [email(f"Question {i}", body="When is the next meeting?") for i in range(260)]
    mailbox.deliver(*forms, *others)

    report = mailbox.fetch()

    assert report.problem is None and report.seen == 300
    assert len(mailbox.submissions()) == 40
    assert mailbox.folder("INBOX") == []
    assert len(mailbox.folder("Processed")) == 40
    assert len(mailbox.folder("Not forms")) == 260


@pytest.mark.slow
def test_a_fetch_killed_at_random_moments_stores_and_moves_every_message_once(
        mailbox: Mailbox) -> None:
    count = 40
    mailbox.deliver(*[email(f"Return {i}", attachments=(("monitoring.docx", partnership_return(i), DOCX),))
                      for i in range(count)])
    mailbox.deliver(email("Thanks", body="No form here."))
    command = [sys.executable, "-m", "pipeline", "mail", "fetch", "--home", str(mailbox.home)]
    env = {**os.environ, "PIPELINE_IMAP_PASSWORD": PASSWORD}
    chance = random.Random(16)
    killed_with_work_left = 0
    for _ in range(8):
        if len(mailbox.submissions()) >= count - 1:
            break  # the passes got this far: keep work for the last pass
        before = saved_count(mailbox)
        run = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while saved_count(mailbox) == before and run.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)  # kill only once this pass is at work
        time.sleep(chance.uniform(0, 0.1))
        run.send_signal(signal.SIGKILL)
        killed = run.wait() == -signal.SIGKILL
        # A kill counts only if it cut a pass short: on a fast machine a pass may finish first.
        killed_with_work_left += killed and len(mailbox.submissions()) < count
    assert killed_with_work_left >= 2
    finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)

    assert finished.returncode == 0, finished.stderr
    names = mailbox.submissions()
    assert sorted(names) == sorted(f"Partnership {i:03d}" for i in range(count))
    assert mailbox.folder("INBOX") == []
    assert sorted(subjects(mailbox.folder("Processed"))) == sorted(f"Return {i}" for i in range(count))
    assert subjects(mailbox.folder("Not forms")) == ["Thanks"]
    assert [state for state, _ in mailbox.ledger()] == ["moved"] * (count + 1)


# --- clear failures ------------------------------------------------------------------------------


def test_a_refused_login_is_one_clear_line_and_the_next_pass_tries_again(
        mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    mailbox.deliver(email("Return", attachments=(("monitoring.docx", partnership_return(1), DOCX),)))
    monkeypatch.setenv("PIPELINE_IMAP_PASSWORD", "wrong password")

    assert main(["mail", "fetch", "--home", str(mailbox.home)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert f"did not accept the login for {mailbox.user}" in err
    assert "next check will try again" in err
    shown = status(mailbox.settings, today=ON_TIME.date())["mailbox"]
    assert shown["ok"] is False and "did not accept the login" in shown["last_result"]
    assert len(mailbox.folder("INBOX")) == 1

    monkeypatch.setenv("PIPELINE_IMAP_PASSWORD", PASSWORD)
    assert main(["mail", "fetch", "--home", str(mailbox.home), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["problem"] is None
    assert mailbox.submissions() == ["Partnership 001"]
    assert status(mailbox.settings, today=ON_TIME.date())["mailbox"]["ok"] is True


def test_tls_with_the_servers_certificate_trusted_works_and_without_it_is_refused_plainly(
        mailbox: Mailbox) -> None:
    mailbox.deliver(email("Return", attachments=(("monitoring.docx", partnership_return(1), DOCX),)))
    configure(mailbox.home, port=mailbox.server.tls_port, user=mailbox.user, security="ssl")
    refused = mailbox.fetch()
    assert "security certificate this computer does not trust" in (refused.problem or "")
    assert mailbox.submissions() == []

    configure(mailbox.home, port=mailbox.server.port, user=mailbox.user, security="starttls",
              extra=f'ca_file = "{mailbox.server.cert}"')
    assert mailbox.fetch().problem is None
    assert mailbox.submissions() == ["Partnership 001"]


def test_a_missing_folder_and_a_server_that_is_down_are_said_plainly(mailbox: Mailbox) -> None:
    configure(mailbox.home, port=mailbox.server.port, user=mailbox.user, extra='folder = "Returns"')
    assert 'has no folder called "Returns"' in (mailbox.fetch().problem or "")

    from tests.support.dovecot import free_port

    configure(mailbox.home, port=free_port(), user=mailbox.user)
    assert "refused the connection: it may be down" in (mailbox.fetch().problem or "")


def test_no_encryption_is_refused_except_to_this_computer(tmp_path: Path) -> None:
    configure(tmp_path, port=143, user="clerk")
    (tmp_path / "pipeline.toml").write_text(
        '[imap]\nhost = "imap.example.org"\nsecurity = "none"\nusername = "clerk"\n', encoding="utf-8")
    assert main(["mail", "fetch", "--home", str(tmp_path)]) == 2


def test_keyword_instead_of_moving_when_moving_is_off(mailbox: Mailbox) -> None:
    configure(mailbox.home, port=mailbox.server.port, user=mailbox.user, extra="move = false")
    mailbox.deliver(email("Return", attachments=(("monitoring.docx", partnership_return(1), DOCX),)))
    mailbox.fetch()
    second = mailbox.fetch()

    assert len(mailbox.folder("INBOX")) == 1  # left where it was, marked done
    assert second.seen == 0
    assert mailbox.submissions() == ["Partnership 001"]


def test_serve_checks_the_mailbox_every_interval(mailbox: Mailbox) -> None:
    configure(mailbox.home, port=mailbox.server.port, user=mailbox.user, extra="interval_minutes = 0.01")
    stop = threading.Event()

    def member_sends_later() -> None:
        time.sleep(1.0)  # after serve's first check
        mailbox.deliver(email("Return", attachments=(("monitoring.docx", partnership_return(1), DOCX),)))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not mailbox.folder("Processed"):
            time.sleep(0.2)
        stop.set()

    helper = threading.Thread(target=member_sends_later)
    helper.start()
    serve(mailbox.settings, LIBRARY, mode=SendMode.BY_HAND, tick_seconds=0.5, stop=stop)
    helper.join()

    assert mailbox.submissions() == ["Partnership 001"]
    assert mailbox.folder("INBOX") == []
