"""The paper templates: the defaults inside the package, a home's own copies overriding them, and
`pipeline templates copy` giving the clerk copies to edit without ever replacing one."""

from __future__ import annotations

from pathlib import Path

import pytest

import pipeline
from pipeline.cli import main
from pipeline.core.config import settings_for
from pipeline.papers.html import html_template_dirs
from pipeline.papers.make_templates import write_templates
from pipeline.papers.render import find_template
from pipeline.papers.template_files import DEFAULT_DOCX, DEFAULT_HTML, templates_in_use

KINDS = ("monitoring-summary", "risk-register", "survey-results")


def test_the_defaults_are_inside_the_package() -> None:
    package = Path(pipeline.__file__).resolve().parent
    for kind in KINDS:
        assert (DEFAULT_DOCX / f"{kind}.docx").is_file() and (DEFAULT_HTML / f"{kind}.html").is_file()
    assert (DEFAULT_HTML / "agenda.html").is_file()
    assert DEFAULT_DOCX.is_relative_to(package)


def test_copy_gives_editable_copies_that_are_then_used(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "home"
    settings = settings_for(home)
    assert find_template(settings, "risk-register") == DEFAULT_DOCX / "risk-register.docx"
    mine = home / "templates" / "docx" / "risk-register.docx"
    mine.parent.mkdir(parents=True)
    mine.write_bytes(b"the clerk's own edited template")

    assert main(["templates", "copy", "--home", str(home)]) == 0
    said = capsys.readouterr().out
    assert f"Kept your own {mine} (not replaced)." in said
    assert mine.read_bytes() == b"the clerk's own edited template"
    copied = home / "templates" / "docx" / "monitoring-summary.docx"
    assert copied.read_bytes() == (DEFAULT_DOCX / "monitoring-summary.docx").read_bytes()
    assert find_template(settings, "risk-register") == mine
    assert html_template_dirs(settings)[0] == home / "templates" / "html"
    assert (home / "templates" / "html" / "agenda.html").is_file()
    assert all(t.own for t in templates_in_use(settings))

    assert main(["templates", "copy", "--home", str(home)]) == 0
    assert "nothing was replaced" in capsys.readouterr().out


def test_the_listing_says_which_template_is_in_use(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "home"
    (home / "templates" / "html").mkdir(parents=True)
    (home / "templates" / "html" / "agenda.html").write_text("<p>{{ committee }}</p>", encoding="utf-8")
    assert main(["templates", "--home", str(home)]) == 0
    rows = {line.split()[0]: line.split()[1:] for line in capsys.readouterr().out.splitlines()
            if line.startswith(("docx/", "html/"))}
    assert rows["html/agenda.html"][:2] == ["your", "own"]
    assert rows["docx/survey-results.docx"] == ["default", str(DEFAULT_DOCX / "survey-results.docx")]


def test_the_defaults_are_what_make_templates_builds_from_the_prose(tmp_path: Path) -> None:
    """Rebuilt at another time, the templates are the same bytes as the committed defaults: the
    prose files are their source, and a rebuild never shows as a change."""
    written = write_templates(tmp_path / "docx")
    assert len(written) == 2 * len(KINDS)
    for path in written:
        default = (DEFAULT_DOCX if path.suffix == ".docx" else DEFAULT_HTML) / path.name
        assert path.read_bytes() == default.read_bytes(), path.name
