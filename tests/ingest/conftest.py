"""The ingest tests' home (a pipeline home in a temporary folder) and where members' files are dropped."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.core.config import settings_for
from tests.support.returns import ON_TIME, Home, place


@pytest.fixture
def home(tmp_path: Path, capsys: pytest.CaptureFixture[str], backend: str) -> Home:
    """A new home; its store is the SQLite file, and (a second run) a PostgreSQL database."""
    settings = settings_for(tmp_path / "home")
    settings.home.mkdir()
    return Home(settings, capsys)


@pytest.fixture
def drop(tmp_path: Path):
    """Where members' files are saved before the clerk ingests them."""
    return lambda name, data, received=ON_TIME: place(tmp_path / "returned", name, data, received)
