"""What must not go wrong when things are odd: a file no reader expected, a refused address,
two ticks at once, a covering letter beside a form, a mistyped path or home."""

from __future__ import annotations

import io
import threading
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.core.config import settings_for
from pipeline.core.definitions import FormLibrary
from pipeline.core.identity import Personalisation
from pipeline.generate.forms import form_bytes
from pipeline.schedule.mailer import SendMode
from pipeline.service import ingest_files, run_tick, watch_inbox
from pipeline.store import Store
from tests.support.filling import fill_docx
from tests.support.register_book import cycle_register_workbook, on_the_register
from tests.support.zips import with_part_changed

LIBRARY = FormLibrary.load()
MONITORING = LIBRARY.get("monitoring")
COMPLETE = {"partnership": "Hull CDRP", "meeting_title": "Board", "meeting_date": "2026-11-02",
            "meeting_place": "Guildhall", "meeting_length": "2 hours", "member_attending": "Jane",
            "agenda_rating": ["highly_relevant"], "attendance_rating": ["of_value"]}
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def filled(values: dict | None = None) -> bytes:
    return fill_docx(form_bytes(MONITORING, "docx", Personalisation())[0], values or COMPLETE)


def email_with(*attachments: tuple[str, bytes], sender: str = "jane@example.gov.uk") -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, "clerk@example.gov.uk", "Form"
    message["Date"] = "Thu, 12 Nov 2026 09:00:00 +0000"
    message.set_content("Attached.")
    for name, data in attachments:
        message.add_attachment(data, maintype="application", subtype=DOCX.split("/")[1], filename=name)
    return bytes(message)


def test_a_file_that_trips_a_reader_is_rejected_and_kept_and_the_next_run_still_works(tmp_path):
    broken = with_part_changed(filled(), "word/document.xml", b'w:fullDate="2026-11-02',
                               b'w:fullDate="2026-13-45')
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "odd.docx").write_bytes(broken)
    (tmp_path / "inbox" / "good.docx").write_bytes(filled())
    settings, seen = settings_for(tmp_path), []
    watch_inbox(settings, LIBRARY, stop=threading.Event(), report=seen.append, oneshot=True,
                stable_seconds=0.1)
    outcomes = {Path(r.path).name: r.outcome.value for r in seen}
    assert outcomes == {"odd.docx": "rejected", "good.docx": "accepted"}
    assert any(p.read_bytes() == broken for p in (tmp_path / "rejected").iterdir())
    assert list((tmp_path / "inbox" / ".processing").iterdir()) == []


def test_a_covering_letter_beside_the_form_is_kept_but_nobody_is_told_off(tmp_path):
    import docx

    letter = io.BytesIO()
    docx.Document().save(letter)
    path = tmp_path / "reply.eml"
    path.write_bytes(email_with(("Monitoring form.docx", filled()),
                                ("Covering letter.docx", letter.getvalue())))
    on_the_register(settings_for(tmp_path), "Hull CDRP", "jane@example.gov.uk")
    (tmp_path / "pipeline.toml").write_text("[schedule]\nsurvey_month = 12\n")  # replies only
    results = ingest_files(settings_for(tmp_path), LIBRARY, [path], lambda r: None)
    assert sorted(r.outcome.value for r in results) == ["accepted", "rejected"]
    report = run_tick(settings_for(tmp_path), LIBRARY, now=datetime(2026, 11, 12, 10, tzinfo=UTC),
                      mode=SendMode.BY_HAND)
    mails = list((tmp_path / "outbox" / "mail").glob("*.eml"))
    assert len(mails) == 1 and "received" in mails[0].name  # the receipt only
    assert report.problems == []


def test_one_refused_address_does_not_stop_the_other_replies(tmp_path, smtp_server):
    settings = settings_for(tmp_path)
    paths = []
    for sender in ("nobody@nowhere.invalid", "tom@example.gov.uk"):
        path = tmp_path / f"{sender}.eml"
        path.write_bytes(email_with(("form.docx", filled({**COMPLETE, "meeting_place": sender})),
                                    sender=sender))
        paths.append(path)
    on_the_register(settings, "Hull CDRP", "nobody@nowhere.invalid", "tom@example.gov.uk")
    ingest_files(settings, LIBRARY, paths, lambda r: None)
    (tmp_path / "pipeline.toml").write_text(
        f'[smtp]\nhost = "{smtp_server.host}"\nport = {smtp_server.port}\ntimeout = 5.0\n'
        'sender = "clerk@example.gov.uk"\n[schedule]\nsurvey_month = 12\n')
    smtp_server.collector.handle_RCPT = _refusing("nobody@nowhere.invalid")
    report = run_tick(settings, LIBRARY, now=datetime(2026, 11, 12, 10, tzinfo=UTC))
    assert [m.rcpt_tos for m in smtp_server.received] == [["tom@example.gov.uk"]]
    assert any("nobody@nowhere.invalid" in p for p in report.problems)


def _refusing(address: str):
    async def handle_RCPT(server, session, envelope, rcpt, options):  # noqa: N802 (aiosmtpd hook)
        if rcpt == address:
            return "550 No such user here"
        envelope.rcpt_tos.append(rcpt)
        return "250 OK"
    return handle_RCPT


def test_two_ticks_at_once_send_each_form_once(tmp_path):
    from datetime import date

    from pipeline.schedule.register import import_register

    with Store.for_home(settings_for(tmp_path)) as store:
        import_register(store, cycle_register_workbook(), today=date(2026, 11, 1))
    now = datetime(2026, 11, 7, 9, tzinfo=UTC)
    threads = [threading.Thread(target=run_tick, args=(settings_for(tmp_path), LIBRARY),
                                kwargs={"now": now, "mode": SendMode.BY_HAND}) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with Store.for_home(settings_for(tmp_path)) as store:
        sent = store.connection().execute(
            "SELECT COUNT(*), COUNT(DISTINCT partnership_id || purpose) FROM sent_forms").fetchone()
    # three monitoring forms, one checklist and three annual surveys: each exactly once
    assert tuple(sent) == (7, 7)


@pytest.mark.parametrize("argv", [
    ["ingest", "/no/such/file.docx"],
    ["status", "--home", "/no/such/home"],
    ["records", "monitoring", "--home", "/no/such/home"],
    ["calendar", "import", "/no/such.ics", "--committee", "X"],
])
def test_a_mistyped_path_or_home_is_one_line_exit_2_and_creates_nothing(argv, tmp_path, capsys,
                                                                        monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []
    assert not Path("/no/such/home").exists()
