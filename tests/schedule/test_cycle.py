"""A whole simulated cycle with a fake clock and a real SMTP server on loopback: register
imported, forms sent before the meetings, some returned through the inbox, the rest chased, the
papers and pack written on the right working day, and `tick` run again and again without doing
anything twice."""

from __future__ import annotations

import json
import os
import threading
from datetime import UTC, date, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.core.config import settings_for
from pipeline.core.definitions import FormLibrary
from pipeline.ooxml.package import Package, read_custom_properties
from pipeline.schedule.mailer import SendMode
from pipeline.schedule.messages import DOCX_TYPE
from pipeline.schedule.register import import_register
from pipeline.service import run_tick, watch_inbox
from pipeline.store import Store
from tests.support.filling import fill_docx, soffice
from tests.support.msgwriter import MsgAttachment, MsgMessage, build_msg
from tests.support.register_book import cycle_register_workbook
from tests.support.smtp_server import LoopbackSmtp

LIBRARY = FormLibrary.load()
MEETING = "2026-11-10"  # a Tuesday; monitoring forms are due 7 days later, on 17 November
COMMITTEE_MEETING = "2026-12-01"  # deadline Mon 23 Nov (five clear working days); papers Thu 19 Nov


def at(text: str) -> datetime:
    """A moment in November 2026 (UTC = London time then)."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture()
def home(tmp_path: Path, smtp_server: LoopbackSmtp, backend: str) -> Path:
    """A home with the register and calendar imported; its store SQLite, then PostgreSQL."""
    (tmp_path / "pipeline.toml").write_text(
        f'[authority]\nname = "Humberside Police Authority"\n'
        f'[smtp]\nhost = "{smtp_server.host}"\nport = {smtp_server.port}\n'
        f'sender = "partnerships@authority.example"\ntimeout = 5.0\n'
        f'[schedule]\nsurvey_month = 12\nchase_interval_days = 3\npapers_lead_days = 2\n'
        f'clerk_email = "clerk@authority.example"\n')
    (tmp_path / "committees.yaml").write_text(
        "committees:\n  - name: Communities and Partnerships Committee\n"
        f"    papers: [monitoring-summary]\n    meetings: [{COMMITTEE_MEETING}]\n")
    with Store.for_home(settings_for(tmp_path)) as store:  # as imported on 1 November
        imported = import_register(store, cycle_register_workbook(), today=date(2026, 11, 1))
    assert imported.problems == [] and imported.meetings_added == 3
    assert main(["calendar", "import", str(tmp_path / "committees.yaml"), "--home", str(tmp_path)]) == 0
    return tmp_path


def tick(home: Path, when: str) -> list[str]:
    report = run_tick(settings_for(home), LIBRARY, now=at(when))
    assert report.problems == []
    return report.done


def attachment(message: EmailMessage) -> tuple[str, bytes]:
    part = next(message.iter_attachments())
    return part.get_filename(), part.get_content()


def return_form(home: Path, data: bytes, values: dict, name: str, when: str, sender: str) -> None:
    """A member replies with the form filled in: the clerk saves the email into the inbox."""
    reply = EmailMessage()
    reply["From"], reply["To"], reply["Subject"] = sender, "partnerships@authority.example", "RE: form"
    reply["Date"] = at(when).strftime("%a, %d %b %Y %H:%M:%S +0000")
    reply.set_content("Form attached.")
    reply.add_attachment(fill_docx(data, values), maintype="application",
                         subtype="vnd.openxmlformats-officedocument.wordprocessingml.document",
                         filename=name)
    (home / "inbox").mkdir(exist_ok=True)
    path = home / "inbox" / f"{name}.eml"
    path.write_bytes(bytes(reply))
    os.utime(path, (at(when).timestamp(),) * 2)
    watch_inbox(settings_for(home), LIBRARY, stop=threading.Event(), report=lambda r: None,
                oneshot=True, stable_seconds=0.1)


def complete_monitoring_values() -> dict:
    return {"meeting_length": "2 hours",
            "pa_issues": [{"issue": "Night-time economy", "decision": "Patrols"}],
            "agenda_rating": ["highly_relevant"], "attendance_rating": ["of_value"]}


@pytest.mark.libreoffice
@pytest.mark.skipif(soffice() is None, reason="LibreOffice (soffice) is needed for the papers' PDFs")
def test_a_whole_cycle_runs_by_itself_and_never_does_anything_twice(home, smtp_server):
    inbox = smtp_server.received

    # 7 November: three days before the meetings, each representative gets a personal form,
    # and the high-risk partnership (money: Yes) gets a risk checklist.
    done = tick(home, "2026-11-07T09:00")
    sent = {(m.rcpt_tos[0], m.message["Subject"].split(":")[0].strip()) for m in inbox}
    assert sent == {("jane@example.gov.uk",  # one email for both of Jane's forms
                     "Partnership Monitoring Form and Partnership Risk Assessment Checklist"),
                    ("tom@example.gov.uk", "Partnership Monitoring Form"),
                    ("alan@example.gov.uk", "Partnership Monitoring Form")}, done
    assert len(inbox) == 3 and len(done) == 4
    janes = next(m.message for m in inbox if m.rcpt_tos == ["jane@example.gov.uk"])
    files = [(part.get_filename(), read_custom_properties(Package.open(part.get_content())))
             for part in janes.iter_attachments()]
    assert [props["PipelineFormId"] for _, props in files] == ["monitoring", "risk-checklist"]
    assert len({props["PipelineToken"] for _, props in files}) == 2  # each its own token
    assert janes.get_all("X-Pipeline-Token") == [props["PipelineToken"] for _, props in files]
    assert "Hull Community Safety Partnership" in janes["Subject"]
    forms = {m.rcpt_tos[0]: m.message for m in inbox if "Monitoring" in m.message["Subject"]}
    for message in forms.values():
        name, data = attachment(message)
        assert name.endswith(".docx")
        props = read_custom_properties(Package.open(data))
        assert props["PipelineToken"] == message["X-Pipeline-Token"]
        assert props["PipelineFormId"] == "monitoring"
        assert props["PipelineMeetingDate"] == MEETING
    assert tick(home, "2026-11-07T09:05") == [] and len(inbox) == 3  # nothing twice

    # 12 November: Jane returns hers complete; Tom returns his with a mistake.
    jane_name, jane_form = attachment(forms["jane@example.gov.uk"])
    return_form(home, jane_form, complete_monitoring_values(), jane_name, "2026-11-12T08:00",
                "Cllr Jane Smith <jane@example.gov.uk>")
    tom_name, tom_form = attachment(forms["tom@example.gov.uk"])
    return_form(home, tom_form, {**complete_monitoring_values(), "meeting_length": ""}, tom_name,
                "2026-11-12T08:30", "tom@example.gov.uk")
    before = len(inbox)
    tick(home, "2026-11-12T10:00")
    replies = {m.rcpt_tos[0]: m.message for m in inbox[before:]}
    assert "received" in replies["jane@example.gov.uk"]["Subject"].lower()
    assert "could not be accepted" in replies["tom@example.gov.uk"]["Subject"]
    assert "Length of meeting" in replies["tom@example.gov.uk"].get_body().get_content()
    assert attachment(replies["tom@example.gov.uk"])[0] == tom_name  # his own file, to correct

    # 18 November: due date (17th) passed: Tom and Alan are chased, Jane is not; no papers yet.
    before = len(inbox)
    tick(home, "2026-11-18T09:00")
    chased = sorted(m.rcpt_tos[0] for m in inbox[before:])
    assert chased == ["alan@example.gov.uk", "tom@example.gov.uk"]
    assert all("Reminder" in m.message["Subject"] for m in inbox[before:])
    assert not (home / "outbox" / "papers").exists()
    before = len(inbox)
    tick(home, "2026-11-18T16:00")
    assert len(inbox) == before  # never twice in a day

    # 19 November: two working days before the publication deadline: papers and pack, once.
    done = tick(home, "2026-11-19T09:00")
    papers = sorted((home / "outbox" / "papers" / COMMITTEE_MEETING).glob("monitoring-summary-*"))
    assert {p.suffix for p in papers} >= {".docx", ".pdf", ".xlsx", ".json"}, done
    packs = sorted((home / "outbox" / "packs").glob("*.pdf"))
    assert [p.name for p in packs] == ["communities-and-partnerships-committee-2026-12-01-part1.pdf"]
    notice = inbox[-1]
    assert notice.rcpt_tos == ["clerk@authority.example"]
    stamp = papers[0].stat().st_mtime_ns
    assert tick(home, "2026-11-19T12:00") == []
    assert papers[0].stat().st_mtime_ns == stamp

    # 21 November: three days after the first chase, the second.
    before = len(inbox)
    tick(home, "2026-11-21T09:00")
    assert sorted(m.rcpt_tos[0] for m in inbox[before:]) == ["alan@example.gov.uk", "tom@example.gov.uk"]

    # The clerk's status: per partnership and form, sent / returned / late / missing.
    assert main(["status", "--json", "--now", "2026-11-21T10:00", "--home", str(home)]) == 0


def test_status_json_reports_sent_returned_and_missing(home, smtp_server, capsys):
    tick(home, "2026-11-07T09:00")
    message = next(m.message for m in smtp_server.received if m.rcpt_tos == ["jane@example.gov.uk"]
                   and "Monitoring" in m.message["Subject"])
    name, data = attachment(message)
    return_form(home, data, complete_monitoring_values(), name, "2026-11-12T08:00",
                "jane@example.gov.uk")
    tick(home, "2026-11-18T09:00")
    capsys.readouterr()
    assert main(["status", "--json", "--now", "2026-11-18T10:00", "--home", str(home)]) == 0
    shown = json.loads(capsys.readouterr().out)
    rows = {(r["partnership"], r["form"]): r for r in shown["expected"]}
    jane = rows[("Hull Community Safety Partnership", "monitoring")]
    tom = rows[("East Riding LSP", "monitoring")]
    assert (jane["sent"], jane["returned"], jane["missing"]) == (1, 1, 0)
    assert (tom["sent"], tom["returned"], tom["missing"], tom["chased"]) == (1, 0, 1, 1)
    assert shown["meetings"][0]["publication_deadline"] == "2026-11-23"


def test_sending_by_hand_writes_the_messages_to_the_outbox_instead(home, smtp_server):
    report = run_tick(settings_for(home), LIBRARY, now=at("2026-11-07T09:00"), mode=SendMode.BY_HAND)
    written = sorted((home / "outbox" / "mail").glob("*.eml"))
    assert len(written) == 3 and len(report.done) == 4  # Jane's two forms share one email
    assert smtp_server.received == []


def saved_reply(data: bytes, name: str, *, as_msg: bool) -> tuple[str, bytes]:
    """Tom answers the form's email from his mail program; the clerk saves it into inbox/."""
    filled = fill_docx(data, {**complete_monitoring_values(), "meeting_length": ""})
    if as_msg:
        message = MsgMessage(subject="RE: my monitoring form", sender_smtp="tom@example.gov.uk",
                             sender_name="Mr Tom Baker", body="Here it is.",
                             sent_at=at("2026-11-12T08:30"), message_id="<tom-2@example.gov.uk>",
                             internet_headers="References: <form-out@authority.example>\r\n"
                                              "Message-ID: <tom-2@example.gov.uk>\r\n",
                             attachments=[MsgAttachment(name, filled, DOCX_TYPE)])
        return "reply.msg", build_msg(message)
    reply = EmailMessage()
    reply["From"], reply["To"] = "tom@example.gov.uk", "partnerships@authority.example"
    reply["Subject"], reply["Message-ID"] = "RE: my monitoring form", "<tom-2@example.gov.uk>"
    reply["References"] = "<form-out@authority.example>"
    reply["Date"] = at("2026-11-12T08:30").strftime("%a, %d %b %Y %H:%M:%S +0000")
    reply.set_content("Here it is.")
    reply.add_attachment(filled, maintype="application", subtype=DOCX_TYPE.split("/")[1],
                         filename=name)
    return "reply.eml", bytes(reply)


@pytest.mark.parametrize("as_msg", [False, True], ids=["eml", "msg"])
def test_a_reply_to_a_saved_email_threads_with_it_and_names_form_partnership_and_meeting(
        home, smtp_server, as_msg):
    tick(home, "2026-11-07T09:00")
    form = next(m.message for m in smtp_server.received if m.rcpt_tos == ["tom@example.gov.uk"])
    saved_name, saved = saved_reply(*attachment(form)[::-1], as_msg=as_msg)
    (home / "inbox").mkdir(exist_ok=True)
    (home / "inbox" / saved_name).write_bytes(saved)
    watch_inbox(settings_for(home), LIBRARY, stop=threading.Event(), report=lambda r: None,
                oneshot=True, stable_seconds=0.1)
    before = len(smtp_server.received)
    tick(home, "2026-11-12T10:00")

    [reply] = [m.message for m in smtp_server.received[before:]]
    assert reply["In-Reply-To"] == "<tom-2@example.gov.uk>"
    assert reply["References"].split() == ["<form-out@authority.example>", "<tom-2@example.gov.uk>"]
    assert reply["Subject"] == "RE: my monitoring form"  # their subject, so mail programs thread it
    body = reply.get_body().get_content()
    assert ("Thank you for sending your Partnership Monitoring Form for the East Riding LSP "
            "meeting on Tuesday 10 November 2026.") in body
    assert "1. Length of meeting: Please fill this in." in body


def test_a_reply_without_a_thread_names_form_partnership_and_meeting_in_its_subject(
        home, smtp_server):
    tick(home, "2026-11-07T09:00")
    form = next(m.message for m in smtp_server.received if m.rcpt_tos == ["tom@example.gov.uk"])
    name, data = attachment(form)
    before = len(smtp_server.received)
    return_form(home, data, {**complete_monitoring_values(), "meeting_length": ""}, name,
                "2026-11-12T08:30", "tom@example.gov.uk")  # a saved email with no Message-ID
    tick(home, "2026-11-12T10:00")
    [reply] = [m.message for m in smtp_server.received[before:]]
    assert reply["Subject"] == ("Your Partnership Monitoring Form for the East Riding LSP meeting "
                                "on Tuesday 10 November 2026 could not be accepted \u2014 please "
                                "correct 1 thing")
    assert reply["In-Reply-To"] is None


def test_a_busy_database_is_reported_by_each_step_and_the_tick_still_finishes(home, backend):
    """Another process holds the database's write lock for the whole tick: each form that could
    not be recorded is a problem in plain words, the tick goes on to the end, nothing is sent
    unrecorded, and the next tick sends each form once."""
    from pipeline.core.config import load_config
    from pipeline.schedule.cycle import Cycle
    from pipeline.schedule.mailer import mailer_for

    if backend != "sqlite":
        pytest.skip("SQLite's single writer: PostgreSQL writers do not wait for each other's lock")
    settings = settings_for(home)
    config = load_config(settings)
    mailer = mailer_for(config.smtp, mode=SendMode.BY_HAND, outbox=settings.outbox)
    sent = settings.outbox / "mail"
    with Store.for_home(settings) as holder, \
            Store.open(settings.database, wait_seconds=0.2) as store, holder.transaction():
        holder.log("test", "another process is writing")
        report = Cycle(settings, config, LIBRARY, store, mailer, at("2026-11-07T09:00:00"),
                       SendMode.BY_HAND).tick()
    assert len(report.problems) == 3  # one email due to each of the three representatives
    assert all("another pipeline process is busy with it; try again in a minute" in p
               for p in report.problems)
    assert not any("locked" in p or "Error" in p for p in report.problems)
    assert report.done == [] and not list(sent.glob("*.eml"))

    again = run_tick(settings, LIBRARY, now=at("2026-11-07T10:00:00"), mode=SendMode.BY_HAND)
    assert again.problems == []
    assert len(list(sent.glob("*.eml"))) == 3 and len(again.done) == 4  # Hull's checklist too
    assert run_tick(settings, LIBRARY, now=at("2026-11-07T11:00:00"), mode=SendMode.BY_HAND).done == []
