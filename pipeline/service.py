"""What the commands do, as library calls: ingest files, watch the inbox, list records, status."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from pipeline.config import Settings
from pipeline.definitions import FormDefinition, FormLibrary
from pipeline.errors import RejectedFile
from pipeline.ingest import FileResult, Ingest, Outcome
from pipeline.store import Record, Store
from pipeline.watcher import InboxLock, InboxWatcher

log = logging.getLogger("pipeline.watch")
Report = Callable[[FileResult], None]


@contextmanager
def opened(settings: Settings, library: FormLibrary) -> Iterator[Ingest]:
    """An `Ingest` on the home's database, closed afterwards."""
    settings.ensure_folders()
    with Store.open(settings.database) as store:
        yield Ingest(settings, library, store)


def ingest_files(settings: Settings, library: FormLibrary, paths: Iterable[Path],
                 report: Report) -> list[FileResult]:
    """Ingest each path (the same steps as the watcher); every file gets a result."""
    results: list[FileResult] = []
    with opened(settings, library) as ingest:
        for path in paths:
            try:
                found = ingest.ingest_path(path)
            except RejectedFile as exc:  # could not even be taken (missing file)
                found = [FileResult(str(path), Outcome.REJECTED, message=exc.reason)]
            for result in found:
                report(result)
            results += found
    return results


def watch_inbox(settings: Settings, library: FormLibrary, *, stop: threading.Event,
                report: Report, polling: bool = False, oneshot: bool = False,
                rescan_seconds: float = 30.0, stable_seconds: float | None = None) -> int:
    """Take every file in the inbox now, and (unless `oneshot`) every file that arrives."""
    with InboxLock(settings.home), opened(settings, library) as ingest:
        for result in ingest.recover():
            report(result)

        def handle(path: Path) -> None:
            for result in ingest.ingest_path(path):
                report(result)

        # The watcher logs a handler's failure (with its traceback) and leaves the file in place.
        watcher = InboxWatcher(settings.inbox, handle, polling=polling,
                               rescan_seconds=rescan_seconds, stable_seconds=stable_seconds)
        return watcher.run(stop, oneshot=oneshot)


def records(settings: Settings, form_id: str) -> list[Record]:
    with Store.open(settings.database) as store:
        return store.records(form_id)


def record_json(record: Record, definition: FormDefinition) -> dict[str, object]:
    """A stored return as JSON: every field of its definition, in form order (empty: null/[])."""
    empty = {f.id: [] if f.is_table or f.type.value == "multi_choice" else None
             for f in definition.fields}
    fields = {field_id: record.values.get(field_id, blank) for field_id, blank in empty.items()}
    return {
        "submission_id": record.submission_id,
        "form": record.form_id,
        "version": record.form_version,
        "received": record.received_at,
        "sender": record.sender,
        "late": record.late,
        "partnership": record.partnership,
        "fields": fields,
    }
