"""The headless Chromium + axe-core helper finds real WCAG failures and passes a clean page."""

from tests.support.axe_browser import browser_or_skip

CLEAN = """<!doctype html><html lang="en-GB"><head><meta charset="utf-8"><title>Clean page</title></head>
<body><main><h1>Clean page</h1><p>Plain words.</p></main></body></html>"""

BROKEN = """<!doctype html><html><head><meta charset="utf-8"></head>
<body><main><h1>Broken</h1><img src="x.png">
<p style="color:#bbb;background:#fff">faint</p></main></body></html>"""


def test_axe_passes_a_clean_page_and_names_the_failures_of_a_broken_one(tmp_path):
    (tmp_path / "clean.html").write_text(CLEAN, encoding="utf-8")
    (tmp_path / "broken.html").write_text(BROKEN, encoding="utf-8")
    with browser_or_skip() as browser:
        browser.load((tmp_path / "clean.html").as_uri())
        assert browser.axe() == []
        shot = browser.screenshot(tmp_path / "clean.png")
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        browser.load((tmp_path / "broken.html").as_uri())
        found = {v["id"] for v in browser.axe()}
    assert {"html-has-lang", "image-alt", "document-title", "color-contrast"} <= found
