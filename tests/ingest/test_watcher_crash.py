"""The watcher under load, for real: a `pipeline watch` process, hundreds of returned forms dropped
into its inbox at once, and a `kill -9` in the middle of a batch. Every form must be stored
exactly once: nothing lost, nothing stored twice, the inbox left empty, every original archived.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import IO

import pytest

from pipeline.core.identity import Personalisation
from tests.support.filling import fill_docx
from tests.support.returns import ANSWERS, blank_form

PIPELINE = Path(sys.executable).with_name("pipeline")
DEADLINE = 180.0  # seconds for a batch to be stored


def returned_forms(count: int, first: int = 0) -> dict[str, bytes]:
    """`count` monitoring returns from different partnerships (so none supersedes another)."""
    blank = blank_form(Personalisation())  # a blank copy: no token, everything typed
    typed = {**ANSWERS, "meeting_title": "Board", "meeting_date": "2026-03-14",
             "member_attending": "Cllr Jane Smith"}
    return {f"return-{n:04d}.docx": fill_docx(blank, {**typed, "partnership": f"Partnership {n:04d}",
                                                      "meeting_place": f"Meeting room {n}"})
            for n in range(first, first + count)}


def drop_at_once(inbox: Path, forms: dict[str, bytes], staging: Path) -> None:
    """Write the files beside the inbox, then rename them all in: they arrive together, whole."""
    staging.mkdir(parents=True, exist_ok=True)
    for name, data in forms.items():
        (staging / name).write_bytes(data)
    for name in forms:
        os.rename(staging / name, inbox / name)


class Watcher:
    """`pipeline watch --home HOME` as its own process; what it prints goes to files."""

    def __init__(self, home: Path, log_name: str) -> None:
        self.home = home
        self.out_path, self.err_path = home / f"{log_name}.out", home / f"{log_name}.err"
        self._out: IO[bytes] = self.out_path.open("wb")
        self._err: IO[bytes] = self.err_path.open("wb")
        self.process = subprocess.Popen([str(PIPELINE), "watch", "--home", str(home)],
                                        stdout=self._out, stderr=self._err)
        wait_for(lambda: "for returned files" in self.log(), 60, "the watcher to start", self)

    def log(self) -> str:
        return self.err_path.read_text(errors="replace")

    def kill_hard(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        self._close()

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=60)
        self._close()
        return self.process.returncode

    def _close(self) -> None:
        self._out.close()
        self._err.close()


def wait_for(done: Callable[[], bool], seconds: float, what: str, watcher: Watcher) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        if watcher.process.poll() is not None and watcher.process.returncode != -signal.SIGKILL:
            pytest.fail(f"The watcher stopped ({watcher.process.returncode}):\n{watcher.log()[-3000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"Timed out waiting for {what}:\n{watcher.log()[-3000:]}")
        time.sleep(0.25)


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


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def visible_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")]


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
    watcher = Watcher(home, "watch")
    try:
        drop_at_once(home / "inbox", forms, tmp_path / "staging")
        wait_for(lambda: stored(home / "pipeline.sqlite3") >= 500, DEADLINE, "500 forms", watcher)
        wait_for(lambda: not visible_files(home / "inbox"), 30, "an empty inbox", watcher)
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
        watcher = Watcher(home, f"killed-{run}")
        try:
            if run == 0:
                drop_at_once(home / "inbox", forms, tmp_path / "staging")
            wait_for(lambda at_least=kill_after: stored(database) >= at_least, DEADLINE,
                     f"{kill_after} forms", watcher)
        finally:
            watcher.kill_hard()
        # A kill counts only if it cut the batch short (a fast machine may have finished first).
        kills_with_work_left += stored(database) < 300
    assert kills_with_work_left >= 1, "the watcher finished before every kill: nothing tested"
    last = Watcher(home, "last")
    try:
        wait_for(lambda: stored(database) >= 300, DEADLINE, "all 300 forms", last)
        wait_for(lambda: not visible_files(home / "inbox"), 30, "an empty inbox", last)
    finally:
        status = last.stop()
    assert status == 0, last.log()[-3000:]
    assert_each_stored_exactly_once(home, forms)
