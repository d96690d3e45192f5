"""Writing files safely: a new file never overwrites another (`write_new_file`), a file written
again replaces the old one whole or not at all (`replacing`), and a written file survives a
power cut."""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

from pipeline.core.errors import GenerationError


def slug(text: str) -> str:
    """`Hull CDRP (North)` -> `hull-cdrp-north`: safe in any file name."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "x"


def write_new_file(folder: Path, name: str, data: bytes, *, reuse_identical: bool = False) -> Path:
    """Write `data` as `folder/name` atomically; if that name is taken, use `name-2`, `-3`...

    With `reuse_identical`, a file already there with exactly these bytes is returned instead
    (a retry after a crash keeps one copy, not two).
    """
    if reuse_identical:
        existing = _identical(folder, name, data)
        if existing is not None:
            return existing
    temp: str | None = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        temp = str(folder / f".writing-{uuid.uuid4().hex}")
        # O_EXCL: a new file, never one already there; mode 0o666 less the umask, as open() gives
        handle = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())  # on disk before any original is removed
        stem, dot, suffix = name.rpartition(".")
        for attempt in range(1, 10_000):
            target = folder / (name if attempt == 1 else f"{stem}-{attempt}{dot}{suffix}")
            try:
                os.link(temp, target)  # fails if the name exists: no overwrite race
            except FileExistsError:
                continue
            os.unlink(temp)
            _sync_folder(folder)
            return target
    except OSError as exc:
        _remove_partial(temp)  # a copy cut short (a full disk) is never left behind
        raise GenerationError(f"Could not write {name} into {folder}: {exc.strerror}.") from exc
    _remove_partial(temp)
    raise GenerationError(f"Too many files called {name} in {folder}.")


@contextlib.contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A hidden temporary name beside `path` to write to. When the block ends well it replaces
    `path` in one rename; when it fails it is removed: `path` is never left half-written.
    OSError reaches the caller, which says what could not be written."""
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        yield temporary
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _remove_partial(temp: str | None) -> None:
    if temp is not None:
        with contextlib.suppress(OSError):
            os.unlink(temp)


def _identical(folder: Path, name: str, data: bytes) -> Path | None:
    stem, dot, suffix = name.rpartition(".")
    for attempt in range(1, 100):
        candidate = folder / (name if attempt == 1 else f"{stem}-{attempt}{dot}{suffix}")
        if not candidate.exists():
            return None
        if candidate.stat().st_size == len(data) and candidate.read_bytes() == data:
            return candidate
    return None


def _sync_folder(folder: Path) -> None:
    """Make a new name in `folder` survive a power cut (a no-op where folders can't be opened)."""
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    finally:
        os.close(handle)
