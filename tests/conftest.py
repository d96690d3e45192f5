import shutil
from collections.abc import Iterator

import pytest

from tests.postgres import Cluster, start_cluster

pytest_plugins = ["tests.smtp_server"]


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
