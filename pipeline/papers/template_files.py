"""Where the paper templates come from: a home's own `templates/docx/` and `templates/html/`
first, else the defaults that travel inside the package; and a copy of the defaults for the
clerk to edit in Word.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from pipeline.core.config import Settings
from pipeline.core.errors import ConfigError

DEFAULTS = Path(__file__).resolve().parent / "templates"  # package data (see pyproject.toml)
DEFAULT_DOCX = DEFAULTS / "docx"
DEFAULT_HTML = DEFAULTS / "html"
#: The folders inside `DEFAULTS`, and the kind of file each holds.
FOLDERS = {"docx": "*.docx", "html": "*.html"}


@dataclass(frozen=True)
class TemplateFile:
    """One template a paper or page is made from, and where it is taken from."""

    name: str  # "docx/monitoring-summary.docx"
    path: Path
    own: bool  # the home's own copy, not the default


def home_templates(settings: Settings) -> Path:
    """`<home>/templates`, holding the home's own `docx/` and `html/` templates."""
    return settings.templates_dir.parent


def templates_in_use(settings: Settings) -> list[TemplateFile]:
    """Every default template, or the home's own copy of it where there is one."""
    used = []
    for folder, pattern in FOLDERS.items():
        for default in sorted((DEFAULTS / folder).glob(pattern)):
            own = home_templates(settings) / folder / default.name
            used.append(TemplateFile(f"{folder}/{default.name}", own if own.is_file() else default,
                                     own.is_file()))
    return used


def copy_defaults(settings: Settings) -> tuple[list[Path], list[Path]]:
    """Copy every default template into the home for the clerk to edit; never overwrites one.

    Returns (copied, kept): the files written, and the home's own files left as they were.
    """
    copied, kept = [], []
    for folder, pattern in FOLDERS.items():
        target = home_templates(settings) / folder
        for default in sorted((DEFAULTS / folder).glob(pattern)):
            own = target / default.name
            if own.exists():
                kept.append(own)
                continue
            try:
                target.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(default, own)
            except OSError as exc:
                raise ConfigError(f"The template {own} could not be written ({exc.strerror}): check "
                                  f"that {target} is a folder you may write to.") from exc
            copied.append(own)
    return copied, kept
