"""Which commits wait for the disk: every one, except an intake's start, which the ingest takes
again after a power cut (its file is still in the processing folder). A commit that is not
durable is still a commit (other processes see it), and the next commit is durable again."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipeline.core.config import Settings
from pipeline.core.errors import StoreError
from pipeline.store import NewIntake, Store

AT = datetime(2026, 11, 7, 9, 30, tzinfo=UTC)


def intake(name: str = "0001.docx") -> NewIntake:
    return NewIntake(name, "form.docx", None, "a" * 64, 10, None, None, AT, flags=("future-date",))


def commit_setting(store: Store) -> object:
    """How the next commit waits for the disk: SQLite's synchronous (2 FULL: fsync at each
    commit; 1 NORMAL) or PostgreSQL's synchronous_commit ('on'; the test server runs 'off')."""
    db = store.connection()
    if store.dialect == "sqlite":
        return db.execute("PRAGMA synchronous").fetchone()[0]
    return db.execute("SHOW synchronous_commit").fetchone()[0]


NOT_DURABLE = {"sqlite": 1, "postgresql": "off"}


@pytest.fixture(autouse=True)
def as_a_real_server(backend: str, store: Store) -> None:
    """The test server commits without waiting for its disk: this session does, as a real one."""
    if store.dialect == "postgresql":
        store.connection().execute("SET synchronous_commit = on")


def test_a_change_waits_for_the_disk_unless_it_is_begun_not_durable(backend: str, store: Store):
    usual = commit_setting(store)
    assert usual in (2, "on"), "a return reported stored survives a power cut"
    with store.transaction():
        assert commit_setting(store) == usual
    with store.transaction(durable=False):
        assert commit_setting(store) == NOT_DURABLE[store.dialect]
        with store.transaction():  # a savepoint: the outer transaction decides
            assert commit_setting(store) == NOT_DURABLE[store.dialect]
    assert commit_setting(store) == usual
    with store.transaction():
        assert commit_setting(store) == usual, "the next change is durable again"
    with pytest.raises(RuntimeError), store.transaction(durable=False):
        raise RuntimeError("undone")
    with store.transaction():
        assert commit_setting(store) == usual, "durable again after one rolled back, too"


def test_an_intake_started_not_durable_is_committed_and_seen_by_another_process(
        backend: str, store: Store, settings: Settings):
    usual = commit_setting(store)
    intake_id = store.add_intake(intake(), durable=False)
    with Store.for_home(settings) as other:
        seen = other.intake_by_name("0001.docx")
    assert seen is not None and seen.id == intake_id and seen.flags == "future-date"
    with pytest.raises(StoreError):
        store.add_intake(intake(), durable=False)  # the same name: refused, nothing half made
    with store.transaction():
        assert commit_setting(store) == usual
