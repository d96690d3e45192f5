"""Fixtures every test folder shares (helpers live in tests/support/, see tests-NOTES.md)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.core.config import Settings, settings_for
from pipeline.core.definitions import FormLibrary
from pipeline.store.database import Store

pytest_plugins = ["tests.support.smtp_server", "tests.support.dovecot"]  # their fixtures


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """A pipeline home in a temporary folder, with its inbox, outbox, archive and rejected folders."""
    home = settings_for(tmp_path / "home")
    home.ensure_folders()
    return home


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    """The home's own SQLite database, open (created and migrated on first use)."""
    with Store.open(settings.database) as opened:
        yield opened


@pytest.fixture(scope="session")
def library() -> FormLibrary:
    """The built-in form definitions (read once; tests only read them)."""
    return FormLibrary.load()
