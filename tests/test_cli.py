"""Operations a clerk can trust, driven through the `pipeline` command as a clerk would: a tick
that rehearses, one that writes the emails for sending by hand, one that sends (against a real
loopback SMTP server); `pipeline check`; one email per person; commands that say what to do next;
and a demo that can be run twice."""

from __future__ import annotations

import json
import os
import stat
from datetime import date
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.core.config import settings_for
from pipeline.schedule.register import import_register
from pipeline.store import Store
from tests.support.filling import soffice
from tests.support.register_book import Partner
from tests.support.register_book import register_workbook as filled_register
from tests.support.smtp_server import PASSWORD, USERNAME, LoopbackSmtp, free_port, running

# Three partnerships; one officer leads all three (the survey goes to the lead); Hull is high-risk.
PARTNERSHIPS = [
    ("Hull Community Safety Partnership", "jane@example.gov.uk", "Yes"),
    ("East Riding LSP", "tom@example.gov.uk", "No"),
    ("Humberside LCJB", "alan@example.gov.uk", "No"),
]
LEAD = "sdm@example.gov.uk"


def register_workbook(bad_rows: int = 0) -> bytes:
    """PARTNERSHIPS, each meeting on 10 November 2026, then `bad_rows` rows the import refuses."""
    partners = [Partner(name, money == "Yes", "CDRP", f"Member {n}", email, "Strategic Development Manager",
                        LEAD) for n, (name, email, money) in enumerate(PARTNERSHIPS)]
    return filled_register(partners, [(p.name, date(2026, 11, 10)) for p in partners],
                           refused_rows=bad_rows)


def smtp_settings(server: LoopbackSmtp, extra: str = "") -> str:
    return (f'[smtp]\nhost = "{server.host}"\nport = {server.port}\n'
            f'sender = "partnerships@authority.example"\ntimeout = 5.0\n{extra}'
            '[schedule]\nsurvey_month = 12\n')


def make_home(root: Path, settings_text: str | None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    if settings_text is not None:
        (root / "pipeline.toml").write_text(settings_text)
    with Store.for_home(settings_for(root)) as store:
        assert import_register(store, register_workbook(), today=date(2026, 11, 1)).problems == []
    return root


def pipeline(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def eml_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.eml")) if folder.exists() else []


# --- three honest ways to run a tick -------------------------------------------------------------


def test_a_dry_run_rehearses_and_records_nothing_so_the_real_tick_does_it_all(tmp_path, capsys,
                                                                             smtp_server, backend):
    """On SQLite and on PostgreSQL: the rehearsal runs on a copy of the store (an SQLite file)."""
    home = make_home(tmp_path, smtp_settings(smtp_server))
    status, out, _ = pipeline(capsys, "tick", "--dry-run", "--now", "2026-11-07T09:00", "--home", str(home))
    assert status == 0
    assert "nothing is sent or recorded" in out
    would = [line for line in out.splitlines() if line.startswith("Would send the")]
    assert len(would) == 4 and not any(line.startswith("Sent ") for line in out.splitlines())
    assert len(eml_files(home / "outbox" / "preview")) == 3  # Jane's two forms in one email
    assert eml_files(home / "outbox" / "mail") == [] and smtp_server.received == []

    status, out, _ = pipeline(capsys, "tick", "--now", "2026-11-07T09:00", "--home", str(home))
    assert status == 0
    sent = [line for line in out.splitlines() if line.startswith("Sent the")]
    assert len(sent) == 4, out
    assert sorted(m.rcpt_tos[0] for m in smtp_server.received) == sorted(e for _, e, _ in PARTNERSHIPS)

    status, out, _ = pipeline(capsys, "tick", "--now", "2026-11-07T09:30", "--home", str(home))
    assert out.strip() == "Nothing was due." and len(smtp_server.received) == 3


def test_sending_by_hand_writes_the_emails_and_counts_them_as_sent(tmp_path, capsys, smtp_server):
    home = make_home(tmp_path, smtp_settings(smtp_server))
    status, out, _ = pipeline(capsys, "tick", "--send-by-hand", "--now", "2026-11-07T09:00",
                              "--home", str(home))
    assert status == 0
    assert len([line for line in out.splitlines() if line.startswith("Written for you to send: the")]) == 4
    assert len(eml_files(home / "outbox" / "mail")) == 3 and smtp_server.received == []
    status, out, _ = pipeline(capsys, "tick", "--now", "2026-11-07T10:00", "--home", str(home))
    assert out.strip() == "Nothing was due." and smtp_server.received == []  # already sent, by hand


def test_a_tick_without_mail_settings_says_which_section_to_add_once_and_sends_nothing(tmp_path,
                                                                                      capsys):
    home = make_home(tmp_path, None)
    status, out, err = pipeline(capsys, "tick", "--now", "2026-11-07T09:00", "--home", str(home))
    assert status != 0 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert "[smtp]" in err and "pipeline check" in err and "--send-by-hand" in err
    status, out, _ = pipeline(capsys, "tick", "--dry-run", "--now", "2026-11-07T09:00", "--home", str(home))
    would = [ln for ln in out.splitlines() if ln.startswith("Would send")]
    assert status == 0 and len(would) == 7  # the default survey month (April) has passed: 3 surveys too
    assert smtp_settings is not None and not (home / "outbox" / "mail").exists()


def test_a_refused_connection_is_said_once_with_no_nothing_was_due(tmp_path, capsys):
    port = free_port()
    home = make_home(tmp_path, f'[smtp]\nhost = "127.0.0.1"\nport = {port}\ntimeout = 2.0\n')
    status, out, err = pipeline(capsys, "tick", "--now", "2026-11-07T09:00", "--home", str(home))
    assert status == 1 and "Nothing was due" not in out
    refusals = [line for line in err.splitlines() if "refused the connection" in line]
    assert len(refusals) == 1, err  # said once, naming the four people not sent to
    assert refusals[0].startswith("PROBLEM: Could not send 4 emails (to ")
    assert all(e in refusals[0] for e in ("jane@", "tom@", "alan@", LEAD))


# --- one email per person --------------------------------------------------------------------------


def test_a_lead_of_three_partnerships_gets_one_survey_email_with_three_forms(tmp_path, capsys,
                                                                            smtp_server):
    home = make_home(tmp_path, smtp_settings(smtp_server))
    status, out, _ = pipeline(capsys, "tick", "--now", "2026-12-02T09:00", "--home", str(home))
    assert status == 0, out
    to_lead = [m.message for m in smtp_server.received if m.rcpt_tos == [LEAD]]
    assert len(to_lead) == 1
    names = [part.get_filename() for part in to_lead[0].iter_attachments()]
    assert len(names) == 3 and all(name.startswith("stakeholder-survey-") for name in names)
    assert "3 partnerships" in to_lead[0]["Subject"]
    body = to_lead[0].get_body(("plain",)).get_content()
    for name, _, _ in PARTNERSHIPS:
        assert name in body
    assert "How to return them:" in body and "each attached form" in body
    assert len(set(to_lead[0].get_all("X-Pipeline-Token"))) == 3


# --- pipeline check --------------------------------------------------------------------------------


def check_lines(capsys, home: Path, *extra: str) -> tuple[int, dict[str, dict]]:
    status, out, _ = pipeline(capsys, "check", "--json", "--now", "2026-11-07T09:00", "--home",
                              str(home), *extra)
    return status, {item["item"]: item for item in json.loads(out)}


def write_calendar(home: Path) -> None:
    (home / "committees.yaml").write_text("committees:\n  - name: Communities and Partnerships Committee\n"
                                          "    papers: [monitoring-summary]\n    meetings: [2026-12-01]\n")
    assert main(["calendar", "import", str(home / "committees.yaml"), "--home", str(home)]) == 0


def test_check_passes_a_home_that_is_ready_and_logs_in_without_sending(tmp_path, capsys):
    with running(authenticator=_login, auth_require_tls=False, auth_required=True) as server:
        os.environ["PIPELINE_SMTP_PASSWORD"] = PASSWORD
        try:
            home = make_home(tmp_path, smtp_settings(server, f'username = "{USERNAME}"\n'))
            write_calendar(home)
            status, items = check_lines(capsys, home, "--skip-office")
        finally:
            del os.environ["PIPELINE_SMTP_PASSWORD"]
        assert status == 0, items
        assert items["Mail server"]["ok"] and f"logged in as {USERNAME}" in items["Mail server"]["detail"]
        assert server.received == []
    assert items["Calendar"]["detail"].startswith("next: Communities and Partnerships Committee on "
                                                  "Tuesday 1 December 2026")
    assert "Monday 23 November 2026" in items["Calendar"]["detail"]  # five clear working days
    assert items["Register"]["detail"] == "3 partnerships"
    status, out, _ = pipeline(capsys, "check", "--skip-office", "--now", "2026-11-07T09:00",
                              "--home", str(home))
    assert status == 1  # the password variable is gone now, so the login cannot be made
    assert "PIPELINE_SMTP_PASSWORD" in out


def _login(server, session, envelope, mechanism, auth_data):
    from tests.support.smtp_server import check_login

    return check_login(server, session, envelope, mechanism, auth_data)


def test_check_reports_a_refused_login_a_server_not_listening_and_no_settings(tmp_path, capsys):
    with running(authenticator=_login, auth_require_tls=False, auth_required=True) as server:
        os.environ["PIPELINE_SMTP_PASSWORD"] = "wrong"
        try:
            home = make_home(tmp_path / "a", smtp_settings(server, f'username = "{USERNAME}"\n'))
            status, items = check_lines(capsys, home, "--skip-office")
        finally:
            del os.environ["PIPELINE_SMTP_PASSWORD"]
    assert status == 1
    assert not items["Mail server"]["ok"] and "did not accept the password" in items["Mail server"]["detail"]
    assert not items["Calendar"]["ok"] and "calendar import" in items["Calendar"]["fix"]

    port = free_port()
    home = make_home(tmp_path / "b", f'[smtp]\nhost = "127.0.0.1"\nport = {port}\ntimeout = 2.0\n')
    status, items = check_lines(capsys, home, "--skip-office")
    assert status == 1 and "refused the connection" in items["Mail server"]["detail"]

    home = make_home(tmp_path / "c", None)
    status, items = check_lines(capsys, home, "--skip-office")
    assert status == 1 and "[smtp]" in items["Mail server"]["fix"]

    empty = tmp_path / "d"
    empty.mkdir()
    status, items = check_lines(capsys, empty, "--skip-office")
    assert status == 1 and "register import" in items["Database"]["fix"]


@pytest.mark.libreoffice
@pytest.mark.skipif(soffice() is None, reason="LibreOffice (soffice) is needed to test converting")
def test_check_converts_a_tiny_document_with_libreoffice(tmp_path, capsys, smtp_server):
    home = make_home(tmp_path, smtp_settings(smtp_server))
    _, items = check_lines(capsys, home)
    assert items["LibreOffice"]["ok"] and items["LibreOffice"]["detail"].startswith("made a PDF in ")


# --- commands that say what to do next -------------------------------------------------------------


def test_register_import_with_refused_rows_exits_1_and_keeps_the_good_rows(tmp_path, capsys):
    workbook = tmp_path / "register.xlsx"
    workbook.write_bytes(register_workbook(bad_rows=2))
    status, out, err = pipeline(capsys, "register", "import", str(workbook), "--home", str(tmp_path))
    assert status == 1
    assert "Partnerships: 3 added" in out and "problem(s)" in out
    assert "The other rows were imported" in err
    with Store.for_home(settings_for(tmp_path)) as store:
        from pipeline.schedule.register import partnerships

        assert len(partnerships(store)) == 3


def test_an_empty_calendar_says_how_to_add_meetings(tmp_path, capsys):
    home = make_home(tmp_path, None)
    status, out, _ = pipeline(capsys, "calendar", "--home", str(home))
    assert status == 0 and "calendar import committees.yaml" in out


def test_the_no_database_message_names_the_first_step(tmp_path, capsys):
    status, _, err = pipeline(capsys, "status", "--home", str(tmp_path))
    assert status == 2 and "pipeline register import" in err


def test_near_misses_get_did_you_mean(tmp_path, capsys):
    _, _, err = pipeline(capsys, "forms", "show", "risk")
    assert "Did you mean 'risk-checklist'?" in err
    status, _, err = pipeline(capsys, "tik")
    assert status == 2 and "Did you mean 'tick'?" in err


def test_generated_files_respect_the_umask(tmp_path, capsys):
    old = os.umask(0o022)
    try:
        status, out, _ = pipeline(capsys, "generate", "monitoring", "--out", str(tmp_path))
    finally:
        os.umask(old)
    assert status == 0
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert written and all(stat.S_IMODE(p.stat().st_mode) == 0o644 for p in written)


# --- a demo you can run twice ----------------------------------------------------------------------


@pytest.mark.slow
def test_the_demo_run_twice_gives_the_same_result(tmp_path, capsys):
    home = tmp_path / "demo"
    assert main(["demo", "--home", str(home)]) == 0
    first = capsys.readouterr().out
    assert main(["demo", "--home", str(home)]) == 0
    second = capsys.readouterr().out
    assert "Starting the sample home afresh" in second
    assert second.count("SUPERSEDED") == first.count("SUPERSEDED")  # only the demo's own correction
    assert not list((home / "outbox").glob("partnership-register-*.xlsx"))

    def outcomes(text: str) -> list[str]:
        return sorted(line.split()[0] for line in text.splitlines()
                      if line.startswith("   ") and line.split()[0].isupper() and len(line.split()[0]) > 3)

    assert outcomes(first) == outcomes(second)
    assert sorted(p.name for p in (home / "outbox" / "mail").glob("*.eml")) != []

    # status explains the returns its 'back' column does not count (the demo's history returns)
    assert main(["status", "--json", "--home", str(home)]) == 0
    shown = json.loads(capsys.readouterr().out)
    other = shown["not_expected"]
    assert other and all(item["partnership"] for item in other)
    returned = sum(row["returned"] for row in shown["expected"])
    assert returned + len(other) + len(shown["not_matched"]) == shown["inbox"]["current"]
    assert main(["status", "--home", str(home)]) == 0
    assert f"Returns that answer no form the pipeline sent ({len(other)})" in capsys.readouterr().out


def test_the_demo_refuses_a_home_it_did_not_make(tmp_path, capsys):
    make_home(tmp_path, None)
    status, _, err = pipeline(capsys, "demo", "--home", str(tmp_path))
    assert status == 2 and "did not make" in err
    assert settings_for(tmp_path).database.exists()


def test_no_module_writes_dates_in_the_machines_language():
    """Day and month names come from the pipeline's own wording, never the locale (%a %A %b %B)."""
    import re

    import pipeline

    by_locale = re.compile(r"\{[^{}]*:[^{}]*%[aAbB][^{}]*\}|strftime\([^)]*%[aAbB]")
    found = [f"{path.name}:{number}" for path in Path(pipeline.__file__).parent.rglob("*.py")
             for number, line in enumerate(path.read_text().splitlines(), 1) if by_locale.search(line)]
    assert found == []


def test_the_consoles_health_line_reports_the_mailboxs_last_check(tmp_path):
    from pipeline.web.pages import health

    home = make_home(tmp_path, '[imap]\nhost = "imap.example.gov.uk"\nusername = "clerk"\n')
    with Store.for_home(settings_for(home)) as store:
        never = health(settings_for(home), store, {"configured": True, "last_check": None})
        failed = health(settings_for(home), store, {
            "configured": True, "last_check": "2026-12-01T09:05:00Z", "ok": False,
            "last_result": "the mail server did not accept the login for clerk"})
    assert never["mailbox"] == "set up: imap.example.gov.uk"
    assert failed["mailbox"] == ("PROBLEM at the last check (2026-12-01 09:05 UTC): the mail server "
                                 "did not accept the login for clerk")
