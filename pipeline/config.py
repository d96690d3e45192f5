"""Where the pipeline keeps its files: one frozen `Settings`, built once and passed down."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import ConfigError

HOME_ENV = "PIPELINE_HOME"
DEFAULT_MARKING = "NOT PROTECTIVELY MARKED"


@dataclass(frozen=True)
class Settings:
    """The folders and files of one pipeline home."""

    home: Path

    @property
    def inbox(self) -> Path:
        return self.home / "inbox"

    @property
    def outbox(self) -> Path:
        return self.home / "outbox"

    @property
    def archive(self) -> Path:
        return self.home / "archive"

    @property
    def rejected(self) -> Path:
        return self.home / "rejected"

    @property
    def database(self) -> Path:
        return self.home / "pipeline.sqlite3"

    @property
    def forms_dir(self) -> Path:
        """Extra or overriding form definitions the clerk adds without code."""
        return self.home / "forms"

    @property
    def templates_dir(self) -> Path:
        return self.home / "templates" / "docx"

    def ensure_folders(self) -> None:
        for folder in (self.inbox, self.outbox, self.archive, self.rejected):
            folder.mkdir(parents=True, exist_ok=True)


def settings_for(home: str | os.PathLike[str] | None = None) -> Settings:
    """Settings for `home`, else $PIPELINE_HOME, else the current directory."""
    chosen = home if home is not None else os.environ.get(HOME_ENV) or "."
    path = Path(chosen).expanduser().resolve()
    if path.exists() and not path.is_dir():
        raise ConfigError(f"The pipeline home {path} is a file, not a folder.")
    return Settings(home=path)
