"""The console in a real headless Chromium (Debian's, via Selenium): a clerk's journeys, each
page's figures against the store, and every page checked with axe-core for WCAG 2.2 AA.
Skipped, with the reason, where Chromium or chromedriver is missing."""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.demo.samples import record_sample_tokens, sample_register, sample_returns
from pipeline.schedule import register
from pipeline.store import Store
from pipeline.web import create_app
from tests.support.axe_browser import Browser, browser_or_skip
from tests.support.console_home import CLERK, CLERK_PASSWORD, VIEWER, VIEWER_PASSWORD, ConsoleHome

pytestmark = pytest.mark.slow
# Kept for a person to look at the pages (CONSOLE_SCREENSHOTS=folder to choose where).
SCREENSHOTS = Path(os.environ.get("CONSOLE_SCREENSHOTS", tempfile.gettempdir())) / "console-screenshots"


@pytest.fixture(scope="module")
def base_url(home: ConsoleHome) -> Iterator[str]:
    from waitress import create_server

    server = create_server(create_app(home.settings, home.library), host="127.0.0.1", port=0, threads=2)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}"
    server.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with browser_or_skip() as started:
        yield started


def by_id(browser: Browser, element_id: str):  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    return browser.driver.find_element(By.ID, element_id)


def css(browser: Browser, selector: str):  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    return browser.driver.find_elements(By.CSS_SELECTOR, selector)


def click_and_wait(browser: Browser, element) -> None:  # type: ignore[no-untyped-def]
    """Click a button or link that opens a new page, and wait until the new page has loaded.
    The old page is marked in JavaScript, not held as an element: asking Chromium about an
    element of a page being replaced can fail with an inspector error instead of "stale"."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    browser.driver.execute_script("window.__pipelineOldPage = true;")
    element.click()
    WebDriverWait(browser.driver, 30, ignored_exceptions=(WebDriverException,)).until(
        lambda driver: driver.execute_script(
            "return window.__pipelineOldPage === undefined && document.readyState === 'complete'"))


def sign_in_as(browser: Browser, base_url: str, name: str, password: str) -> None:
    browser.driver.delete_all_cookies()
    browser.load(f"{base_url}/sign-in")
    by_id(browser, "name").send_keys(name)
    by_id(browser, "password").send_keys(password)
    click_and_wait(browser, css(browser, "main button[type=submit]")[0])


def check_page(browser: Browser, name: str) -> None:
    """No WCAG 2.2 AA violations; and a screenshot, for a person to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.screenshot(SCREENSHOTS / f"{name}.png")
    violations = browser.axe()
    assert violations == [], f"{name}: {browser.describe(violations)}"


def test_sign_in_page_passes_axe_and_a_wrong_password_says_so(browser: Browser, base_url: str) -> None:
    browser.load(f"{base_url}/sign-in")
    check_page(browser, "sign-in")
    sign_in_as(browser, base_url, CLERK, "not the password")
    assert "The name or password is not right" in browser.text()
    check_page(browser, "sign-in-error")


def test_today_shows_the_stores_figures(browser: Browser, base_url: str, home: ConsoleHome) -> None:
    sign_in_as(browser, base_url, CLERK, CLERK_PASSWORD)
    assert browser.driver.current_url.rstrip("/") == base_url
    with Store.for_home(home.settings) as store:
        counts = store.counts()
    assert by_id(browser, "figure-current").text == str(counts["current"])
    assert by_id(browser, "figure-rejected").text == str(counts["rejected"])
    assert home.meeting.committee in by_id(browser, "meetings").text
    check_page(browser, "today")


def test_returns_list_filter_and_one_return(browser: Browser, base_url: str, home: ConsoleHome) -> None:
    from selenium.webdriver.support.ui import Select

    sign_in_as(browser, base_url, CLERK, CLERK_PASSWORD)
    browser.load(f"{base_url}/returns")
    with Store.for_home(home.settings) as store:
        monitoring = store.records("monitoring")
        everything = sum(len(store.records(d.id)) for d in home.library.latest())
    assert len(css(browser, "#returns tbody tr")) == everything
    check_page(browser, "returns")
    Select(by_id(browser, "form")).select_by_value("monitoring")
    click_and_wait(browser, css(browser, ".filters button")[0])
    assert len(css(browser, "#returns tbody tr")) == len(monitoring)
    first = monitoring[0]
    browser.load(f"{base_url}/returns/{first.submission_id}")
    answers = by_id(browser, "answers").text
    assert str(first.values["meeting_title"]) in answers
    check_page(browser, "return")


def test_resolving_a_rejection_by_uploading_a_corrected_file_and_dismissing(
        browser: Browser, base_url: str, home: ConsoleHome) -> None:
    sign_in_as(browser, base_url, CLERK, CLERK_PASSWORD)
    browser.load(f"{base_url}/attention")
    check_page(browser, "attention")
    with Store.for_home(home.settings) as store:
        first, second = store.rejections_open()[:2]
    good = next(s for s in sample_returns(home.library, home.today) if s.name.startswith("risk"))
    corrected = home.settings.home / "corrected" / good.name
    corrected.parent.mkdir(exist_ok=True)
    corrected.write_bytes(good.data)
    by_id(browser, f"file-{first.id}").send_keys(str(corrected))
    with Store.for_home(home.settings) as store:
        record_sample_tokens(store, datetime.now(UTC))  # the corrected copy was issued by the pipeline
        before = {r.submission_id for r in store.records("risk-checklist")}
    click_and_wait(browser, css(browser, f"form[action$='/{first.id}/reingest'] button")[0])
    assert good.name in browser.text()
    with Store.for_home(home.settings) as store:
        assert first.id not in [row.id for row in store.rejections_open()], "the rejection is dealt with"
        new = [r for r in store.records("risk-checklist") if r.submission_id not in before]
        dealt = [e for e in store.events() if e.step == "console" and e.intake_id == first.id]
    assert len(new) == 1 and new[0].partnership, "the corrected return is stored, once"
    assert [(e.outcome, e.by_user) for e in dealt] == [("re-ingested", CLERK)]
    by_id(browser, f"reason-{second.id}").send_keys("Sent again by email")
    click_and_wait(browser, css(browser, f"form[action$='/{second.id}/dismiss'] button")[0])
    assert "Dismissed: Sent again by email" in browser.text()
    with Store.for_home(home.settings) as store:
        still_open = [row.id for row in store.rejections_open()]
        done = [e for e in store.events() if e.step == "console"]
    assert second.id not in still_open
    assert ("dismissed", CLERK) in [(e.outcome, e.by_user) for e in done]
    check_page(browser, "attention-after")


def test_downloading_a_blank_form(browser: Browser, base_url: str, tmp_path: Path) -> None:
    sign_in_as(browser, base_url, CLERK, CLERK_PASSWORD)
    browser.driver.execute_cdp_cmd("Browser.setDownloadBehavior",
                                   {"behavior": "allow", "downloadPath": str(tmp_path)})
    browser.load(f"{base_url}/forms")
    check_page(browser, "forms")
    css(browser, "#blank-forms a[href*='form=monitoring'][href*='format=docx']")[0].click()
    wanted = tmp_path / "monitoring-blank.docx"
    for _ in range(100):
        if wanted.is_file() and wanted.stat().st_size:
            break
        time.sleep(0.1)
    assert wanted.read_bytes()[:2] == b"PK", "a Word file (a zip package)"


def test_meetings_and_papers_part_2_only_for_clerks(browser: Browser, base_url: str,
                                                    home: ConsoleHome) -> None:
    sign_in_as(browser, base_url, CLERK, CLERK_PASSWORD)
    browser.load(f"{base_url}/meetings")
    text = browser.text()
    assert home.part1_file.name in text and "(Part 2)" in text
    check_page(browser, "meetings")
    sign_in_as(browser, base_url, VIEWER, VIEWER_PASSWORD)
    browser.load(f"{base_url}/meetings")
    assert "(Part 2)" not in browser.text() and home.part1_file.name in browser.text()
    assert "Needs attention" not in by_id(browser, "main-content").text
    check_page(browser, "meetings-viewer")
    with Store.for_home(home.settings) as store:
        first = store.records("monitoring")[0].submission_id
    browser.load(f"{base_url}/returns/{first}")
    check_page(browser, "return-viewer")


def test_uploading_a_register_gives_the_row_by_row_report(browser: Browser, base_url: str,
                                                         home: ConsoleHome, tmp_path: Path) -> None:
    import io

    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(sample_register(home.today)))
    sheet = book.worksheets[0] if "Partnerships" not in book.sheetnames else book["Partnerships"]
    sheet.append(["Broken Row Partnership", "not a type"])
    upload = tmp_path / "register.xlsx"
    book.save(upload)
    sign_in_as(browser, base_url, CLERK, CLERK_PASSWORD)
    browser.load(f"{base_url}/register")
    check_page(browser, "register")
    by_id(browser, "register-file").send_keys(str(upload))
    click_and_wait(browser, css(browser, "form[action$='/register'] button")[0])
    report = by_id(browser, "import-report").text
    with Store.for_home(home.settings) as store:
        again = register.import_register(store, upload.read_bytes(), today=home.today)
        shown = len(register.partnerships(store))
    assert again.summary().splitlines()[-1] in report  # the same row-by-row problems
    assert "Broken Row Partnership" not in by_id(browser, "partnerships").text
    assert len(css(browser, "#partnerships tbody tr")) == shown
    check_page(browser, "register-after-upload")
