"""The watcher under load, for real: a `pipeline watch` process, hundreds of returned forms dropped
into its inbox at once, and a `kill -9` in the middle of a batch. Every form must be stored
exactly once: nothing lost, nothing stored twice, the inbox left empty, every original archived.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

import pytest

from pipeline.core.identity import Personalisation
from tests.support.filling import fill_docx
from tests.support.processes import PIPELINE, Worker, drop_at_once, sha256, until, visible_files
from tests.support.returns import ANSWERS, blank_form

DEADLINE = 180.0  # seconds for a batch to be stored


def returned_forms(count: int, first: int = 0) -> dict[str, bytes]:
    """`count` monitoring returns from different partnerships (so none supersedes another)."""
    blank = blank_form(Personalisation())  # a blank copy: no token, everything typed
    typed = {**ANSWERS, "meeting_title": "Board", "meeting_date": "2026-03-14",
             "member_attending": "Cllr Jane Smith"}
    return {f"return-{n:04d}.docx": fill_docx(blank, {**typed, "partnership": f"Partnership {n:04d}",
                                                      "meeting_place": f"Meeting room {n}"})
            for n in range(first, first + count)}


def database_counts(database: Path) -> dict[str, int]:
    """Submissions and intakes by outcome, read straight from the SQLite file (no pipeline code)."""
    if not database.exists():
        return {}
    with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)) as db:
        counts = dict(db.execute("SELECT 'intakes ' || outcome, count(*) FROM intakes GROUP BY outcome"))
        counts["submissions"], counts["distinct files"] = db.execute(
            "SELECT count(*), count(DISTINCT sha256) FROM submissions").fetchone()
    return counts


def stored(database: Path) -> int:
    try:
        return database_counts(database).get("submissions", 0)
    except sqlite3.OperationalError:  # the watcher is creating the database this moment
        return 0


def assert_each_stored_exactly_once(home: Path, forms: dict[str, bytes]) -> None:
    count = len(forms)
    assert database_counts(home / "pipeline.sqlite3") == {
        "intakes accepted": count, "submissions": count, "distinct files": count}
    records = json.loads(subprocess.run(
        [str(PIPELINE), "records", "monitoring", "--json", "--home", str(home)],
        capture_output=True, text=True, timeout=120, check=True).stdout)
    assert len(records) == count
    assert {r["fields"]["partnership"] for r in records} == {f"Partnership {name[7:11]}"
                                                            for name in forms}
    assert [p.name for p in (home / "inbox").iterdir() if p.is_file()] == []
    assert list((home / "inbox" / ".processing").iterdir()) == []
    archived = visible_files(home / "archive")
    assert len(archived) == count
    assert {sha256(p.read_bytes()) for p in archived} == {sha256(d) for d in forms.values()}


@pytest.mark.slow
def test_500_forms_dropped_at_once_are_each_stored_exactly_once(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "inbox").mkdir(parents=True)
    forms = returned_forms(500)
    watcher = Worker(home, "watch", "watch")
    try:
        drop_at_once(home / "inbox", forms, tmp_path / "staging")
        until(lambda: stored(home / "pipeline.sqlite3") >= 500, DEADLINE, "500 forms", [watcher])
        until(lambda: not visible_files(home / "inbox"), 30, "an empty inbox", [watcher])
    finally:
        status = watcher.stop()
    assert status == 0, watcher.log()[-3000:]
    assert_each_stored_exactly_once(home, forms)


@pytest.mark.slow
def test_a_watcher_killed_mid_batch_and_restarted_stores_every_form_exactly_once(
        tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "inbox").mkdir(parents=True)
    forms = returned_forms(300, first=500)
    database = home / "pipeline.sqlite3"
    kills_with_work_left = 0
    for run, kill_after in enumerate((50, 120, 190)):  # killed three times, at different places
        watcher = Worker(home, f"killed-{run}", "watch")
        try:
            if run == 0:
                drop_at_once(home / "inbox", forms, tmp_path / "staging")
            until(lambda at_least=kill_after: stored(database) >= at_least, DEADLINE,
                     f"{kill_after} forms", [watcher])
        finally:
            watcher.kill_hard()
        # A kill counts only if it cut the batch short (a fast machine may have finished first).
        kills_with_work_left += stored(database) < 300
    assert kills_with_work_left >= 1, "the watcher finished before every kill: nothing tested"
    last = Worker(home, "last", "watch")
    try:
        until(lambda: stored(database) >= 300, DEADLINE, "all 300 forms", [last])
        until(lambda: not visible_files(home / "inbox"), 30, "an empty inbox", [last])
    finally:
        status = last.stop()
    assert status == 0, last.log()[-3000:]
    assert_each_stored_exactly_once(home, forms)


def test_a_name_note_left_by_a_kill_before_its_file_moved_is_tidied_and_others_kept(
        tmp_path: Path) -> None:
    from pipeline.cli import main

    home = tmp_path / "home"
    processing = home / "inbox" / ".processing"
    processing.mkdir(parents=True)
    orphan = processing / ".name-20261202T010000-aaaaaaaaaaaaaaaa.docx.json"
    orphan.write_text('{"name": "return.docx", "seen": "2026-12-02T01:00:00Z"}', encoding="utf-8")
    copying = processing / ".name-20261202T010000-bbbbbbbbbbbbbbbb.docx.json"
    copying.write_text('{"name": "other.docx", "seen": "2026-12-02T01:00:00Z"}', encoding="utf-8")
    (processing / ".copying-20261202T010000-bbbbbbbbbbbbbbbb.docx").write_bytes(b"")  # a copy in progress
    assert main(["watch", "--oneshot", "--home", str(home)]) == 0
    assert not orphan.exists(), "a note naming no file is removed"
    assert copying.exists(), "a note whose copy is in progress is kept"
