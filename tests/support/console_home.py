"""A pipeline home for the console's tests: register, calendar, returns (one rejected), a paper
for a meeting and an exempt (Part 2) one, and two users. Built once per test module."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from pipeline import papers
from pipeline.core.config import Settings, WebConfig
from pipeline.core.definitions import FormLibrary
from pipeline.core.files import write_new_file
from pipeline.demo.samples import record_sample_tokens, sample_committees, sample_register, sample_returns
from pipeline.schedule import committees, register
from pipeline.service import watch_inbox
from pipeline.store import Store
from pipeline.web import create_app
from pipeline.web.users import add_user

CLERK, CLERK_PASSWORD = "Jo Clerk", "correct horse battery"
VIEWER, VIEWER_PASSWORD = "Val Viewer", "viewer password 12"


@dataclass(frozen=True)
class ConsoleHome:
    settings: Settings
    library: FormLibrary
    today: date
    meeting: committees.Meeting
    part1_file: Path
    part2_file: Path


def build_home(folder: Path) -> ConsoleHome:
    settings, library, today = Settings(home=folder), FormLibrary.load(), date.today()
    settings.ensure_folders()
    with Store.for_home(settings) as store:
        register.import_register(store, sample_register(today), today=today)
        calendar = folder / "committees.yaml"
        calendar.write_text(sample_committees(today), encoding="utf-8")
        committees.load_yaml(store, calendar)
        meeting = committees.meetings(store, from_date=today)[0]
        add_user(store, CLERK, "clerk", CLERK_PASSWORD)
        add_user(store, VIEWER, "viewer", VIEWER_PASSWORD)
    for sample in sample_returns(library, today):
        write_new_file(settings.inbox, sample.name, sample.data)
    with Store.for_home(settings) as store:
        record_sample_tokens(store, datetime.now(UTC))  # as if the pipeline had sent these copies
    watch_inbox(settings, library, stop=threading.Event(), report=lambda _r: None, oneshot=True,
                stable_seconds=0)
    part1 = _paper(settings, library, meeting, None)
    part2 = _paper(settings, library, meeting, 3)
    return ConsoleHome(settings, library, today, meeting, part1, part2)


def _paper(settings: Settings, library: FormLibrary, meeting: committees.Meeting,
           exempt: int | None) -> Path:
    kind = meeting.papers[0] if exempt is None else "risk-register"
    out = settings.outbox / ("papers" if exempt is None else "papers-exempt")
    files = papers.write_paper(settings, library, papers.PaperRequest(  # recorded in the store
        kind=kind, meeting_date=meeting.date, committee=meeting.committee, exempt_paragraph=exempt),
        out, to_pdf=None)
    return files.docx


# --- the console over Flask's test client ---------------------------------------------------------


def client(home: ConsoleHome, web: WebConfig | None = None):  # type: ignore[no-untyped-def]
    return create_app(home.settings, home.library, web or WebConfig()).test_client()


def token_on(page_text: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page_text)
    assert found, "every form carries a CSRF token"
    return found.group(1)


def sign_in(browser, name: str, password: str, **headers: str):  # type: ignore[no-untyped-def]
    token = token_on(browser.get("/sign-in", headers=headers).text)
    return browser.post("/sign-in", data={"csrf_token": token, "name": name, "password": password},
                        headers=headers)
