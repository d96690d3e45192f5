"""One at a time per home: a non-blocking lock on a file in the home (tick, mailbox pass)."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def held_or_busy(path: Path) -> Iterator[bool]:
    """Yields True holding an exclusive lock on `path`, or False at once when another has it."""
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
