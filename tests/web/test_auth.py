"""The console's security at the HTTP level (Flask's test client on the real app and store):
signed-out refusal, CSRF, roles, paths out of the home, throttling, cookie flags, idle timeout;
and the `pipeline users` commands."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.core.config import WebConfig
from pipeline.schedule.mailer import SendMode
from pipeline.store import Store
from tests.support.console_home import (
    CLERK,
    CLERK_PASSWORD,
    VIEWER,
    VIEWER_PASSWORD,
    ConsoleHome,
    build_home,
    client,
    sign_in,
    token_on,
)

PAGES = ["/", "/returns", "/returns/1", "/attention", "/forms", "/meetings", "/register",
         "/forms/download?form=monitoring&format=docx", "/returns/1/original"]
ACTIONS = ["/attention/{rejected}/dismiss", "/attention/{rejected}/reingest", "/attention/match",
           "/attention/held/{rejected}",
           "/meetings/write", "/register", "/sign-out"]


def first_return(home: ConsoleHome) -> int:
    with Store.for_home(home.settings) as store:
        return store.records("monitoring")[0].submission_id


def rejected_id(home: ConsoleHome) -> int:
    with Store.for_home(home.settings) as store:
        return store.rejections_open()[-1].id


def test_every_page_but_sign_in_is_refused_signed_out(home: ConsoleHome) -> None:
    browser = client(home)
    for page in PAGES + [f"/files/{home.part1_file.relative_to(home.settings.home)}"]:
        answer = browser.get(page)
        assert answer.status_code == 302 and "/sign-in" in answer.headers["Location"], page
    for action in ACTIONS:
        answer = browser.post(action.format(rejected=rejected_id(home)), data={})
        assert answer.status_code in (302, 400), action
        assert answer.status_code == 400 or "/sign-in" in answer.headers["Location"]
    assert browser.get("/sign-in").status_code == 200


def test_a_post_without_or_with_a_wrong_csrf_token_is_refused(home: ConsoleHome) -> None:
    browser = client(home)
    assert sign_in(browser, CLERK, CLERK_PASSWORD).status_code == 302
    intake = rejected_id(home)
    for data in ({"reason": "sent again"}, {"reason": "sent again", "csrf_token": "forged"}):
        answer = browser.post(f"/attention/{intake}/dismiss", data=data)
        assert answer.status_code == 400
        assert "did not come from the console" in answer.text
    with Store.for_home(home.settings) as store:
        assert intake in [row.id for row in store.rejections_open()], "nothing was dismissed"
    signed_out = client(home)
    answer = signed_out.post("/sign-in", data={"name": CLERK, "password": CLERK_PASSWORD})
    assert answer.status_code == 400 and "pipeline_session" not in answer.headers.get("Set-Cookie", "")


def test_a_viewer_sees_part_1_and_status_but_not_part_2_nor_any_action(home: ConsoleHome) -> None:
    browser = client(home)
    assert sign_in(browser, VIEWER, VIEWER_PASSWORD).status_code == 302
    assert browser.get("/").status_code == 200
    part1 = home.part1_file.relative_to(home.settings.home)
    part2 = home.part2_file.relative_to(home.settings.home)
    assert browser.get(f"/files/{part1}").status_code == 200
    assert browser.get(f"/files/{part2}").status_code == 403
    meetings = browser.get("/meetings").text
    assert part1.name in meetings and "papers-exempt" not in meetings
    for page in ("/attention", f"/returns/{first_return(home)}/original",
                 "/forms/download?form=monitoring&format=docx&partnership=Hull"):
        assert browser.get(page).status_code == 403, page
    with Store.for_home(home.settings) as store:
        first = store.records("monitoring")[0].submission_id
    detail = browser.get(f"/returns/{first}").text
    assert "can be seen by clerks only" in detail and "What the member gave" not in detail
    token = token_on(browser.get("/").text)
    for action in ACTIONS[:-1]:
        answer = browser.post(action.format(rejected=rejected_id(home)), data={"csrf_token": token})
        assert answer.status_code == 403, action


def test_a_download_path_that_climbs_out_of_the_home_is_refused(home: ConsoleHome) -> None:
    browser = client(home)
    sign_in(browser, CLERK, CLERK_PASSWORD)
    for path in ("../pipeline.sqlite3", "outbox/../pipeline.sqlite3", "..%2f..%2fetc%2fpasswd",
                 "/etc/passwd", "outbox/papers/../../../../etc/passwd"):
        answer = browser.get(f"/files/{path}", follow_redirects=True)  # "//" is merged first: 308
        assert answer.status_code in (403, 404), path
        assert b"SQLite format" not in answer.data and b"root:" not in answer.data
    # and an outbox file the pipeline did not write as a paper is not served either
    (home.settings.outbox / "secret.txt").write_text("not a paper")
    assert browser.get("/files/outbox/secret.txt").status_code == 404


def test_sign_in_is_throttled_after_repeated_failures(home: ConsoleHome) -> None:
    browser = client(home)
    for _ in range(5):
        assert sign_in(browser, VIEWER, "wrong password!").status_code == 401
    answer = sign_in(browser, VIEWER, VIEWER_PASSWORD)
    assert answer.status_code == 429 and "Too many sign-in attempts" in answer.text
    assert "pipeline_session=" not in answer.headers.get("Set-Cookie", "")
    with Store.for_home(home.settings) as store:
        store.clear_sign_in_failures(VIEWER)
        assert [e.outcome for e in store.events()][-1] == "throttled"


def test_cookies_are_always_httponly_and_samesite_and_secure_behind_an_https_proxy(
        home: ConsoleHome) -> None:
    plain = client(home)
    answers = [plain.get("/sign-in"), sign_in(plain, CLERK, CLERK_PASSWORD)]
    proxied = client(home, replace(WebConfig(), trust_proxy=True))
    https = {"X-Forwarded-Proto": "https"}
    answers_https = [proxied.get("/sign-in", headers=https), sign_in(proxied, CLERK, CLERK_PASSWORD, **https)]
    for answer in answers + answers_https:
        cookies = answer.headers.getlist("Set-Cookie")
        assert cookies
        for cookie in cookies:
            assert "HttpOnly" in cookie and "SameSite=Lax" in cookie, cookie
    assert all("Secure" in c for a in answers_https for c in a.headers.getlist("Set-Cookie"))
    assert not any("Secure" in c for a in answers for c in a.headers.getlist("Set-Cookie"))


def test_signing_out_and_idle_timeout_end_the_session(home: ConsoleHome) -> None:
    browser = client(home)
    sign_in(browser, CLERK, CLERK_PASSWORD)
    assert browser.get("/").status_code == 200
    browser.post("/sign-out", data={"csrf_token": token_on(browser.get("/").text)})
    assert browser.get("/").status_code == 302
    sign_in(browser, CLERK, CLERK_PASSWORD)
    with Store.for_home(home.settings) as store:
        long_ago = datetime.now(UTC) - timedelta(minutes=31)
        store.connection().execute("UPDATE web_sessions SET last_seen = ?",
                                   (long_ago.strftime("%Y-%m-%dT%H:%M:%SZ"),))
    assert browser.get("/").status_code == 302


def test_every_action_is_in_the_event_log_with_who_did_it(home: ConsoleHome) -> None:
    browser = client(home)
    sign_in(browser, CLERK, CLERK_PASSWORD)
    intake = rejected_id(home)
    token = token_on(browser.get("/attention").text)
    answer = browser.post(f"/attention/{intake}/dismiss", data={"csrf_token": token,
                                                               "reason": "sent again by email"})
    assert answer.status_code == 302
    with Store.for_home(home.settings) as store:
        assert intake not in [row.id for row in store.rejections_open()]
        event = [e for e in store.events(intake_id=intake) if e.step == "console"][-1]
    assert (event.outcome, event.detail, event.by_user) == ("dismissed", "sent again by email", CLERK)


def test_users_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                        capsys: pytest.CaptureFixture[str]) -> None:
    import io

    home = str(tmp_path)
    monkeypatch.setattr("sys.stdin", io.StringIO("a long secret phrase\n"))
    assert main(["users", "add", "Sam Clerk", "--role", "clerk", "--password-stdin", "--home", home]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["users", "add", "Pat", "--role", "viewer", "--password-stdin", "--home", home]) == 2
    assert "too short" in capsys.readouterr().err
    with Store.open(tmp_path / "pipeline.sqlite3") as store:
        user = store.user("Sam Clerk")
        assert user is not None and user.role == "clerk"
        assert user.password_hash.startswith("$argon2id$") and "secret" not in user.password_hash
        before = user.password_hash
    assert main(["users", "list", "--home", home]) == 0
    assert "Sam Clerk" in capsys.readouterr().out and "Pat" not in capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", io.StringIO("another long phrase\n"))
    assert main(["users", "password", "Sam Clerk", "--password-stdin", "--home", home]) == 0
    with Store.open(tmp_path / "pipeline.sqlite3") as store:
        user = store.user("Sam Clerk")
        assert user is not None and user.password_hash != before
    assert main(["users", "remove", "Sam Clerk", "--home", home]) == 0
    assert main(["users", "remove", "Sam Clerk", "--home", home]) == 1
    assert "no user called Sam Clerk" in capsys.readouterr().err


def test_serve_runs_the_console_when_web_is_enabled(tmp_path: Path) -> None:
    import socket
    import threading
    import time
    import urllib.request

    from pipeline.core.config import Settings
    from pipeline.core.definitions import FormLibrary
    from pipeline.service import serve

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    (tmp_path / "pipeline.toml").write_text(f"[web]\nenabled = true\nport = {port}\n")
    stop = threading.Event()
    settings = Settings(home=tmp_path)
    running = threading.Thread(target=serve, args=(settings, FormLibrary.load()),
                               kwargs={"mode": SendMode.BY_HAND, "tick_seconds": 0.2, "stop": stop})
    running.start()
    try:
        for _ in range(50):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/sign-in", timeout=2) as page:
                    assert page.status == 200 and "Sign in" in page.read().decode()
                    break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("the console did not answer")
    finally:
        stop.set()
        running.join(timeout=20)
    assert not running.is_alive()


def test_meetings_list_papers_by_title_and_show_a_viewer_no_part_2_paper(home: ConsoleHome) -> None:
    from pipeline.papers import PAPER_TITLES

    part1_title = PAPER_TITLES[home.meeting.papers[0]]
    part2_title = PAPER_TITLES["risk-register"]
    assert part1_title != part2_title, "the sample meeting's first paper is not the risk register"
    clerk = client(home)
    sign_in(clerk, CLERK, CLERK_PASSWORD)
    page = clerk.get("/meetings").text
    assert f"<td>{part1_title}</td>" in page and f"<td>{part2_title}</td>" in page
    first_cells = re.findall(r"<tr><td>([^<]*)</td>", page)
    assert first_cells and set(first_cells) <= set(PAPER_TITLES.values())  # titles, not kinds
    taken = re.search(r"Papers taken: ([^.]*)\.", page)
    assert taken and taken.group(1).split(", ") == [PAPER_TITLES[k] for k in home.meeting.papers]
    viewer = client(home)
    sign_in(viewer, VIEWER, VIEWER_PASSWORD)
    page = viewer.get("/meetings").text
    assert f"<td>{part1_title}</td>" in page
    assert f"<td>{part2_title}</td>" not in page, "a paper whose every file is Part 2 is not listed"


@pytest.mark.libreoffice
@pytest.mark.slow
def test_meetings_show_the_publication_folder_once_published(tmp_path: Path) -> None:
    import shutil

    from pipeline import papers
    from pipeline.papers.convert import to_pdf
    from pipeline.papers.publish import publish_meeting

    if shutil.which("soffice") is None:
        pytest.skip("LibreOffice (soffice) is not installed: the published papers need their PDFs")
    home = build_home(tmp_path)
    meeting = home.meeting
    papers.write_paper(home.settings, home.library, papers.PaperRequest(
        kind=meeting.papers[0], meeting_date=meeting.date, committee=meeting.committee),
        home.settings.outbox / "papers", to_pdf=to_pdf)
    clerk = client(home)
    sign_in(clerk, CLERK, CLERK_PASSWORD)
    assert "Publication folder for the website" not in clerk.get("/meetings").text
    folder = publish_meeting(home.settings, meeting.date, meeting.committee, today=home.today,
                             to_pdf=to_pdf)
    assert f"Publication folder for the website: {folder}" in clerk.get("/meetings").text
