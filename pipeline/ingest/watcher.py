"""Watch the inbox and hand each returned file, once it has stopped changing, to a handler.

Three separate jobs, as in paperless-ngx's consumer: `ignored` decides what is never a returned
form (lock and temp files, hidden files, folders); `StabilityTracker` decides when a file has
stopped being written; `InboxWatcher` feeds the tracker from watchdog events and periodic
rescans and calls the handler one file at a time. `InboxLock` keeps it to one watcher per home.
"""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from types import FrameType, TracebackType
from typing import NamedTuple

from watchdog.events import (
    FileClosedEvent,
    FileCreatedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from pipeline.core.errors import ConfigError

logger = logging.getLogger("pipeline.watch")

STABLE_SECONDS = 1.0
# Network shares report writes late and coarsely, so give them longer to settle.
POLLING_STABLE_SECONDS = 2.0
LOCK_NAME = ".pipeline.lock"

# Office owner/lock files, editors' temp files, partial downloads and OS clutter (lower case).
IGNORED_PATTERNS = (
    "~$*",
    "~wr*.tmp",
    ".~lock.*#",
    "*.tmp",
    "*.part",
    "*.crdownload",
    "._*",
    "thumbs.db",
    "desktop.ini",
    ".ds_store",
)
WATCHED_EVENTS: list[type[FileSystemEvent]] = [
    FileCreatedEvent,
    FileMovedEvent,
    FileModifiedEvent,
    FileClosedEvent,
]


# --- what to ignore -------------------------------------------------------------------------


def ignored(path: Path, inbox: Path | None = None) -> bool:
    """True for anything in the inbox that is not a returned file to take.

    With `inbox`, any hidden folder between the inbox and the file (such as `.processing`,
    where ingest keeps files in progress) makes it ignored; folders above the inbox do not.
    Symbolic links are ignored too: a link could point the pipeline at any file on the machine.
    """
    if _is_clutter(path.name) or _is_hidden(_parts_below(path, inbox)):
        return True
    return path.is_symlink() or path.is_dir()


def links_in(inbox: Path) -> list[Path]:
    """Links left in the inbox (never followed, never taken): the clerk must be told of them."""
    try:
        entries = list(os.scandir(inbox))
    except OSError:
        return []
    return sorted(Path(e.path) for e in entries if e.is_symlink() and not _is_clutter(e.name)
                  and not e.name.startswith("."))


def text_of(name: str) -> str:
    """A file name of any bytes as text a person can read."""
    return os.fsencode(name).decode("utf-8", "replace")


def link_left(name: str) -> str:
    """What the clerk is told about a link found in the inbox."""
    return (f"{name} is a link to another file, not a file itself: it was left in the inbox and "
            "not followed (the pipeline never follows links, so that no file from elsewhere on "
            "the computer is read). Save the form itself into the inbox, then delete the link.")


def _is_clutter(name: str) -> bool:
    lowered = name.lower()
    return any(fnmatchcase(lowered, pattern) for pattern in IGNORED_PATTERNS)


def _parts_below(path: Path, inbox: Path | None) -> tuple[str, ...]:
    if inbox is not None and path.is_relative_to(inbox):
        return path.relative_to(inbox).parts
    return (path.name,)


def _is_hidden(parts: tuple[str, ...]) -> bool:
    return any(part.startswith(".") for part in parts)


# --- when a file has stopped changing -----------------------------------------------------------


class FileSignature(NamedTuple):
    """What changes when a file is written to or replaced."""

    size: int
    mtime_ns: int
    inode: int


def file_signature(path: Path) -> FileSignature | None:
    """The file's signature, or None when it is not a regular file. Raises OSError."""
    info = path.lstat()
    if not stat.S_ISREG(info.st_mode):
        return None
    return FileSignature(info.st_size, info.st_mtime_ns, info.st_ino)


@dataclass
class _Candidate:
    seen: FileSignature | None = None
    since: float = 0.0
    observations: int = 0


class StabilityTracker:
    """Paths waiting for their size and modification time to stop changing.

    A path is due once two or more observations, `stable_seconds` apart or more, saw the same
    size, mtime and inode. Paths that vanish are dropped; paths that cannot be looked at (for
    example no permission yet) are kept and tried again. `note` is safe to call from another
    thread (the watchdog observer's) while `due` runs.
    """

    def __init__(
        self, stable_seconds: float = STABLE_SECONDS, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.stable_seconds = stable_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._candidates: dict[Path, _Candidate] = {}

    def __len__(self) -> int:
        with self._lock:
            return len(self._candidates)

    def __contains__(self, path: object) -> bool:
        with self._lock:
            return path in self._candidates

    def note(self, path: Path) -> None:
        """Start tracking `path` (no effect if it is already tracked)."""
        with self._lock:
            self._candidates.setdefault(path, _Candidate())

    def forget(self, path: Path) -> None:
        with self._lock:
            self._candidates.pop(path, None)

    def due(self, now: float | None = None) -> list[Path]:
        """Paths that have become stable, in the order they were noted; they stop being tracked."""
        now = self._clock() if now is None else now
        with self._lock:
            paths = list(self._candidates)
        quiet = [path for path in paths if self._observe(path, now)]
        writing = files_open_for_writing() if quiet else set()
        due = []
        for path in quiet:
            if os.path.realpath(path) in writing:  # a copy paused half-way: not ours yet
                self._restart(path, now)
                continue
            with self._lock:
                if self._candidates.pop(path, None) is not None:
                    due.append(path)
        return due

    def _observe(self, path: Path, now: float) -> bool:
        try:
            seen = file_signature(path)
        except FileNotFoundError:
            seen = None
        except OSError as exc:
            logger.debug("Cannot look at %s yet (%s); will try again", path.name, exc.strerror)
            self._restart(path, now)
            return False
        if seen is None:
            self.forget(path)
            return False
        return self._record(path, seen, now)

    def _record(self, path: Path, seen: FileSignature, now: float) -> bool:
        with self._lock:
            candidate = self._candidates.get(path)
            if candidate is None:
                return False
            if candidate.seen != seen:
                candidate.seen, candidate.since, candidate.observations = seen, now, 1
                return False
            candidate.observations += 1
            return now - candidate.since >= self.stable_seconds

    def _restart(self, path: Path, now: float) -> None:
        with self._lock:
            if path in self._candidates:
                self._candidates[path] = _Candidate(None, now, 0)


def open_for_writing(path: Path) -> bool:
    """True when a process this account can see has `path` open for writing."""
    return os.path.realpath(path) in files_open_for_writing()


def files_open_for_writing() -> set[str]:
    """Every file some process this account can see has open for writing (Linux /proc; empty
    elsewhere, or where nothing can be seen: then the quiet period alone decides)."""
    proc, found = Path("/proc"), set()
    try:
        pids = [entry for entry in os.listdir(proc) if entry.isdigit()]
    except OSError:
        return found
    for pid in pids:
        try:
            fds = os.listdir(proc / pid / "fd")
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(proc / pid / "fd" / fd)
                if not target.startswith("/"):
                    continue  # pipes, sockets
                flags = (proc / pid / "fdinfo" / fd).read_text().split("flags:", 1)[1].split()[0]
            except (OSError, IndexError):
                continue
            if int(flags, 8) & (os.O_WRONLY | os.O_RDWR):
                found.add(target)
    return found


# --- one watcher per home ----------------------------------------------------------------------


class InboxLock:
    """An exclusive lock on `<home>/.pipeline.lock`, holding the watcher's process id; or, with
    `shared` (several workers on one PostgreSQL store), a shared one that only says a watcher
    is running (the console looks).

    The operating system releases it when the process ends, however it ends.
    """

    def __init__(self, home: Path, *, shared: bool = False) -> None:
        self.home = Path(home)
        self.path = self.home / LOCK_NAME
        self.shared = shared
        self._fd: int | None = None

    def __enter__(self) -> InboxLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    def acquire(self) -> None:
        """Take the lock, or raise ConfigError naming the process that holds it."""
        if self._fd is not None:
            return
        fd = self._open()
        try:
            fcntl.flock(fd, (fcntl.LOCK_SH if self.shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            raise ConfigError(_already_running(holder)) from None
        if not self.shared:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        if not self.shared:
            os.ftruncate(fd, 0)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    def _open(self) -> int:
        try:
            return os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except FileNotFoundError:
            raise ConfigError(
                f"The pipeline folder {self.home} does not exist. Check the --home setting."
            ) from None
        except OSError as exc:
            raise ConfigError(
                f"Could not create the lock file {self.path} ({exc.strerror}). "
                "Check that this account can write to the pipeline folder."
            ) from exc


def _read_pid(fd: int) -> int | None:
    text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    return int(text) if text.isdigit() else None


def _already_running(pid: int | None) -> str:
    process = f" (process {pid})" if pid is not None else ""
    return (
        f"Another pipeline watcher is already running for this folder{process}. "
        "Stop it first, or use a different --home. With the database in SQLite one watcher "
        "works on a home at a time; to run several (watch and serve on one or more computers "
        "sharing the inbox), keep the database in PostgreSQL: [database] url in pipeline.toml "
        "(see the README)."
    )


# --- the watcher -------------------------------------------------------------------------------


class _InboxEvents(FileSystemEventHandler):
    """Passes the path of every file that may have arrived or changed to `notice`."""

    def __init__(self, notice: Callable[[str | bytes], None]) -> None:
        self._notice = notice

    def on_created(self, event: FileSystemEvent) -> None:
        self._file(event, event.src_path)

    def on_modified(self, event: FileSystemEvent) -> None:
        self._file(event, event.src_path)

    def on_closed(self, event: FileSystemEvent) -> None:
        self._file(event, event.src_path)

    def on_moved(self, event: FileSystemEvent) -> None:
        # Word saves by renaming a temp file over the form: the form is the destination.
        self._file(event, event.dest_path)

    def _file(self, event: FileSystemEvent, raw: str | bytes) -> None:
        if not event.is_directory:
            self._notice(raw)


class InboxWatcher:
    """Calls `handle(path)` for each file in `inbox` once it has stopped changing.

    One file at a time, on the thread that calls `run`. A file the handler left in place (or
    failed on) is not handed over again until it changes or the watcher restarts, unless the
    handler returned False (another worker had it in hand): then it is looked at again.
    """

    def __init__(
        self,
        inbox: Path,
        handle: Callable[[Path], bool | None],
        *,
        polling: bool = False,
        stable_seconds: float | None = None,
        rescan_seconds: float = 30.0,
        poll_interval: float = 1.0,
        on_error: Callable[[Path, BaseException], None] | None = None,
        retry: Callable[[], None] | None = None,
    ) -> None:
        self.inbox = Path(os.path.abspath(inbox))
        self.polling = polling
        if stable_seconds is None:
            stable_seconds = POLLING_STABLE_SECONDS if polling else STABLE_SECONDS
        self.tracker = StabilityTracker(stable_seconds)
        self.rescan_seconds = rescan_seconds
        self.poll_interval = poll_interval
        self._handle = handle
        self._on_error = on_error
        self._retry = retry
        self._handled: dict[Path, FileSignature] = {}
        self._links_told: set[Path] = set()
        self._links_lock = threading.Lock()  # events arrive on the observer's thread
        self._handed_over = 0
        self._tick = min(0.25, stable_seconds / 4) or 0.05
        self.watching = threading.Event()
        """Set while the observer is running and the first look through the inbox is done."""

    def run(self, stop: threading.Event, *, oneshot: bool = False) -> int:
        """Take files until `stop` is set (or, with `oneshot`, until the inbox is done).

        Returns the number of files handed to the handler.
        """
        self._check_inbox()
        self._handed_over = 0
        if oneshot:
            self._scan()
            self._drain(stop)
        else:
            self._watch(stop)
        logger.info("Stopped watching %s; %d file(s) taken", self.inbox, self._handed_over)
        return self._handed_over

    def _check_inbox(self) -> None:
        if not self.inbox.is_dir():
            raise ConfigError(
                f"The inbox folder {self.inbox} does not exist. Create it, or check --home."
            )

    def _watch(self, stop: threading.Event) -> None:
        observer = self._start_observer()
        try:
            self._scan()
            self.watching.set()
            self._loop(stop)
        finally:
            self.watching.clear()
            observer.stop()
            observer.join(timeout=5)

    def _start_observer(self) -> BaseObserver:
        if self.polling:
            observer: BaseObserver = PollingObserver(timeout=self.poll_interval)
        else:
            observer = Observer()
        events = _InboxEvents(self._notice)
        observer.schedule(events, str(self.inbox), recursive=False, event_filter=WATCHED_EVENTS)
        observer.start()
        how = f"checking every {self.poll_interval:g} s" if self.polling else "using file events"
        logger.info("Watching %s for returned files (%s)", self.inbox, how)
        return observer

    def _loop(self, stop: threading.Event) -> None:
        next_rescan = time.monotonic() + self.rescan_seconds
        while not stop.is_set():
            self._take_due(stop)
            if time.monotonic() >= next_rescan:
                self._scan()
                next_rescan = time.monotonic() + self.rescan_seconds
            stop.wait(self._tick)

    def _drain(self, stop: threading.Event) -> None:
        while len(self.tracker) and not stop.is_set():
            stop.wait(self._tick)
            self._take_due(stop)

    def _notice(self, raw: str | bytes) -> None:
        path = Path(os.fsdecode(raw))
        if path.parent != self.inbox:
            return
        if not ignored(path, self.inbox):
            self.tracker.note(path)
        elif path.is_symlink():
            self._tell_of_links()

    def _tell_of_links(self) -> None:
        """Say once (per watcher run) of each link left in the inbox; never follow it."""
        with self._links_lock:
            found = set(links_in(self.inbox))
            for link in sorted(found - self._links_told):
                logger.warning("%s", link_left(text_of(link.name)))
            self._links_told = found

    def _scan(self) -> None:
        """Look through the whole inbox, oldest first, in case an event was missed (and try
        again the files that met a busy database or a full disk)."""
        self._try_again()
        files = self._inbox_files()
        self._tell_of_links()
        self._forget_gone()
        for path, seen in files:
            if self._handled.get(path) != seen:
                self.tracker.note(path)
        logger.debug("Looked through %s: %d file(s) there", self.inbox, len(files))

    def _try_again(self) -> None:
        if self._retry is None:
            return
        try:
            self._retry()
        except Exception:
            logger.exception("Trying again the files not yet done failed; will try later")

    def _inbox_files(self) -> list[tuple[Path, FileSignature]]:
        try:
            entries = list(os.scandir(self.inbox))
        except OSError as exc:
            logger.warning("Could not look in the inbox %s: %s", self.inbox, exc.strerror)
            return []
        found = []
        for entry in entries:
            path = Path(entry.path)
            seen = _signature_or_none(path)
            if seen is not None and not ignored(path, self.inbox):
                found.append((path, seen))
        return sorted(found, key=lambda item: item[1].mtime_ns)

    def _forget_gone(self) -> None:
        for path in [path for path in self._handled if not path.exists()]:
            del self._handled[path]

    def _take_due(self, stop: threading.Event) -> None:
        for path in self.tracker.due():
            if stop.is_set():
                return
            self._take(path)

    def _take(self, path: Path) -> None:
        seen = _signature_or_none(path)
        if seen is None or self._handled.get(path) == seen:
            return
        logger.info("Taking %s from the inbox", path.name)
        self._handed_over += 1
        try:
            done = self._handle(path)
        except Exception as exc:
            self._report_failure(path, exc)
            done = True
        if done is False:  # not ours yet (another worker has it): look again at the next scan
            self._handled.pop(path, None)
            return
        self._remember(path, seen)

    def _report_failure(self, path: Path, exc: Exception) -> None:
        logger.error(
            "Something went wrong taking %s from the inbox; it will not be tried again until "
            "the file changes or the watcher restarts",
            path.name,
            exc_info=exc,
        )
        if self._on_error is None:
            return
        try:
            self._on_error(path, exc)
        except Exception:
            logger.exception("The error handler also failed for %s", path.name)

    def _remember(self, path: Path, seen: FileSignature) -> None:
        """Keep what was handed over, if it is still there unchanged, so it is not taken twice."""
        if _signature_or_none(path) == seen:
            self._handled[path] = seen
        else:
            self._handled.pop(path, None)


def _signature_or_none(path: Path) -> FileSignature | None:
    try:
        return file_signature(path)
    except OSError:
        return None


# --- stopping cleanly ----------------------------------------------------------------------------


def install_signal_handlers(stop: threading.Event) -> bool:
    """Make SIGTERM and SIGINT (Ctrl-C) set `stop`, so the file in hand is finished first.

    Python only allows this on the main thread; elsewhere nothing is installed and the result
    is False.
    """
    if threading.current_thread() is not threading.main_thread():
        logger.warning("Signal handlers can only be installed from the main thread")
        return False

    def request_stop(signum: int, frame: FrameType | None) -> None:
        logger.info("Stopping (%s): finishing the file in hand first", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    return True
