"""Generating forms: blank or personalised, Word or Excel, written safely into a folder."""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

from pipeline.definitions import FormDefinition
from pipeline.docx_form import write_docx_form
from pipeline.errors import ConfigError, GenerationError
from pipeline.identity import FormIdentity, Personalisation
from pipeline.xlsx_form import write_xlsx_form

Writer = Callable[[FormDefinition, Personalisation, FormIdentity], bytes]
WRITERS: dict[str, Writer] = {"docx": write_docx_form, "xlsx": write_xlsx_form}
FORMATS = tuple(WRITERS)


def form_bytes(definition: FormDefinition, fmt: str,
               person: Personalisation) -> tuple[bytes, FormIdentity]:
    """The form file's bytes and the identity it carries (a fresh token when personalised)."""
    if fmt not in WRITERS:
        raise ConfigError(f"Unknown format {fmt!r}: choose one of {', '.join(FORMATS)}.")
    person = person.with_token()
    identity = FormIdentity.for_copy(definition.id, definition.version, definition.hash, person)
    return WRITERS[fmt](definition, person, identity), identity


def generate_form(definition: FormDefinition, fmt: str, person: Personalisation,
                  out_dir: Path) -> tuple[Path, FormIdentity]:
    """Write one form into `out_dir` under a name a person recognises; never overwrite."""
    data, identity = form_bytes(definition, fmt, person)
    name = form_file_name(definition, person, fmt)
    return write_new_file(out_dir, name, data), identity


def form_file_name(definition: FormDefinition, person: Personalisation, fmt: str) -> str:
    parts = [definition.id]
    if person.partnership:
        parts.append(slug(person.partnership))
    if person.meeting_date:
        parts.append(person.meeting_date.isoformat())
    if person.member:
        parts.append(slug(person.member))
    if len(parts) == 1:
        parts.append("blank")
    return "-".join(parts) + f".{fmt}"


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
        handle, temp = tempfile.mkstemp(dir=folder, prefix=".writing-")
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
