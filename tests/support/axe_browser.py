"""Headless Chromium + axe-core, for tests that check pages a person sees (WCAG 2.2 AA).

Reusable helper (the publication folder's pages, the web console). Real browser, real axe:

    from tests.support.axe_browser import browser_or_skip, AXE_TAGS

    with browser_or_skip() as browser:
        browser.load("file:///tmp/page.html")          # or http://127.0.0.1:PORT/...
        violations = browser.axe()                      # [] when the page passes
        browser.screenshot(tmp_path / "page.png")      # look at it with the file viewer
        assert violations == [], browser.describe(violations)

Debian's `chromium` and `chromium-driver` (/usr/bin/chromium, /usr/bin/chromedriver) are driven
through Selenium. axe-core is vendored in tests/vendor/axe.min.js (npm package `axe-core`,
MPL-2.0, its LICENSE beside it). Where Chromium, chromedriver or Selenium is missing,
`browser_or_skip()` skips the test with the reason instead of failing it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

AXE_JS = Path(__file__).parent / "vendor" / "axe.min.js"
AXE_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa")
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-extensions",
    "--window-size=1280,1024",
)


def chromium_path() -> str | None:
    return os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def chromedriver_path() -> str | None:
    return os.environ.get("CHROMEDRIVER") or shutil.which("chromedriver")


def missing_reason() -> str | None:
    """Why the browser checks cannot run here, or None when they can."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "Selenium is not installed (pip install selenium)"
    if not chromium_path():
        return "Chromium is not installed (apt-get install chromium chromium-driver)"
    if not chromedriver_path():
        return "chromedriver is not installed (apt-get install chromium-driver)"
    if not AXE_JS.is_file():
        return f"axe-core is missing ({AXE_JS})"
    return None


class Browser:
    """One headless Chromium with its own fresh profile."""

    def __init__(self, driver: Any, profile: Path) -> None:
        self.driver = driver
        self.profile = profile

    def load(self, url: str, timeout: float = 20) -> None:
        self.driver.set_page_load_timeout(timeout)
        self.driver.get(url)

    def axe(self, tags: tuple[str, ...] = AXE_TAGS, context: str | None = None) -> list[dict[str, Any]]:
        """Run axe-core on the loaded page; return its violations (empty when the page passes)."""
        self.driver.set_script_timeout(60)
        self.driver.execute_script(AXE_JS.read_text(encoding="utf-8"))
        options = {"runOnly": {"type": "tag", "values": list(tags)}, "resultTypes": ["violations"]}
        result = self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(arguments[0] || document, arguments[1])"
            ".then(r => done(JSON.stringify(r.violations)))"
            ".catch(e => done(JSON.stringify({error: String(e)})));",
            context,
            options,
        )
        parsed = json.loads(result)
        if isinstance(parsed, dict):
            raise RuntimeError(f"axe-core failed on the page: {parsed['error']}")
        return parsed

    def screenshot(self, path: Path | str, full_page: bool = True) -> Path:
        """Save a PNG of the page (the whole page height when full_page)."""
        path = Path(path)
        if full_page:
            height = self.driver.execute_script(
                "return Math.max(document.body.scrollHeight, document.documentElement.scrollHeight)"
            )
            self.driver.set_window_size(1280, min(max(int(height) + 40, 600), 12000))
        self.driver.save_screenshot(str(path))
        return path

    def text(self) -> str:
        return self.driver.execute_script("return document.body.innerText")

    @staticmethod
    def describe(violations: list[dict[str, Any]]) -> str:
        """Violations in words, for an assertion message."""
        lines = []
        for v in violations:
            targets = [", ".join(n.get("target", [])) for n in v.get("nodes", [])][:5]
            lines.append(f"{v['id']} ({v.get('impact')}): {v.get('help')} -> {targets}")
        return "\n".join(lines)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.driver.quit()
        shutil.rmtree(self.profile, ignore_errors=True)


def start_browser() -> Browser:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = Path(tempfile.mkdtemp(prefix="chromium-profile-"))
    options = webdriver.ChromeOptions()
    options.binary_location = chromium_path() or ""
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    service = Service(executable_path=chromedriver_path())
    try:
        driver = webdriver.Chrome(options=options, service=service)
    except Exception:
        shutil.rmtree(profile, ignore_errors=True)
        raise
    return Browser(driver, profile)


@contextlib.contextmanager
def browser_or_skip() -> Iterator[Browser]:
    """A headless Chromium for the test, or pytest.skip with the reason it cannot start."""
    reason = missing_reason()
    if reason:
        pytest.skip(reason)
    try:
        browser = start_browser()
    except Exception as exc:  # a browser that will not start here is a missing tool, not a failure
        pytest.skip(f"headless Chromium would not start: {exc}")
    try:
        yield browser
    finally:
        browser.close()
