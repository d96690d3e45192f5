"""The trust boundary (issue 9): no forged, hostile or unlucky return can send mail for a stranger,
overwrite another partnership, leak a file, lose a file, or stop the pipeline. Each case goes in
through the entry points a clerk has (`pipeline ingest`, `pipeline watch`, `pipeline tick`) and
checks what the clerk would: the mail not sent, the return held, the file kept whole.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.core.config import settings_for
from pipeline.core.identity import Personalisation
from pipeline.ingest.steps import Ingest
from pipeline.service import watch_inbox
from pipeline.store import Store
from tests.support.register_book import on_the_register
from tests.support.returns import (
    ANSWERS,
    EAST,
    HULL,
    LIBRARY,
    Home,
    email_with,
    issue,
    place,
    word_return,
)
from tests.support.zips import with_parts

PIPELINE = Path(sys.executable).with_name("pipeline")
JANE = "jane.smith@example.gov.uk"  # Hull CDRP's representative on the register
TICK_AT = "2026-03-17T10:00"


@pytest.fixture
def home(tmp_path: Path, capsys: pytest.CaptureFixture[str], smtp_server) -> Home:
    settings = settings_for(tmp_path / "home")
    settings.home.mkdir()
    (settings.home / "pipeline.toml").write_text(
        f'[smtp]\nhost = "{smtp_server.host}"\nport = {smtp_server.port}\ntimeout = 5.0\n'
        'sender = "partnerships@authority.example"\n[schedule]\nsurvey_month = 12\n')
    on_the_register(settings, "Hull CDRP", JANE)
    on_the_register(settings, "East Riding LSP", "tom@example.gov.uk")
    return Home(settings, capsys)


def status(home: Home) -> dict:
    code, out = home.cli("status", "--json")
    assert code == 0, out
    return json.loads(out)


def tick(home: Home) -> int:
    code, _ = home.cli("tick", "--now", TICK_AT)
    return code


def saved(folder: Path, name: str, data: bytes) -> Path:
    return place(folder, name, data)


# --- 1 and 9: mail goes only where the pipeline has reason to send it ----------------------------


def test_a_strangers_email_with_an_exe_gets_no_reply_and_is_listed_for_the_clerk(
        home: Home, tmp_path: Path, smtp_server) -> None:
    exe = b"MZ\x90\x00" + os.urandom(2000)
    path = saved(tmp_path / "in", "forged.eml",
                 email_with([("invoice.exe", exe)], sender="victim@elsewhere.example"))
    code, _ = home.cli("ingest", str(path))
    assert code == 0
    tick(home)
    assert smtp_server.received == []  # nothing reflected to the forged address
    (unanswered,) = status(home)["not_answered"]
    assert unanswered["sender"] == "victim@elsewhere.example"


def test_a_known_member_without_a_form_is_told_but_gets_nothing_attached(
        home: Home, tmp_path: Path, smtp_server) -> None:
    path = saved(tmp_path / "in", "mine.eml", email_with([("notes.exe", b"MZ" + b"x" * 500)]))
    home.cli("ingest", str(path))
    tick(home)
    (mail,) = smtp_server.received
    assert mail.rcpt_tos == [JANE]
    assert list(mail.message.iter_attachments()) == []  # never the email or what it carried


def test_a_rejected_form_is_sent_back_alone_for_correcting(home: Home, tmp_path: Path,
                                                           smtp_server) -> None:
    bad = word_return(answers={**ANSWERS, "meeting_length": ""})
    path = saved(tmp_path / "in", "reply.eml", email_with([("Monitoring.docx", bad)]))
    home.cli("ingest", str(path))
    tick(home)
    (mail,) = smtp_server.received
    attached = [(a.get_filename(), a.get_content()) for a in mail.message.iter_attachments()]
    assert attached == [("Monitoring.docx", bad)]


def test_no_reply_where_the_receiving_server_says_the_sender_failed_spf(
        home: Home, tmp_path: Path, smtp_server) -> None:
    message = email_with([("Monitoring.docx", b"not really a form")])
    message = (b"Authentication-Results: mx.authority.example; spf=fail smtp.mailfrom="
               + JANE.encode() + b"; dkim=none\r\n" + message)
    home.cli("ingest", str(saved(tmp_path / "in", "spoofed.eml", message)))
    tick(home)
    assert smtp_server.received == []
    (unanswered,) = status(home)["not_answered"]
    assert "SPF" in unanswered["why"]


def test_an_email_rejected_whole_still_records_its_sender_and_gets_one_reply(
        home: Home, tmp_path: Path, smtp_server) -> None:
    many = [(f"page-{n}.txt", b"x") for n in range(60)]
    home.cli("ingest", str(saved(tmp_path / "in", "many.eml", email_with(many))))
    tick(home)
    tick(home)
    (mail,) = smtp_server.received
    assert mail.rcpt_tos == [JANE] and "attachments" in mail.message.get_body().get_content()


# --- 2: identity is checked, not believed ---------------------------------------------------------


def test_a_copy_retyped_for_another_partnership_is_held_and_never_replaces_its_return(
        home: Home, tmp_path: Path) -> None:
    genuine = home.ingest_one(place(tmp_path / "in", "east.docx", word_return(EAST)))
    assert genuine["outcome"] == "accepted"
    forged = word_return(HULL, {**ANSWERS, "partnership": "East Riding LSP"})
    held = home.ingest_one(place(tmp_path / "in", "hull-as-east.docx", forged))
    assert held["outcome"] == "held"
    assert "Hull CDRP" in held["message"] and "East Riding LSP" in held["message"]
    (record,) = home.records()
    assert record["partnership"] == "East Riding LSP" and record["submission_id"] == \
        genuine["submission_id"]
    (shown,) = status(home)["held"]
    assert "Hull CDRP" in shown["why"]


def held_return(home: Home, tmp_path: Path) -> tuple[dict, dict]:
    """East's genuine return, then Hull's copy with East typed in it (held): both results."""
    genuine = home.ingest_one(place(tmp_path / "in", "east.docx", word_return(EAST)))
    forged = word_return(HULL, {**ANSWERS, "partnership": "East Riding LSP",
                                "meeting_length": "4 hours"})
    held = home.ingest_one(place(tmp_path / "in", "hull-as-east.docx", forged))
    assert held["outcome"] == "held"
    return genuine, held


def held_list(home: Home) -> list[dict]:
    code, out = home.cli("held", "--json")
    assert code == 0, out
    return json.loads(out)


def test_status_counts_a_held_return_as_held_not_rejected(home: Home, tmp_path: Path) -> None:
    held_return(home, tmp_path)
    counts = status(home)["inbox"]
    assert (counts["held"], counts["rejected"], counts["accepted"]) == (1, 0, 1)
    (shown,) = held_list(home)
    assert shown["file"] == "hull-as-east.docx" and "Hull CDRP" in shown["why"]
    assert Path(shown["kept_at"]).parent == home.path / "archive" / "held"
    code, out = home.cli("status")
    assert "1 held for you to check" in out and f"#{shown['number']}" in out


def test_the_clerk_releases_a_held_return_for_the_partnership_it_was_sent_to(
        home: Home, tmp_path: Path) -> None:
    genuine, _ = held_return(home, tmp_path)
    (shown,) = held_list(home)
    code, out = home.cli("held", "release", str(shown["number"]), "--as", "sent", "--json")
    assert code == 0, home.errors
    released = json.loads(out)
    assert released["outcome"] == "accepted" and "Hull CDRP" in released["message"]
    by_partnership = {r["partnership"]: r for r in home.records()}
    assert set(by_partnership) == {"East Riding LSP", "Hull CDRP"}  # East's return untouched
    assert by_partnership["East Riding LSP"]["submission_id"] == genuine["submission_id"]
    hull = by_partnership["Hull CDRP"]["fields"]
    assert hull["partnership"] == "Hull CDRP" and hull["meeting_length"] == "4 hours"
    assert held_list(home) == [] and list((home.path / "archive" / "held").iterdir()) == []
    assert Path(released["stored_at"]).read_bytes() == Path(tmp_path / "in" /
                                                            "hull-as-east.docx").read_bytes()
    counts = status(home)["inbox"]
    assert (counts["held"], counts["accepted"], counts["rejected"]) == (0, 2, 0)


def test_the_clerk_releases_a_held_return_as_typed_and_it_replaces_that_partnerships(
        home: Home, tmp_path: Path) -> None:
    genuine, _ = held_return(home, tmp_path)
    (shown,) = held_list(home)
    code, out = home.cli("held", "release", str(shown["number"]), "--as", "typed", "--json")
    assert code == 0, home.errors
    (current,) = home.records()  # the member did mean East: it is East's latest return
    assert current["partnership"] == "East Riding LSP"
    assert current["fields"]["meeting_length"] == "4 hours"
    assert current["submission_id"] != genuine["submission_id"]
    with Store.for_home(home.settings) as store:  # never counted by Hull's copy
        taken = store.intake(shown["number"])
        assert taken is not None and store.submission_by_sha256(taken.sha256).token is None


def test_the_clerk_rejects_a_held_return_with_a_reason(home: Home, tmp_path: Path) -> None:
    held_return(home, tmp_path)
    (shown,) = held_list(home)
    code, out = home.cli("held", "reject", str(shown["number"]), "--reason", "sent by mistake")
    assert code == 0, home.errors
    assert held_list(home) == [] and len(home.records()) == 1
    (kept, report) = sorted(home.settings.rejected.iterdir())
    assert kept.read_bytes() == (tmp_path / "in" / "hull-as-east.docx").read_bytes()
    assert "sent by mistake" in report.read_text()
    counts = status(home)["inbox"]
    assert (counts["held"], counts["rejected"]) == (0, 1)
    code, _ = home.cli("held", "release", str(shown["number"]), "--as", "sent")
    assert code == 2 and "no return held with number" in home.errors


def test_releasing_needs_a_choice_and_a_held_number(home: Home, tmp_path: Path) -> None:
    held_return(home, tmp_path)
    (shown,) = held_list(home)
    code, _ = home.cli("held", "release", str(shown["number"]))
    assert code == 2 and "--as sent" in home.errors
    code, _ = home.cli("held", "release", "999", "--as", "sent")
    assert code == 2 and "no return held" in home.errors
    assert len(held_list(home)) == 1


def test_a_token_never_issued_is_refused_with_a_reason(home: Home, tmp_path: Path) -> None:
    stranger = Personalisation(HULL.partnership, HULL.member, HULL.meeting_title, HULL.meeting_date,
                               HULL.meeting_place, token="0123456789abcdef")  # made up
    from pipeline.generate.forms import form_bytes
    from tests.support.filling import fill_docx

    data = fill_docx(form_bytes(LIBRARY.get("monitoring"), "docx", stranger)[0], ANSWERS)
    result = home.ingest_one(place(tmp_path / "in", "made-up.docx", data))
    assert result["outcome"] == "rejected" and "never issued" in result["message"]
    assert home.records() == []


def test_a_form_made_with_pipeline_generate_comes_back_trusted(home: Home, tmp_path: Path) -> None:
    code, out = home.cli("generate", "monitoring", "--partnership", "Hull CDRP", "--member", "Jane",
                         "--meeting-date", "2026-03-14", "--out", str(tmp_path / "made"))
    assert code == 0
    from tests.support.filling import fill_docx

    filled = fill_docx(Path(out.strip()).read_bytes(), {**ANSWERS, "meeting_title": "Board",
                                                         "meeting_place": "Guildhall"})
    result = home.ingest_one(place(tmp_path / "in", "generated.docx", filled))
    assert result["outcome"] == "accepted", result["message"]


# --- 3 and 11: only regular files, never links; sizes before reading ----------------------------


def test_ingest_refuses_a_link_and_never_copies_what_it_points_to(home: Home) -> None:
    link = home.settings.inbox / "x.docx"
    home.settings.ensure_folders()
    link.symlink_to("/etc/passwd")
    code, out = home.cli("ingest", str(link), "--json")
    assert code == 1 and "link" in json.loads(out)["message"]
    copied = [p for p in home.path.rglob("*") if p.is_file() and not p.is_symlink()
              and b"root:" in p.read_bytes()[:4096]]
    assert copied == []


def test_a_link_left_in_processing_is_set_aside_at_startup_not_followed(home: Home) -> None:
    processing = home.settings.inbox / ".processing"
    processing.mkdir(parents=True)
    (processing / "20260101T000000-leftover.docx").symlink_to("/etc/passwd")
    place(home.settings.inbox, "good.docx", word_return())
    code, _ = home.cli("watch", "--oneshot", "--quiet", "0.2")
    assert code == 0
    assert len(home.records()) == 1
    (aside,) = status(home)["quarantine"]
    assert "link" in aside["why"]
    assert not any(b"root:" in p.read_bytes()[:4096] for p in home.path.rglob("*")
                   if p.is_file() and not p.is_symlink())


def test_a_link_dropped_in_the_inbox_is_reported_in_status_and_the_log_never_followed(
        home: Home) -> None:
    home.settings.ensure_folders()
    link = home.settings.inbox / "return.docx"
    link.symlink_to("/etc/passwd")
    place(home.settings.inbox, "good.docx", word_return())
    issue(home.settings)
    done = subprocess.run([str(PIPELINE), "watch", "--oneshot", "--quiet", "0.2", "--home",
                           str(home.path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "return.docx is a link" in done.stderr and "not followed" in done.stderr
    assert len(home.records()) == 1  # the good file was taken
    assert link.is_symlink()  # left where it was, for the clerk to delete
    (shown,) = status(home)["links"]
    assert shown["file"] == "return.docx" and "delete the link" in shown["why"]
    code, out = home.cli("status")
    assert code == 0 and "LINK LEFT IN THE INBOX: return.docx" in out
    assert not any(b"root:" in p.read_bytes()[:4096] for p in home.path.rglob("*")
                   if p.is_file() and not p.is_symlink())


def test_a_link_dropped_while_the_watcher_runs_is_reported_once(home: Home, caplog) -> None:
    home.settings.ensure_folders()
    stop, seen = threading.Event(), []
    watcher = threading.Thread(target=watch_inbox, args=(home.settings, LIBRARY),
                               kwargs={"stop": stop, "report": seen.append, "stable_seconds": 0.2,
                                       "rescan_seconds": 0.3})
    with caplog.at_level("WARNING", logger="pipeline.watch"):
        watcher.start()
        try:
            (home.settings.inbox / "shadow.docx").symlink_to("/etc/shadow")
            deadline = time.monotonic() + 20
            while "shadow.docx is a link" not in caplog.text and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(1)  # several more looks through the inbox: said once, not every time
        finally:
            stop.set()
            watcher.join()
    assert caplog.text.count("shadow.docx is a link") == 1
    assert seen == [] and (home.settings.inbox / "shadow.docx").is_symlink()


def test_an_oversized_file_is_refused_without_being_read_or_copied(home: Home) -> None:
    huge = home.settings.inbox / "huge.docx"
    home.settings.ensure_folders()
    with huge.open("wb") as out:
        out.truncate(160 * 1024 * 1024)  # sparse: no disk used, and none must be used for it
    code, _ = home.cli("watch", "--oneshot", "--quiet", "0.2")
    assert code == 0
    assert list(home.settings.rejected.iterdir()) == []
    (aside,) = status(home)["quarantine"]
    assert "50 MB" in aside["why"] and Path(aside["kept_at"]).stat().st_size == 160 * 1024 * 1024


# --- 4: no poison pills --------------------------------------------------------------------------


def test_names_of_any_bytes_and_any_length_are_taken(home: Home) -> None:
    inbox = home.settings.inbox
    home.settings.ensure_folders()
    latin1 = os.fsencode(inbox) + b"/r\xe9ponse.docx"
    with open(latin1, "wb") as out:
        out.write(word_return())
    long_name = "m" * 245 + ".docx"  # 250 bytes: no room for a prefix
    place(inbox, long_name, word_return(EAST))
    code, out = home.cli("watch", "--oneshot", "--quiet", "0.2", "--json")
    assert code == 0, out
    assert sorted(json.loads(line)["outcome"] for line in out.splitlines()) == ["accepted"] * 2
    assert [p for p in inbox.iterdir() if p.is_file()] == []


def without_reading_rights(argv: list[str]) -> list[str]:
    """`argv` run so that file permissions apply: as this user, or as root without the
    capabilities that let root read any file (setpriv), else the test is skipped."""
    if os.geteuid() != 0:
        return argv
    import shutil

    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv (util-linux): root reads any file")
    return [setpriv, "--bounding-set", "-dac_override,-dac_read_search", "--", *argv]


def test_a_file_the_pipeline_cannot_read_is_set_aside_and_the_rest_goes_on(home: Home) -> None:
    inbox, processing = home.settings.inbox, home.settings.inbox / ".processing"
    processing.mkdir(parents=True)
    secret = b"not ours to read"
    for unreadable in (inbox / "locked.docx", processing / "20260101T000000-left.docx"):
        unreadable.write_bytes(secret)
        unreadable.chmod(0o000)  # the share gave the pipeline's account no right to read it
    place(inbox, "good.docx", word_return())
    issue(home.settings)
    argv = [str(PIPELINE), "watch", "--oneshot", "--quiet", "0.2", "--home", str(home.path)]
    for _ in range(2):  # and again: never a file that fails at every start
        done = subprocess.run(without_reading_rights(argv), capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0, done.stderr
    assert len(home.records()) == 1  # the good file was taken
    aside = status(home)["quarantine"]
    assert sorted(a["file"] for a in aside) == ["20260101T000000-left.docx", "locked.docx"]
    assert all("could not be opened" in a["why"] for a in aside)
    for item in aside:  # kept whole, for the clerk to give the right permissions and drop again
        kept = Path(item["kept_at"])
        kept.chmod(0o600)
        assert kept.read_bytes() == secret
    assert [p.name for p in inbox.iterdir() if p.is_file()] == []


def test_a_line_break_in_a_register_name_never_stops_the_replies(home: Home, tmp_path: Path,
                                                                 smtp_server) -> None:
    on_the_register(home.settings, "Hull\r\nBcc: evil@attacker.example", JANE)
    person = Personalisation("Hull\r\nBcc: evil@attacker.example", HULL.member, HULL.meeting_title,
                             HULL.meeting_date, HULL.meeting_place)
    path = saved(tmp_path / "in", "one.eml", email_with([("form.docx", word_return(person))]))
    home.cli("ingest", str(path))
    assert tick(home) == 0
    (mail,) = smtp_server.received
    assert mail.rcpt_tos == [JANE] and "Bcc" not in mail.message
    assert "\n" not in mail.message["Subject"]


def test_a_line_break_in_a_saved_emails_file_name_never_stops_the_replies(
        home: Home, tmp_path: Path, smtp_server) -> None:
    bad = word_return(answers={**ANSWERS, "meeting_length": ""})
    message = email_with([("NAME.docx", bad)]).replace(  # the attachment's name has a line break
        b'filename="NAME.docx"', b'filename="=?utf-8?q?Form=0D=0AX-Evil=3A_1.docx?="')
    path = saved(tmp_path / "in", "Re: form\nBcc: evil@attacker.example.eml", message)
    home.cli("ingest", str(path))
    assert tick(home) == 0
    (mail,) = smtp_server.received
    assert mail.rcpt_tos == [JANE] and "Bcc" not in mail.message and "X-Evil" not in mail.message
    assert "\n" not in mail.message["Subject"]
    (attached,) = mail.message.iter_attachments()  # the form itself, its name cleaned
    assert "X-Evil" in attached.get_filename() and "\n" not in attached.get_filename()


def test_a_reply_that_keeps_failing_is_tried_three_times_then_reported(
        home: Home, tmp_path: Path, smtp_server) -> None:
    async def refuse(server, session, envelope, rcpt, options):  # noqa: N802, ARG001
        return "550 Mailbox unavailable"

    smtp_server.collector.handle_RCPT = refuse
    home.cli("ingest", str(saved(tmp_path / "in", "x.eml", email_with([("a.txt", b"x")]))))
    codes = [tick(home) for _ in range(4)]
    assert codes[:3] == [1, 1, 1] and codes[3] == 0  # then not tried for ever
    (given_up,) = status(home)["given_up"]
    assert given_up["attempts"] == 3


# --- 5: stable before claimed --------------------------------------------------------------------


def test_a_file_still_being_copied_in_is_taken_only_when_whole(home: Home) -> None:
    data = word_return()
    issue(home.settings)
    inbox = home.settings.inbox
    home.settings.ensure_folders()
    stop, seen = threading.Event(), []
    watcher = threading.Thread(target=watch_inbox, args=(home.settings, LIBRARY),
                               kwargs={"stop": stop, "report": seen.append, "stable_seconds": 0.5,
                                       "rescan_seconds": 0.5})
    watcher.start()
    try:
        with (inbox / "copying.docx").open("wb") as out:  # half, a pause, then the rest
            out.write(data[: len(data) // 2])
            out.flush()
            time.sleep(2.5)
            out.write(data[len(data) // 2:])
        deadline = time.monotonic() + 20
        while not seen and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        stop.set()
        watcher.join()
    assert [r.outcome.value for r in seen] == ["accepted"]
    assert Path(seen[0].stored_at).read_bytes() == data


# --- 6: exactly once under concurrency --------------------------------------------------------------


def test_four_simultaneous_ingests_of_one_file_store_it_once(home: Home, tmp_path: Path) -> None:
    path = place(tmp_path / "in", "same.docx", word_return())
    issue(home.settings)
    runs = [subprocess.Popen([str(PIPELINE), "ingest", str(path), "--home", str(home.path)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(4)]
    assert [run.wait(120) for run in runs] == [0] * 4
    with Store.for_home(home.settings) as store:
        assert store.counts()["current"] + store.counts()["superseded"] == 1
        assert store.counts()["duplicate"] == 3


def test_a_oneshot_watcher_leaves_a_file_ingest_has_in_hand(home: Home) -> None:
    path = place(home.settings.inbox, "in-hand.docx", word_return())
    issue(home.settings)
    with Store.for_home(home.settings) as store:
        ingest = Ingest(home.settings, LIBRARY, store)
        claim = ingest._claim(path)  # what `pipeline ingest` holds while it works on the file
        try:
            done = subprocess.run([str(PIPELINE), "watch", "--oneshot", "--quiet", "0.2",
                                   "--home", str(home.path)], capture_output=True, timeout=120)
            assert claim.path.exists() and store.counts()["accepted"] == 0, done.stderr
            (result,) = ingest._process_claimed(claim, source=str(path), sender=None)
            assert result.outcome.value == "accepted", result.message
        finally:
            claim.close()
        assert store.counts()["accepted"] == 1
    assert done.returncode == 1  # and it says one file is not done yet


def _results(lines: str) -> list[dict]:
    return [json.loads(line) for line in lines.splitlines() if line.startswith("{")]


def _hashes(folder: Path) -> list[str]:
    import hashlib

    return sorted(hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*")
                  if p.is_file() and not p.name.endswith(".txt"))


@pytest.mark.slow
def test_ingest_of_the_inbox_while_the_watcher_runs_stores_each_of_200_files_once(home: Home) -> None:
    import hashlib

    from bench.returns import docx_return, record_issued

    returns = [docx_return(LIBRARY.get("monitoring"), index) for index in range(200)]
    home.settings.ensure_folders()
    record_issued(home.path)
    inbox = home.settings.inbox
    watcher = subprocess.Popen([str(PIPELINE), "watch", "--json", "--quiet", "0.2", "--home",
                                str(home.path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        assert watcher.stderr is not None
        for line in watcher.stderr:  # wait until it is watching
            if "for returned files" in line:
                break
        for item in returns:
            (inbox / item.name).write_bytes(item.data)
        ingest = subprocess.run([str(PIPELINE), "ingest", "--json", "--home", str(home.path),
                                 *(str(inbox / item.name) for item in returns)],
                                capture_output=True, text=True, timeout=600)
        assert ingest.returncode == 0, ingest.stderr
        deadline = time.monotonic() + 300
        while _stored(home) < 200 and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        watcher.send_signal(signal.SIGTERM)
        watched, _ = watcher.communicate(timeout=120)
    taken = [r for r in _results(ingest.stdout) + _results(watched) if r["outcome"] != "taken elsewhere"]
    assert sorted(Path(r["path"]).name for r in taken) == sorted(item.name for item in returns)
    assert {r["outcome"] for r in taken} == {"accepted"}  # each taken once, by one of the two
    with Store.for_home(home.settings) as store:
        counts = store.counts()
    assert (counts["current"], counts["accepted"], counts["duplicate"]) == (200, 200, 0)
    originals = sorted(hashlib.sha256(item.data).hexdigest() for item in returns)
    assert _hashes(home.settings.archive) == originals and _hashes(home.settings.rejected) == []
    assert [p for p in inbox.rglob("*") if p.is_file()] == []


def _stored(home: Home) -> int:
    with Store.for_home(home.settings) as store:
        counts = store.counts()
    return counts["current"] + counts["superseded"]


# --- 7: times from our own clock ----------------------------------------------------------------


def test_a_file_dropped_late_is_late_whatever_its_modification_time(home: Home, tmp_path: Path) -> None:
    path = place(tmp_path / "in", "old.docx", word_return())  # modification time: on time
    issue(home.settings)
    code, out = home.cli("ingest", str(path), "--json", "--now", "2026-05-20T10:00")
    assert code == 0 and json.loads(out)["late"] is True


def test_an_email_dated_2099_never_pins_itself_as_the_current_return(home: Home, tmp_path: Path) -> None:
    future = email_with([("first.docx", word_return())], sent=datetime(2099, 1, 1, tzinfo=UTC))
    corrected = email_with([("second.docx", word_return(answers={**ANSWERS,
                                                                  "meeting_length": "3 hours"}))])
    issue(home.settings)
    home.cli("ingest", str(saved(tmp_path / "in", "a.eml", future)), "--now", "2026-03-16T10:00")
    home.cli("ingest", str(saved(tmp_path / "in", "b.eml", corrected)), "--now", "2026-03-16T11:00")
    (current,) = home.records()
    assert current["fields"]["meeting_length"] == "3 hours"
    with Store.for_home(home.settings) as store:
        assert "future-date" in (store.intakes(outcome="container", limit=5)[-1].flags or "")
    (flagged,) = status(home)["future_dated"]
    assert flagged["file"] == "a.eml" and flagged["dated"].startswith("2099-01-01")
    assert flagged["arrived"].startswith("2026-03-16")
    code, out = home.cli("status")
    assert "DATED IN THE FUTURE: the email a.eml" in out and "2099" in out


# --- 10: failures are visible and leave nothing behind ------------------------------------------


def _limited(megabytes: int):
    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails, as on a full disk
        resource.setrlimit(resource.RLIMIT_FSIZE, (megabytes << 20, megabytes << 20))
    return limit


def big_form() -> bytes:
    """A good return padded to 3 MB (an extra part no reader looks at)."""
    return with_parts(word_return(), {}, added={"customXml/padding.bin": os.urandom(3 << 20)})


@pytest.mark.parametrize("command", ["ingest", "watch"])
def test_a_full_disk_leaves_no_partial_copy_keeps_the_original_and_exits_1(
        home: Home, tmp_path: Path, command: str) -> None:
    data = big_form()
    issue(home.settings)
    home.settings.ensure_folders()
    if command == "ingest":
        path = place(tmp_path / "in", "big.docx", data)
        argv = ["ingest", str(path)]
    else:
        path = place(home.settings.inbox, "big.docx", data)
        argv = ["watch", "--oneshot", "--quiet", "0.2"]
    done = subprocess.run([str(PIPELINE), *argv, "--home", str(home.path)], capture_output=True,
                          text=True, timeout=120, preexec_fn=_limited(1))
    assert done.returncode == 1 and "not" in done.stderr.lower(), done.stderr
    partial = [p for p in home.path.rglob(".*") if p.is_file() and p.name.startswith(
        (".writing-", ".copying-"))]
    assert partial == []
    if command == "ingest":
        assert path.read_bytes() == data  # left where it was
    else:
        kept = [p for p in home.path.rglob("*") if p.is_file() and p.read_bytes() == data]
        assert len(kept) == 1, "the original is gone"
        assert status(home)["inbox"]["being_retried"] == 1


@pytest.mark.slow
def test_a_file_that_met_a_busy_database_is_counted_as_waiting_and_retried(home: Home) -> None:
    import sqlite3

    data = word_return()
    issue(home.settings)
    stop, seen = threading.Event(), []
    watcher = threading.Thread(target=watch_inbox, args=(home.settings, LIBRARY),
                               kwargs={"stop": stop, "report": seen.append, "stable_seconds": 0.2,
                                       "rescan_seconds": 0.5})
    blocker = sqlite3.connect(home.settings.database, isolation_level=None)
    try:
        watcher.start()
        blocker.execute("BEGIN IMMEDIATE")  # another process busy writing, longer than we wait
        place(home.settings.inbox, "busy.docx", data)
        time.sleep(12)  # past the database's 10 s busy timeout: this file failed once
        assert seen == []
        assert status(home)["inbox"]["being_retried"] == 1
        blocker.execute("ROLLBACK")
        deadline = time.monotonic() + 20
        while not seen and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        blocker.close()
        stop.set()
        watcher.join()
    assert [r.outcome.value for r in seen] == ["accepted"]
    assert status(home)["inbox"]["waiting"] == 0


def test_a_saved_email_arrived_when_our_mail_server_received_it(home: Home, tmp_path: Path) -> None:
    message = email_with([("form.docx", word_return())])
    received = (b"Received: from mail.partner.example by mx.authority.example; "
                b"Mon, 16 Mar 2026 09:00:00 +0000\r\n")
    issue(home.settings)
    path = saved(tmp_path / "in", "saved-later.eml", received + message)
    code, out = home.cli("ingest", str(path), "--json", "--now", "2026-05-20T10:00")
    assert code == 0 and json.loads(out)["late"] is False  # the clerk saved it two months on


def test_a_token_issued_for_another_form_is_refused_with_a_reason(home: Home, tmp_path: Path) -> None:
    from pipeline.generate.forms import form_bytes
    from tests.support.filling import fill_docx

    with Store.for_home(home.settings) as store:  # the token went out on a risk checklist
        store.record_token("fedcba9876543210", form_id="risk-checklist", form_version=1,
                           partnership="Hull CDRP", member="Jane", meeting_date=None, sent_to=JANE,
                           issued_by="scheduler", at=datetime(2026, 3, 1, tzinfo=UTC))
    copied = Personalisation(HULL.partnership, HULL.member, HULL.meeting_title, HULL.meeting_date,
                             HULL.meeting_place, token="fedcba9876543210")
    data = fill_docx(form_bytes(LIBRARY.get("monitoring"), "docx", copied)[0], ANSWERS)
    result = home.ingest_one(place(tmp_path / "in", "mixed.docx", data))
    assert result["outcome"] == "rejected" and "different form" in result["message"]
    assert home.records() == []
