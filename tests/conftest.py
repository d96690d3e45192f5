"""Fixtures every test folder shares (helpers live in tests/support/, see tests-NOTES.md)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.core.config import Settings, settings_for
from pipeline.core.definitions import FormLibrary
from pipeline.store import Store
from tests.support.postgres import Cluster, start_cluster

pytest_plugins = ["tests.support.smtp_server", "tests.support.dovecot"]  # their fixtures


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """A pipeline home in a temporary folder, with its inbox, outbox, archive and rejected folders."""
    home = settings_for(tmp_path / "home")
    home.ensure_folders()
    return home


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    """The home's own store, open (created and migrated on first use): its SQLite file, unless
    the test set PIPELINE_DATABASE_URL (the `backend` fixture)."""
    with Store.for_home(settings) as opened:
        yield opened


@pytest.fixture(scope="session")
def library() -> FormLibrary:
    """The built-in form definitions (read once; tests only read them)."""
    return FormLibrary.load()


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Cluster]:
    """One throwaway PostgreSQL server for the whole session (skips where none is installed)."""
    found = start_cluster()
    if isinstance(found, str):
        pytest.skip(found)
    yield found
    found.stop()
    shutil.rmtree(found.folder, ignore_errors=True)


@pytest.fixture()
def postgres_url(postgres_cluster: Cluster) -> str:
    """The URL of a fresh, empty PostgreSQL database for this test."""
    return postgres_cluster.new_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Runs the test twice: on the home's SQLite file, and on a fresh PostgreSQL database (set as
    PIPELINE_DATABASE_URL, so the CLI and every process the test starts use it too)."""
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_url")
        monkeypatch.setenv("PIPELINE_DATABASE_URL", url)
        return url
    monkeypatch.delenv("PIPELINE_DATABASE_URL", raising=False)
    return "sqlite"
