"""The inbox watcher, with real files, real watchdog observers and a handler that files things."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from pipeline.core.errors import ConfigError
from pipeline.ingest.watcher import (
    InboxLock,
    InboxWatcher,
    StabilityTracker,
    ignored,
    install_signal_handlers,
)

STABLE = 0.3
RESCAN = 2.0


def wait_until(condition: Callable[[], bool], timeout: float = 8.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


class Filer:
    """A handler that records what it was given, and its size then, and files it in done/."""

    def __init__(self, done: Path, fail_on: tuple[str, ...] = (), pause: float = 0.0) -> None:
        self.done = done
        self.fail_on = fail_on
        self.pause = pause
        self.taken: list[str] = []
        self.sizes: dict[str, int] = {}
        self.contents: dict[str, bytes] = {}
        self.busy = threading.Event()
        done.mkdir(exist_ok=True)

    def __call__(self, path: Path) -> None:
        self.busy.set()
        self.taken.append(path.name)
        self.sizes[path.name] = path.stat().st_size
        self.contents[path.name] = path.read_bytes()
        time.sleep(self.pause)
        if path.name in self.fail_on:
            raise ValueError(f"cannot read {path.name}")
        shutil.move(path, self.done / path.name)

    def count(self, name: str) -> int:
        return self.taken.count(name)


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "inbox"
    folder.mkdir()
    return folder


@pytest.fixture
def filer(tmp_path: Path) -> Filer:
    return Filer(tmp_path / "done")


@contextmanager
def running(watcher: InboxWatcher) -> Iterator[threading.Event]:
    stop = threading.Event()
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(watcher.run(stop)), daemon=True)
    thread.start()
    assert watcher.watching.wait(5), "the watcher did not start"
    try:
        yield stop
    finally:
        stop.set()
        thread.join(5)
    assert not thread.is_alive(), "the watcher did not stop"
    assert result, "run() did not return"


def settle() -> None:
    """Long enough for a duplicate hand-over to show itself (several stability windows)."""
    time.sleep(STABLE * 3)


def watcher_for(inbox: Path, filer: Callable[[Path], None], **options: object) -> InboxWatcher:
    options.setdefault("stable_seconds", STABLE)
    options.setdefault("rescan_seconds", RESCAN)
    return InboxWatcher(inbox, filer, **options)  # type: ignore[arg-type]


class TestIgnored:
    @pytest.mark.parametrize(
        "name",
        [
            "~$form.docx",
            "~WRL0001.tmp",
            ".~lock.form.docx#",
            "form.docx.tmp",
            "form.docx.part",
            "form.docx.crdownload",
            "._form.docx",
            "Thumbs.db",
            "desktop.ini",
            ".DS_Store",
            ".hidden.docx",
        ],
    )
    def test_lock_temp_and_hidden_files_are_ignored(self, inbox: Path, name: str) -> None:
        assert ignored(inbox / name, inbox)

    @pytest.mark.parametrize("name", ["monitoring-form.docx", "risk checklist.xlsx", "reply.pdf"])
    def test_returned_forms_are_not_ignored(self, inbox: Path, name: str) -> None:
        assert not ignored(inbox / name, inbox)

    def test_files_in_progress_under_a_hidden_folder_are_ignored(self, inbox: Path) -> None:
        assert ignored(inbox / ".processing" / "form.docx", inbox)

    def test_a_hidden_folder_above_the_inbox_does_not_count(self, tmp_path: Path) -> None:
        inbox = tmp_path / ".pipeline" / "inbox"
        assert not ignored(inbox / "form.docx", inbox)

    def test_folders_and_links_are_ignored(self, inbox: Path, tmp_path: Path) -> None:
        (inbox / "sub").mkdir()
        (tmp_path / "secret.txt").write_text("x")
        (inbox / "link.docx").symlink_to(tmp_path / "secret.txt")
        assert ignored(inbox / "sub", inbox)
        assert ignored(inbox / "link.docx", inbox)


class TestStabilityTracker:
    def test_due_only_after_two_observations_stable_seconds_apart(self, inbox: Path) -> None:
        form = inbox / "form.docx"
        form.write_bytes(b"abc")
        tracker = StabilityTracker(1.0, clock=lambda: 0.0)
        tracker.note(form)
        assert tracker.due(0.0) == []
        assert tracker.due(0.5) == []
        assert tracker.due(1.0) == [form]
        assert len(tracker) == 0

    def test_a_single_observation_is_never_enough(self, inbox: Path) -> None:
        form = inbox / "form.docx"
        form.write_bytes(b"abc")
        tracker = StabilityTracker(0.0)
        tracker.note(form)
        assert tracker.due(10.0) == []
        assert tracker.due(10.0) == [form]

    def test_a_growing_file_starts_the_wait_again(self, inbox: Path) -> None:
        form = inbox / "form.docx"
        form.write_bytes(b"abc")
        tracker = StabilityTracker(1.0)
        tracker.note(form)
        tracker.due(0.0)
        with form.open("ab") as stream:
            stream.write(b"more")
        assert tracker.due(1.0) == []
        assert tracker.due(1.5) == []
        assert tracker.due(2.0) == [form]

    def test_uses_the_injected_clock(self, inbox: Path) -> None:
        form = inbox / "form.docx"
        form.write_bytes(b"abc")
        now = [100.0]
        tracker = StabilityTracker(2.0, clock=lambda: now[0])
        tracker.note(form)
        assert tracker.due() == []
        now[0] = 102.0
        assert tracker.due() == [form]

    def test_a_file_that_vanishes_is_dropped(self, inbox: Path) -> None:
        form = inbox / "form.docx"
        form.write_bytes(b"abc")
        tracker = StabilityTracker(0.0)
        tracker.note(form)
        tracker.due(0.0)
        form.unlink()
        assert tracker.due(1.0) == []
        assert form not in tracker

    @pytest.mark.skipif(os.geteuid() == 0, reason="root can read any folder, so no permission error")
    def test_a_file_it_cannot_look_at_is_tried_again(self, inbox: Path) -> None:
        form = inbox / "form.docx"
        form.write_bytes(b"abc")
        tracker = StabilityTracker(1.0)
        tracker.note(form)
        inbox.chmod(0o000)
        try:
            assert tracker.due(0.0) == []
            assert tracker.due(5.0) == []
            assert form in tracker
        finally:
            inbox.chmod(0o755)
        assert tracker.due(6.0) == []
        assert tracker.due(7.0) == [form]


class TestInboxLock:
    def test_a_second_watcher_for_the_same_home_is_refused(self, tmp_path: Path) -> None:
        with InboxLock(tmp_path) as lock:
            assert (tmp_path / ".pipeline.lock").read_text().strip() == str(os.getpid())
            with pytest.raises(ConfigError) as refused:
                InboxLock(tmp_path).acquire()
            assert str(refused.value).startswith(
                f"Another pipeline watcher is already running for this folder "
                f"(process {os.getpid()}). Stop it first, or use a different --home."
            )
            assert "to run several" in str(refused.value) and "PostgreSQL" in str(refused.value)
            assert lock.path == tmp_path / ".pipeline.lock"
        with InboxLock(tmp_path):
            pass

    def test_a_missing_home_is_explained(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigError, match="does not exist"):
            InboxLock(tmp_path / "nowhere").acquire()


class TestInboxWatcher:
    def test_files_already_in_the_inbox_are_taken_oldest_first(
        self, inbox: Path, filer: Filer
    ) -> None:
        for age, name in ((30, "older.docx"), (10, "newer.docx"), (20, "middle.xlsx")):
            (inbox / name).write_bytes(name.encode())
            stamp = time.time() - age
            os.utime(inbox / name, (stamp, stamp))
        with running(watcher_for(inbox, filer)):
            assert wait_until(lambda: len(filer.taken) == 3)
        assert filer.taken == ["older.docx", "middle.xlsx", "newer.docx"]
        assert sorted(p.name for p in filer.done.iterdir()) == sorted(filer.taken)
        assert list(inbox.iterdir()) == []

    def test_a_file_copied_in_while_running_is_taken_exactly_once(
        self, inbox: Path, filer: Filer, tmp_path: Path
    ) -> None:
        source = tmp_path / "monitoring-form.docx"
        source.write_bytes(b"PK" + b"x" * 50_000)
        with running(watcher_for(inbox, filer)):
            shutil.copyfile(source, inbox / source.name)
            assert wait_until(lambda: filer.taken == ["monitoring-form.docx"])
            settle()
        assert filer.taken == ["monitoring-form.docx"]
        assert filer.sizes["monitoring-form.docx"] == 50_002
        assert (filer.done / "monitoring-form.docx").read_bytes() == source.read_bytes()

    def test_a_file_renamed_into_the_inbox_is_taken(
        self, inbox: Path, filer: Filer, tmp_path: Path
    ) -> None:
        outside = tmp_path / "staging"
        outside.mkdir()
        (outside / "eia.docx").write_bytes(b"complete form")
        # Long rescan: only the watchdog event (a bare "created") can deliver this file.
        with running(watcher_for(inbox, filer, rescan_seconds=60)):
            os.rename(outside / "eia.docx", inbox / "eia.docx")
            assert wait_until(lambda: filer.taken == ["eia.docx"])
        assert filer.contents["eia.docx"] == b"complete form"

    def test_a_word_style_save_is_taken_once_and_its_temp_file_ignored(
        self, inbox: Path, filer: Filer
    ) -> None:
        # A wide stability window so the two saves below land inside it; a long rescan so that
        # only the "moved" events (temp file renamed onto the form) can deliver the form.
        with running(watcher_for(inbox, filer, stable_seconds=1.0, rescan_seconds=60)):
            (inbox / "~$form.docx").write_bytes(b"owner: J Smith")
            (inbox / "~WRL0001.tmp").write_bytes(b"first save")
            os.replace(inbox / "~WRL0001.tmp", inbox / "form.docx")
            (inbox / "~WRL0002.tmp").write_bytes(b"second save, longer")
            os.replace(inbox / "~WRL0002.tmp", inbox / "form.docx")
            assert wait_until(lambda: "form.docx" in filer.taken)
            time.sleep(1.5)
        assert filer.taken == ["form.docx"]
        assert filer.contents["form.docx"] == b"second save, longer"
        assert (inbox / "~$form.docx").exists()

    def test_lock_files_are_never_handed_over(self, inbox: Path, filer: Filer) -> None:
        (inbox / "~$form.docx").write_bytes(b"owner")
        with running(watcher_for(inbox, filer)):
            (inbox / ".~lock.form.docx#").write_text("J Smith,host,2024")
            (inbox / "~$risk.xlsx").write_bytes(b"owner")
            (inbox / "form.docx").write_bytes(b"the form")
            assert wait_until(lambda: filer.taken == ["form.docx"])
            settle()
        assert filer.taken == ["form.docx"]
        assert sorted(p.name for p in inbox.iterdir()) == [
            ".~lock.form.docx#",
            "~$form.docx",
            "~$risk.xlsx",
        ]

    def test_files_in_subfolders_and_hidden_folders_are_left_alone(
        self, inbox: Path, filer: Filer
    ) -> None:
        (inbox / ".processing").mkdir()
        (inbox / "old").mkdir()
        with running(watcher_for(inbox, filer)):
            (inbox / ".processing" / "inflight.docx").write_bytes(b"being ingested")
            (inbox / "old" / "kept.docx").write_bytes(b"kept")
            (inbox / "form.docx").write_bytes(b"the form")
            assert wait_until(lambda: filer.taken == ["form.docx"])
            settle()
        assert filer.taken == ["form.docx"]
        assert (inbox / ".processing" / "inflight.docx").exists()

    def test_a_slowly_written_file_is_taken_only_when_complete(
        self, inbox: Path, filer: Filer
    ) -> None:
        chunk = b"y" * 10_000
        with running(watcher_for(inbox, filer, rescan_seconds=60)):
            with (inbox / "big.xlsx").open("wb") as stream:
                for _ in range(10):
                    stream.write(chunk)
                    stream.flush()
                    os.fsync(stream.fileno())
                    time.sleep(0.1)
                    assert filer.taken == [], "taken while still being written"
            assert wait_until(lambda: filer.taken == ["big.xlsx"])
        assert filer.sizes["big.xlsx"] == 100_000

    def test_polling_mode_picks_files_up(self, inbox: Path, filer: Filer) -> None:
        (inbox / "before.docx").write_bytes(b"already here")
        watcher = watcher_for(inbox, filer, polling=True, poll_interval=0.2, rescan_seconds=60)
        with running(watcher):
            (inbox / "during.docx").write_bytes(b"arrived while polling")
            assert wait_until(lambda: sorted(filer.taken) == ["before.docx", "during.docx"])
            settle()
        assert sorted(filer.taken) == ["before.docx", "during.docx"]

    def test_polling_waits_longer_by_default(self, inbox: Path, filer: Filer) -> None:
        assert InboxWatcher(inbox, filer, polling=True).tracker.stable_seconds == 2.0
        assert InboxWatcher(inbox, filer).tracker.stable_seconds == 1.0

    def test_oneshot_takes_what_is_there_and_returns(self, inbox: Path, filer: Filer) -> None:
        (inbox / "a.docx").write_bytes(b"a")
        (inbox / "b.xlsx").write_bytes(b"b")
        (inbox / "~$a.docx").write_bytes(b"owner")
        result: list[int] = []
        watcher = watcher_for(inbox, filer)
        thread = threading.Thread(
            target=lambda: result.append(watcher.run(threading.Event(), oneshot=True))
        )
        thread.start()
        thread.join(5)
        assert not thread.is_alive(), "oneshot did not return"
        assert result == [2]
        assert sorted(filer.taken) == ["a.docx", "b.xlsx"]

    def test_a_missing_inbox_is_explained(self, tmp_path: Path, filer: Filer) -> None:
        watcher = watcher_for(tmp_path / "nowhere", filer)
        with pytest.raises(ConfigError, match="inbox folder .* does not exist"):
            watcher.run(threading.Event(), oneshot=True)

    def test_a_failing_handler_does_not_stop_later_files_and_is_not_retried(
        self, inbox: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        filer = Filer(tmp_path / "done", fail_on=("bad.docx",))
        errors: list[tuple[str, str]] = []
        (inbox / "bad.docx").write_bytes(b"broken")
        stamp = time.time() - 60
        os.utime(inbox / "bad.docx", (stamp, stamp))
        (inbox / "good.docx").write_bytes(b"fine")
        watcher = watcher_for(
            inbox, filer, on_error=lambda path, exc: errors.append((path.name, str(exc)))
        )
        caplog.set_level(logging.DEBUG, logger="pipeline.watch")
        with running(watcher):
            assert wait_until(lambda: filer.taken == ["bad.docx", "good.docx"])
            # Wait for a periodic rescan to have seen bad.docx still sitting there.
            assert wait_until(lambda: looked_through(caplog) >= 2, timeout=RESCAN * 3)
            settle()
            assert filer.taken == ["bad.docx", "good.docx"]
            assert errors == [("bad.docx", "cannot read bad.docx")]
            with (inbox / "bad.docx").open("ab") as stream:
                stream.write(b" - corrected")
            assert wait_until(lambda: filer.count("bad.docx") == 2)
        assert (filer.done / "good.docx").exists()
        assert "Something went wrong taking bad.docx from the inbox" in caplog.text
        assert "Taking good.docx from the inbox" in caplog.text

    def test_two_hundred_files_at_once_are_each_taken_exactly_once(
        self, inbox: Path, filer: Filer
    ) -> None:
        names = [f"form-{number:03}.docx" for number in range(200)]
        with running(watcher_for(inbox, filer)):
            for name in names:
                (inbox / name).write_bytes(name.encode() * 20)
            assert wait_until(lambda: len(filer.taken) >= 200, timeout=20)
            settle()
        assert sorted(filer.taken) == names
        assert sorted(p.name for p in filer.done.iterdir()) == names

    def test_stopping_finishes_the_file_in_hand_and_takes_no_more(
        self, inbox: Path, tmp_path: Path
    ) -> None:
        filer = Filer(tmp_path / "done", pause=0.6)
        (inbox / "first.docx").write_bytes(b"1")
        stamp = time.time() - 60
        os.utime(inbox / "first.docx", (stamp, stamp))
        (inbox / "second.docx").write_bytes(b"2")
        stop = threading.Event()
        thread = threading.Thread(target=InboxWatcher(inbox, filer, stable_seconds=STABLE).run,
                                  args=(stop,))
        thread.start()
        assert filer.busy.wait(5)
        stop.set()
        stopped_at = time.monotonic()
        thread.join(5)
        assert not thread.is_alive()
        assert time.monotonic() - stopped_at < 1.5
        assert filer.taken == ["first.docx"]
        assert (filer.done / "first.docx").exists()
        assert (inbox / "second.docx").exists()


def looked_through(caplog: pytest.LogCaptureFixture) -> int:
    return sum(record.getMessage().startswith("Looked through") for record in caplog.records)


def test_sigterm_and_sigint_ask_the_watcher_to_stop() -> None:
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        for sig in saved:
            stop = threading.Event()
            assert install_signal_handlers(stop)
            os.kill(os.getpid(), sig)
            assert wait_until(stop.is_set, timeout=2)
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def test_signal_handlers_are_not_installed_off_the_main_thread() -> None:
    installed: list[bool] = []
    thread = threading.Thread(target=lambda: installed.append(install_signal_handlers(
        threading.Event())))
    thread.start()
    thread.join(5)
    assert installed == [False]
