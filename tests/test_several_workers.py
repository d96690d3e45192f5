"""Several workers on one store (issue 15): watchers and `serve` processes sharing one home and
one PostgreSQL database each take a file only once it is theirs in the database; a worker killed
with `kill -9` leaves its files to be taken over after the claim timeout; the scheduler's tick
runs on one worker at a time, so nothing is sent twice. With SQLite, one watcher per home.

The kill test waits for outcomes, never for a time: it kills a watcher only while the database
shows it holding a file, and counts only kills that left a file in hand to be taken over.
"""

from __future__ import annotations

import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from pipeline.core.config import settings_for
from pipeline.core.definitions import FormLibrary
from pipeline.ingest.steps import claim_name
from pipeline.store import Store
from tests.support.processes import PIPELINE, Worker, drop_at_once, sha256, until, visible_files

LIBRARY = FormLibrary.load()
DEADLINE = 300.0  # seconds for the work to be done, however busy the machine


def shared_home(tmp_path: Path, url: str, *, extra: str = "", timeout: float = 3) -> Path:
    """A home whose database is the PostgreSQL at `url` (or SQLite for "sqlite")."""
    home = tmp_path / "home"
    (home / "inbox").mkdir(parents=True)
    database = f'[database]\nurl = "{url}"\n' if url != "sqlite" else ""
    (home / "pipeline.toml").write_text(
        database + f"[watch]\nquiet_seconds = 0.3\nclaim_timeout_seconds = {timeout}\n" + extra)
    return home


def returns(home: Path, count: int) -> dict[str, bytes]:
    """`count` personal monitoring returns, each for its own partnership and meeting, their
    copies recorded as issued in the home's store."""
    from bench.returns import docx_return, record_issued

    made = [docx_return(LIBRARY.get("monitoring"), index) for index in range(count)]
    record_issued(home)
    return {item.name: item.data for item in made}


def counts(home: Path) -> dict[str, int]:
    with Store.for_home(settings_for(home)) as store:
        return store.counts()


def stored(home: Path) -> int:
    found = counts(home)
    return found["current"] + found["superseded"]


def claims_of(home: Path, pid: int) -> list[str]:
    """The files the worker with process id `pid` holds in the database now."""
    with Store.for_home(settings_for(home)) as store:
        return [c.name for c in store.claims() if c.worker.split(":")[1] == str(pid)]


def assert_each_stored_exactly_once(home: Path, forms: dict[str, bytes]) -> None:
    count = len(forms)
    found = counts(home)
    assert (found["accepted"], found["current"], found["duplicate"], found["rejected"],
            found["processing"]) == (count, count, 0, 0, 0)
    with Store.for_home(settings_for(home)) as store:
        records = store.records("monitoring")
        assert store.claims() == []  # every claim released, the dead workers' taken over
    assert len({r.submission_id for r in records}) == count
    assert [p.name for p in (home / "inbox").iterdir() if p.is_file()] == []
    assert visible_files(home / "inbox" / ".processing") == []
    archived = [p for p in visible_files(home / "archive")]
    assert sorted(sha256(p.read_bytes()) for p in archived) == sorted(map(sha256, forms.values()))
    assert visible_files(home / "rejected") == []


# --- many workers, one store ----------------------------------------------------------------------


@pytest.mark.slow
def test_two_watchers_and_a_serve_store_500_returns_once_though_one_is_killed(
        tmp_path: Path, postgres_url: str) -> None:
    home = shared_home(tmp_path, postgres_url)
    forms = returns(home, 500)
    first = Worker(home, "watch-1", "watch")
    others = [Worker(home, "watch-2", "watch"),
              Worker(home, "serve", "serve", "--send-by-hand", "--tick-seconds", "5")]
    workers = [first, *others]
    kills_with_a_file_in_hand = 0
    try:
        drop_at_once(home / "inbox", forms, tmp_path / "staging")
        for attempt in range(5):
            if stored(home) >= len(forms) - 50:
                break  # keep work for the restarted watcher
            worker = workers[0]
            until(lambda w=worker: bool(claims_of(home, w.pid)) or stored(home) >= len(forms),
                  DEADLINE, f"{worker.name} to take a file in hand", workers)
            worker.kill_hard()
            # It counts only if the kill cut a file short: the database still shows it held.
            kills_with_a_file_in_hand += bool(claims_of(home, worker.pid))
            workers[0] = Worker(home, f"watch-1-again-{attempt}", "watch")
        until(lambda: stored(home) >= len(forms), DEADLINE, "all 500 returns", workers)
        until(lambda: not visible_files(home / "inbox"), 60, "an empty inbox", workers)
        with Store.for_home(settings_for(home)) as store:
            until(lambda: store.claims() == [], 60, "every claim released", workers)
    finally:
        statuses = [worker.stop() for worker in workers]
    assert statuses == [0, 0, 0], [w.log()[-2000:] for w in workers]
    assert kills_with_a_file_in_hand >= 1
    assert_each_stored_exactly_once(home, forms)


def test_a_file_claimed_by_a_worker_that_went_silent_is_taken_over(tmp_path: Path,
                                                                   postgres_url: str) -> None:
    home = shared_home(tmp_path, postgres_url, timeout=600)  # ten minutes: however busy the machine
    forms = returns(home, 2)
    processing = home / "inbox" / ".processing"
    processing.mkdir()
    now = datetime.now(UTC)
    with Store.for_home(settings_for(home)) as store:
        for (name, data), (worker, said) in zip(forms.items(), [("gone:1:dead00", now - timedelta(hours=1)),
                                                               ("busy:2:alive0", now)], strict=True):
            claimed = claim_name(name, now)
            (processing / claimed).write_bytes(data)  # in hand when the worker was killed
            assert store.claim(f"processing/{claimed}", worker, said, stale_before=said)
    watch = [str(PIPELINE), "watch", "--oneshot", "--home", str(home)]
    done = subprocess.run(watch, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr  # the live worker's file is its own, not waiting
    assert stored(home) == 1  # the silent worker's file was taken over; the busy one's left
    with Store.for_home(settings_for(home)) as store:
        (left,) = store.claims()
        assert left.worker == "busy:2:alive0"
        quiet_since = datetime.now(UTC) - timedelta(hours=1)  # then that worker goes silent too
        assert store.claim(left.name, left.worker, quiet_since, stale_before=quiet_since)
    done = subprocess.run(watch, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert_each_stored_exactly_once(home, forms)


def test_with_sqlite_a_second_watcher_is_refused_saying_postgresql_runs_several(
        tmp_path: Path) -> None:
    home = shared_home(tmp_path, "sqlite")
    first = Worker(home, "watch-1", "watch")
    try:
        second = subprocess.run([str(PIPELINE), "watch", "--home", str(home)], capture_output=True,
                                text=True, timeout=120)
    finally:
        first.stop()
    assert second.returncode != 0
    assert f"already running for this folder (process {first.pid})" in second.stderr
    assert "PostgreSQL" in second.stderr and "[database] url" in second.stderr


# --- the tick: one worker at a time ----------------------------------------------------------------


def tick_home(tmp_path: Path, url: str, smtp_server) -> Path:
    from pipeline.schedule.register import import_register
    from tests.support.register_book import cycle_register_workbook

    home = shared_home(tmp_path, url, extra=(
        f'[smtp]\nhost = "{smtp_server.host}"\nport = {smtp_server.port}\ntimeout = 5.0\n'
        'sender = "partnerships@authority.example"\n'))
    with Store.for_home(settings_for(home)) as store:
        import_register(store, cycle_register_workbook(), today=date(2026, 11, 1))
    return home


TICK = ["tick", "--now", "2026-11-07T09:00"]


def sent_once(smtp_server) -> list[tuple[str, str]]:
    sent = sorted((",".join(m.rcpt_tos), str(m.message["Subject"])) for m in smtp_server.received)
    assert sent and len(sent) == len(set(sent)), sent
    return sent


def test_two_ticks_started_at_the_same_moment_send_each_email_once(
        tmp_path: Path, postgres_url: str, smtp_server) -> None:
    home = tick_home(tmp_path, postgres_url, smtp_server)
    ticks = [subprocess.Popen([str(PIPELINE), *TICK, "--home", str(home)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [tick.communicate(timeout=300) for tick in ticks]
    assert [tick.returncode for tick in ticks] == [0, 0], outputs
    sent = sent_once(smtp_server)
    with Store.for_home(settings_for(home)) as store:
        forms = store.connection().execute("SELECT count(*) FROM sent_forms").fetchone()[0]
    assert forms == 7  # three monitoring forms, one checklist, three surveys: each once
    assert len(sent) <= forms  # one email per person, listing all that person's forms


def test_a_tick_while_another_worker_holds_the_tick_does_nothing(
        tmp_path: Path, postgres_url: str, smtp_server) -> None:
    home = tick_home(tmp_path, postgres_url, smtp_server)
    with Store.for_home(settings_for(home)) as other_worker, \
            other_worker.exclusive("tick") as mine:
        assert mine
        blocked = subprocess.run([str(PIPELINE), *TICK, "--json", "--home", str(home)],
                                 capture_output=True, text=True, timeout=300)
    assert blocked.returncode == 0, blocked.stderr
    assert "Another tick is still running" in blocked.stdout
    assert smtp_server.received == []
    after = subprocess.run([str(PIPELINE), *TICK, "--home", str(home)], capture_output=True,
                           text=True, timeout=300)  # the lock went with the other's connection
    assert after.returncode == 0, after.stderr
    assert sent_once(smtp_server)


def test_with_postgresql_each_watcher_shows_in_the_console_as_running(tmp_path: Path,
                                                                      postgres_url: str) -> None:
    from pipeline.web.pages import health

    home = shared_home(tmp_path, postgres_url)
    settings = settings_for(home)
    workers = [Worker(home, "watch-1", "watch"), Worker(home, "watch-2", "watch")]
    try:
        with Store.for_home(settings) as store:
            assert health(settings, store)["watcher"] == "running"
    finally:
        statuses = [worker.stop() for worker in workers]
    assert statuses == [0, 0]
    with Store.for_home(settings) as store:
        assert health(settings, store)["watcher"].startswith("not running")


def test_a_mailbox_check_while_another_worker_checks_does_nothing(tmp_path: Path,
                                                                  postgres_url: str) -> None:
    home = shared_home(tmp_path, postgres_url, extra=(
        '[imap]\nhost = "127.0.0.1"\nsecurity = "none"\nusername = "clerk"\n'))
    with Store.for_home(settings_for(home)) as other_worker, \
            other_worker.exclusive("mailbox check") as mine:
        assert mine
        done = subprocess.run([str(PIPELINE), "mail", "fetch", "--home", str(home)],
                              capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "Another mailbox check is still running" in done.stderr
