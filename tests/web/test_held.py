"""Returns held for the clerk (typed identity contradicts the copy's), decided in the console:
listed on their own under Needs attention, released as sent or as typed, or rejected; a viewer
can do neither."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.service import ingest_files
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
from tests.support.returns import ANSWERS, EAST, HULL, issue, place, word_return


@pytest.fixture
def held_home(tmp_path: Path) -> tuple[ConsoleHome, int]:
    """A console home with Hull's copy of the monitoring form returned with East typed in it."""
    home = build_home(tmp_path / "home")
    forged = word_return(HULL, {**ANSWERS, "partnership": EAST.partnership})
    issue(home.settings)
    path = place(tmp_path / "in", "hull-as-east.docx", forged)
    (result,) = ingest_files(home.settings, home.library, [path], lambda _r: None)
    assert result.outcome.value == "held"
    with Store.for_home(home.settings) as store:
        (held,) = store.held()
    return home, held.intake_id


def test_a_held_return_is_listed_on_its_own_and_released_for_the_partnership_it_was_sent_to(
        held_home: tuple[ConsoleHome, int]) -> None:
    home, number = held_home
    browser = client(home)
    sign_in(browser, CLERK, CLERK_PASSWORD)
    page = browser.get("/attention").text
    held_part = page.split("<h2>Rejected files")[0]
    assert "Returns held for you to check (1)" in page and "hull-as-east.docx" in held_part
    assert "hull-as-east.docx" not in page.split("<h2>Rejected files")[1], "not listed as rejected"
    assert f'<label for="held-reason-{number}">Or reject it: why?</label>' in held_part
    assert '<input type="hidden" name="decision" value="reject">' in held_part
    answer = browser.post(f"/attention/held/{number}",
                          data={"csrf_token": token_on(page), "decision": "sent"})
    assert answer.status_code == 302
    assert "Returns held for you to check (0)" in browser.get(answer.headers["Location"]).text
    with Store.for_home(home.settings) as store:
        assert store.held() == []
        hull = [r for r in store.records("monitoring") if r.partnership == HULL.partnership]
        decided = [e for e in store.events() if e.intake_id == number and e.by_user == CLERK]
    assert hull, "counted for Hull CDRP, the partnership the copy was sent to"
    assert decided, "the decision is in the event log with who made it"


def test_a_held_return_rejected_in_the_console_needs_a_reason_and_a_viewer_cannot_decide(
        held_home: tuple[ConsoleHome, int]) -> None:
    home, number = held_home
    viewer = client(home)
    sign_in(viewer, VIEWER, VIEWER_PASSWORD)
    token = token_on(viewer.get("/").text)
    refused = viewer.post(f"/attention/held/{number}", data={"csrf_token": token, "decision": "sent"})
    assert refused.status_code == 403
    clerk = client(home)
    sign_in(clerk, CLERK, CLERK_PASSWORD)
    token = token_on(clerk.get("/attention").text)
    no_reason = clerk.post(f"/attention/held/{number}", data={"csrf_token": token, "decision": "reject"})
    assert no_reason.status_code == 400
    done = clerk.post(f"/attention/held/{number}",
                      data={"csrf_token": token, "decision": "reject", "reason": "Sent by mistake"})
    assert done.status_code == 302
    with Store.for_home(home.settings) as store:
        assert store.held() == []
    assert list((home.settings.home / "rejected").glob("*hull-as-east*")), "the file is kept in rejected/"
